// libFuzzer harness: log timestamps and lines (LogTimestamp, JSONLogLine,
// TextLines, LineGrouper). Compiled into module Ingest with
// Sources/Ingest/Logs/LogTimestamp.swift, Sources/Ingest/Files/TextLines.swift (scripts/fuzz.sh); the
// byte-level pass LogScan needs Workspace and is fuzzed by fuzz/logscan.
// Input: log text; the first byte sets the line limits.
import Foundation

/// Stand-in for LogExtractor.swift's `LogLine.normalise` (that file needs
/// the whole Ingest module); the real one is fuzzed by fuzz/logscan.
enum LogLine {
  static func normalise(_ level: String) -> String { level.uppercased() }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLogs(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  guard size > 0 else { return 0 }
  let knob = Int(data[0])
  let raw = UnsafeBufferPointer(start: data + 1, count: size - 1)
  let text = TextLines(Data(raw), maxLineBytes: 4 + knob)
  precondition(!text.lines.isEmpty, "TextLines makes at least one line")
  for line in text.lines.prefix(64) {
    _ = LogTimestamp.parse(line, defaultYear: 2026)
    var bytes = Array(line.utf8)
    bytes.withUnsafeBufferPointer { _ = LogTimestamp.parse(bytes: $0, defaultYear: 1970 + knob) }
    for s in 0..<min(bytes.count, 4) {
      _ = LogTimestamp.iso(bytes, s)
      _ = LogTimestamp.epoch(bytes, s)
      _ = LogTimestamp.access(bytes, s)
    }
    _ = LogTimestamp.syslog(bytes, defaultYear: 2026)
    bytes.removeAll()
  }
  let n = text.lines.count
  _ = text.joined(0..<n)
  _ = text.joined((n / 2)..<n)
  let ranges = LineGrouper.group(text.lines, maxLines: 1 + knob % 7, maxBytes: 8 + knob) { text.lines[$0].first != " " }
  var next = 0
  for r in ranges {
    precondition(r.lowerBound == next && !r.isEmpty, "ranges do not tile the lines")
    next = r.upperBound
    _ = text.joined(r)
  }
  precondition(next == n, "ranges do not cover the lines")
  return 0
}
