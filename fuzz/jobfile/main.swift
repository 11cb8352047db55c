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
