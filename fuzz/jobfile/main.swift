// libFuzzer harness: job YAML (`JobFile.parse`). Input: the YAML text.
// Built with SwiftPM (fuzz/Package.swift) because it needs Yams.
import Foundation
import Pipeline

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJobFile(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
  do {
    let spec = try JobFile.parse(text, path: "fuzz.yaml", baseDirectory: "/tmp/fuzz-job")
    _ = String(describing: spec)
  } catch {
    _ = String(describing: error)
  }
  return 0
}

// SwiftPM links an executable's entry point as `fuzz_jobfile_main` (main is
// defined to it), so libFuzzer's own main is not used: start its driver here.
@_silgen_name("LLVMFuzzerRunDriver")
private func runDriver(
  _ argc: UnsafeMutablePointer<Int32>,
  _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
  _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> Int32
) -> Int32

@_cdecl("fuzz_jobfile_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
  var argc = argc
  var argv = argv
  return runDriver(&argc, &argv) { fuzzJobFile($0, $1) }
}
