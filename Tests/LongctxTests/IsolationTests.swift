import Foundation
import Testing
import _LongctxTestSupport

/// Every kind is extracted in isolated workers: a trap, a hang or a runaway
/// allocation on one file is that file's recorded failure, and the batch
/// goes on (issue 15). The faults are injected into the real `_extract`
/// child through `LONGCTX_FAULT_INJECTION`.
@Suite struct IsolationTests {
  struct Summary: Decodable {
    var seen, new, failed: Int
    var exceptions: [Exception]
    struct Exception: Decodable { var path, severity, reason: String }
  }

  @Test func aTrapAHangAndARunawayAllocationEachFailOneFile() throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    // Many small files of several kinds around the bad ones, so that the bad ones
    // fall in the middle of batches and the rest of each batch must be re-sent.
    for i in 0..<30 {
      try tmp.write("in/notes-\(i).txt", "note \(i)\n")
      try tmp.write("in/app-\(i).log", "2026-03-09T02:54:0\(i % 10)Z INFO started \(i)\n")
      try tmp.write("in/code-\(i).swift", "func f\(i)() -> Int { \(i) }\n")
    }
    try tmp.write("in/boom-code.swift", "let x = 1\n")
    try tmp.write("in/boom.log", "2026-03-09T02:54:06Z ERROR x\n")
    try tmp.write("in/slow.txt", "slow\n")
    try tmp.write("in/huge.txt", "huge\n")
    let ws = tmp.url.appendingPathComponent("ws")
    let r = try CLI.run(
      ["ingest", "in", "--workspace", ws.path, "--json", "--timeout", "3", "--worker-memory", "512"], cwd: tmp.url,
      environment: ["LONGCTX_FAULT_INJECTION": "crash=boom;hang=slow;alloc=huge"])
    #expect(r.code == 0, "\(r.stderr)")
    let summary = try JSONDecoder().decode(Summary.self, from: Data(r.stdout.utf8))
    #expect(summary.seen == 94)
    #expect(summary.new == 90)
    #expect(summary.failed == 4)
    let failures = Dictionary(
      uniqueKeysWithValues: summary.exceptions.filter { $0.severity == "failed" }.map { ($0.path, $0.reason) })
    for path in ["in/boom-code.swift", "in/boom.log"] {
      let reason = failures[path] ?? ""
      #expect(reason.hasPrefix("extractor crashed on this file: signal"), "\(path): \(reason)")
      #expect(reason.contains("Index out of range"), "\(reason)")
    }
    #expect(failures["in/slow.txt"]?.hasPrefix("extractor timed out on this file after 3 s") == true, "\(failures)")
    let huge = failures["in/huge.txt"] ?? ""
    #expect(huge.hasPrefix("extractor crashed on this file"), "\(huge)")

    // The failures are recorded, and the next ingest tries them again (and only them).
    let again = try CLI.run(["ingest", "in", "--workspace", ws.path, "--json"], cwd: tmp.url)
    let second = try JSONDecoder().decode(Summary.self, from: Data(again.stdout.utf8))
    #expect(second.failed == 0)
    #expect(second.exceptions.filter { $0.severity == "failed" }.isEmpty, "\(second.exceptions)")
  }

  /// A child that is slow to start (a cold page cache, a loaded machine)
  /// does not make the first file of its batch time out: the time limit runs
  /// from the moment the child says it is ready.
  @Test func aSlowStartIsNotCountedAgainstTheFirstFile() throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try tmp.write("in/first.txt", "first\n")
    try tmp.write("in/second.log", "2026-03-09T02:54:06Z INFO x\n")
    let ws = tmp.url.appendingPathComponent("ws")
    let r = try CLI.run(
      ["ingest", "in", "--workspace", ws.path, "--json", "--timeout", "1"], cwd: tmp.url,
      environment: ["LONGCTX_FAULT_INJECTION": "start=3"])
    #expect(r.code == 0, "\(r.stderr)")
    let summary = try JSONDecoder().decode(Summary.self, from: Data(r.stdout.utf8))
    #expect(summary.new == 2 && summary.failed == 0, "\(summary.exceptions)")
  }
}
