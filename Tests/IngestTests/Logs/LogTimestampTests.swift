import Foundation
import Testing
import _LongctxTestSupport

@testable import Ingest

@Suite struct LogTimestampTests {
  // 2026-03-09T02:54:06Z
  static let t0 = 1_773_024_846.0

  static let cases: [(String, Double)] = [
    ("2026-03-09T02:54:06Z ERROR x", t0),
    ("2026-03-09 02:54:06,250 WARN x", t0 + 0.25),
    ("[2026-03-09T03:54:06.5+01:00] x", t0 + 0.5),
    ("2026-03-09T01:54:06-0100 x", t0),
    ("Mar  9 02:54:06 host sshd[42]: Accepted", t0),
    ("Mar 19 02:54:06 host cron: x", t0 + 10 * 86400),
    ("10.0.0.1 - - [09/Mar/2026:03:54:06 +0100] \"GET / HTTP/1.1\" 200 12", t0),
    ("1773024846 worker started", t0),
    ("1773024846.75 worker started", t0 + 0.75),
    ("1773024846000 worker started", t0),
    (#"{"ts":1773024846123,"level":"info","msg":"x"}"#, t0 + 0.123),
    (#"{"time":"2026-03-09T02:54:06Z","level":"error"}"#, t0),
  ]

  @Test(arguments: cases)
  func parses(line: String, expected: Double) {
    let t = LogTimestamp.parse(Substring(line), defaultYear: 2026)
    #expect(t.map { abs($0 - expected) < 0.001 } == true, "\(line) → \(String(describing: t))")
  }

  @Test(arguments: ["    at com.x.Y(Y.java:3)", "hello world", "12345 apples", "2026-13-09T02:54:06Z bad month", ""])
  func ignores(line: String) {
    #expect(LogTimestamp.parse(Substring(line), defaultYear: 2026) == nil)
  }

  @Test func sectionsCarryFirstAndLastTimes() throws {
    let path = RepositoryPaths.samples.appendingPathComponent("logs/app.log.1").path
    let doc = try LogExtractor().extract(path: path, displayPath: "app.log.1")
    let first = try #require(doc.sections.first)
    #expect(first.firstTimestamp == LogTimestamp.iso("2026-03-09T01:00:27Z"))
    #expect(try #require(first.lastTimestamp) >= #require(first.firstTimestamp))
    #expect(doc.metadata["first_time"] == "2026-03-09T01:00:27Z")
    #expect(doc.sections.allSatisfy { $0.firstTimestamp != nil && $0.lastTimestamp != nil })
  }

  @Test func jsonLinesSeverityAndTime() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let file = try dir.write(
      "events.jsonl",
      """
      {"time":"2026-03-09T02:54:06Z","level":"info","msg":"start"}
      {"time":"2026-03-09T02:54:07Z","level":"warning","msg":"slow"}
      {"time":"2026-03-09T02:54:08Z","level":50,"msg":"pino error"}

      """)
    let doc = try LogExtractor().extract(path: file.path, displayPath: "events.jsonl")
    #expect(doc.metadata["format"] == "json-lines")
    #expect(doc.sections.count == 1)
    #expect(doc.sections[0].severity == "ERROR")
    #expect(doc.sections[0].firstTimestamp == Self.t0)
    #expect(doc.sections[0].lastTimestamp == Self.t0 + 2)
    #expect(doc.sections[0].locator.description == "events.jsonl#L1-L3")
  }

  @Test func oldSectionsWithoutTimesStillDecode() throws {
    let old = #"[{"locator":{"path":"a.log","lineStart":1,"lineEnd":2},"text":"x","severity":"INFO"}]"#
    let sections = try JSONDecoder().decode([Section].self, from: Data(old.utf8))
    #expect(sections[0].firstTimestamp == nil && sections[0].severity == "INFO")
  }

  @Test func severityWords() {
    #expect(LogLine.severity("2026-03-09T02:54:06Z WARNING disk") == "WARN")
    #expect(LogLine.severity("[main] ERROR and INFO") == "ERROR")
    #expect(LogLine.severity("2026-03-09T02:54:06Z informative") == nil)
  }
}

/// Inputs found by the fuzzer (fuzz/logs, issue 15).
@Suite struct LogTimestampFuzzTests {
  /// A line starting with more digits than an Int holds trapped on overflow
  /// in the epoch reader.
  @Test func longDigitRunIsNoTimestamp() {
    let line = "[3333313336666000000M666 " + String(repeating: "4", count: 40)
    #expect(LogTimestamp.parse(line[...], defaultYear: 2026) == nil)
    #expect(LogTimestamp.parse(String(repeating: "9", count: 96)[...], defaultYear: 2026) == nil)
    #expect(LogTimestamp.epoch(Array("99999999999999999999999 x".utf8), 0) == nil)
    #expect(LogTimestamp.parse("1773024846 ok"[...], defaultYear: 2026) == 1_773_024_846)
  }
}
