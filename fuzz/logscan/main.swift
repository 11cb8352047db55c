// libFuzzer harness: the byte-level log pass (`LogScan.run`) against the
// reference pass (`LogExtractor`), plus `TextLines`. Input: the log bytes;
// the first byte sets the section limits and whether to redact.
// Built with SwiftPM (fuzz/Package.swift) because LogScan needs Workspace.
import Foundation
@testable import Ingest

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLogScan(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  guard size > 0 else { return 0 }
  let knob = Int(data[0])
  let bytes = Data(bytes: data + 1, count: size - 1)
  let maxLineBytes = 8 + (knob & 0x0F) * 8
  let lines = TextLines(bytes, maxLineBytes: maxLineBytes)
  if !lines.lines.isEmpty {
    _ = lines.joined(0..<lines.lines.count)
    _ = lines.joined((lines.lines.count / 2)..<lines.lines.count)
  }
  for line in lines.lines.prefix(32) {
    _ = LogTimestamp.parse(line, defaultYear: 2026)
    _ = LogLine.isContinuation(line)
  }
  let extractor = LogExtractor(
    maxLines: 1 + (knob >> 4), maxBytes: 64 + knob * 4, syslogYear: 2026, redact: knob & 1 == 0, parallelism: 1)
  var scan = extractor.scan
  scan.wantSections = true
  // The byte-level pass must make exactly the reference pass's sections.
  if let out = try? scan.run(bytes, displayPath: "fuzz.log") {
    let reference = extractor.extractReference(data: bytes, path: "fuzz.log", displayPath: "fuzz.log")
    precondition(out.sections == reference.sections, "LogScan and the reference pass differ")
  }
  return 0
}

// SwiftPM links an executable's entry point as `fuzz_logscan_main` (main is
// defined to it), so libFuzzer's own main is not used: start its driver here.
@_silgen_name("LLVMFuzzerRunDriver")
private func runDriver(
  _ argc: UnsafeMutablePointer<Int32>,
  _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
  _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> Int32
) -> Int32

@_cdecl("fuzz_logscan_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
  var argc = argc
  var argv = argv
  return runDriver(&argc, &argv) { fuzzLogScan($0, $1) }
}
