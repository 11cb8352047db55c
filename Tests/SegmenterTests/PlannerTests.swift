import Foundation
import Inference
import Ingest
import Logging
import Pipeline
import Segmenter
import Storage
import Testing
import _LongctxTestSupport

@Suite struct PlannerTests {
  func ingest(_ tmp: TemporaryDirectory, _ ws: Workspace) async throws -> [IngestedFile] {
    try await Ingestor(workspace: ws, logger: Logger(label: "t")).ingest(
      inputs: ["docs"], options: IngestOptions(base: tmp.url)
    ).files
  }

  func corpus(_ tmp: TemporaryDirectory) throws {
    try tmp.write(
      "docs/a.log",
      (1...300).map { "2026-01-01T00:00:\(String(format: "%02d", $0 % 60))Z INFO line \($0) of a" }.joined(
        separator: "\n") + "\n")
    try tmp.write(
      "docs/b.md",
      "# Title\n\n" + (1...80).map { "Paragraph \($0) has some words in it." }.joined(separator: "\n") + "\n")
    try tmp.write("docs/c.py", (1...50).map { "def f\($0)():\n    return \($0)\n" }.joined(separator: "\n"))
  }

  @Test(arguments: [120, 300, 1000, 100_000])
  func noWindowIsOverBudgetAndEveryLineIsPlacedOnceInOrder(budget: Int) async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try corpus(tmp)
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    let files = try await ingest(tmp, ws)
    let counter = EstimatedTokenCounter()
    let plan = try CorpusPlanner(workspace: ws, counter: counter).plan(files: files, budget: budget)
    #expect(plan.leftOut.isEmpty)
    for w in plan.windows {
      #expect(w.tokens <= budget)
      #expect(try counter.count(w.text) <= budget)
    }
    // Lines of each file appear exactly once, in source order.
    var covered: [String: [ClosedRange<Int>]] = [:]
    for loc in plan.windows.flatMap(\.locators) {
      let s = try #require(loc.lineStart)
      let e = try #require(loc.lineEnd)
      covered[loc.path, default: []].append(s...e)
    }
    #expect(covered["docs/a.log"]?.first?.lowerBound == 1)
    #expect(covered["docs/a.log"]?.last?.upperBound == 300)
    for ranges in covered.values {
      for (x, y) in zip(ranges, ranges.dropFirst()) { #expect(y.lowerBound == x.upperBound + 1) }
    }
    // Documents stay contiguous: once a file's chunks end, it does not reappear.
    let order = plan.windows.flatMap(\.locators).map(\.path)
    var finished = Set<String>()
    for (p, next) in zip(order, order.dropFirst()) where p != next {
      #expect(!finished.contains(next))
      finished.insert(p)
    }
  }

  @Test func planIsDeterministicAndReplanningHitsTheTokenCache() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try corpus(tmp)
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    let files = try await ingest(tmp, ws)
    let counting = CountingCounter()
    let a = try CorpusPlanner(workspace: ws, counter: counting).plan(files: files, budget: 400)
    let calls = counting.calls
    let b = try CorpusPlanner(workspace: ws, counter: counting).plan(files: files, budget: 400)
    #expect(a.id == b.id)
    #expect(a.windows == b.windows)
    #expect(calls > 0)
    #expect(counting.calls == calls, "re-planning must not re-tokenize")
  }

  @Test func codeChunkHeadersNameTheirDeclarations() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    // 120 functions of 4 lines: about 3 sections, each of whole functions.
    try tmp.write(
      "docs/m.go",
      "package m\n\n"
        + (1...120).map { "// F\($0) returns \($0).\nfunc F\($0)() int {\n\treturn \($0)\n}\n" }.joined(separator: "\n")
    )
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    let files = try await ingest(tmp, ws)
    let plan = try CorpusPlanner(workspace: ws, counter: EstimatedTokenCounter()).plan(
      files: files, budget: 100_000, options: PlanOptions(collapseDuplicates: false))
    let chunks = plan.windows.flatMap(\.chunks)
    #expect(chunks.count >= 3)
    for chunk in chunks {
      let header = try #require(chunk.text.split(separator: "\n").first)
      let body = chunk.text.split(separator: "\n", omittingEmptySubsequences: false).dropFirst()
      // The first function in the chunk is named first, then the others, at most 8 and a count.
      let firstFunction = try #require(body.first { $0.hasPrefix("func F") })
      let name = firstFunction.dropFirst(5).prefix { $0 != "(" }
      let functions = body.filter { $0.hasPrefix("func F") }.count
      #expect(header.hasPrefix("[\(chunk.locator)] func \(name)"), "\(header)")
      #expect(header.split(separator: ",").count == min(functions, 9), "\(header)")
      #expect(header.contains(" more") == (functions > 8))
      #expect(body.last { $0.hasPrefix("func") == false && !$0.isEmpty } == "}", "a chunk ends after a whole function")
    }
  }

  @Test func aChunkLargerThanAWindowIsSplitAtLineBoundaries() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    // One 40-line paragraph with no blank lines: a single section.
    try tmp.write(
      "docs/big.txt",
      (1...40).map { "line \($0) " + String(repeating: "word ", count: 10) }.joined(separator: "\n") + "\n")
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    let files = try await ingest(tmp, ws)
    let plan = try CorpusPlanner(workspace: ws, counter: EstimatedTokenCounter()).plan(files: files, budget: 200)
    #expect(plan.windows.count > 1)
    for chunk in plan.windows.flatMap(\.chunks) {
      let body = chunk.text.split(separator: "\n").dropFirst()
      let first = try #require(body.first)
      #expect(first.hasPrefix("line \(chunk.locator.lineStart!) "), "the locator matches the chunk's first line")
      #expect(body.count == chunk.locator.lineEnd! - chunk.locator.lineStart! + 1)
    }
  }

  /// A log chunk that does not fit the rest of a window is cut before an event so that the
  /// window fills; a stack trace is never cut, and every line is still placed once, in order.
  @Test func logWindowsFillByCuttingChunksBetweenEvents() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    var lines: [String] = []
    for i in 1...600 {
      let level = i % 7 == 0 ? "ERROR" : "INFO"
      lines.append(
        "2026-03-09T02:\(String(format: "%02d", i / 60 % 60)):\(String(format: "%02d", i % 60))Z \(level) request \(i) served"
      )
      if level == "ERROR" {
        lines += [
          "    at com.example.Handler.serve(Handler.java:\(i))", "    at com.example.Server.run(Server.java:88)",
        ]
      }
    }
    try tmp.write("docs/app.log", lines.joined(separator: "\n") + "\n")
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    let files = try await ingest(tmp, ws)
    let counter = EstimatedTokenCounter()
    let budget = 2000
    let plan = try CorpusPlanner(workspace: ws, counter: counter).plan(
      files: files, budget: budget, options: PlanOptions(collapseRepeats: false))
    #expect(plan.windows.count > 3)
    for w in plan.windows {
      #expect(w.tokens <= budget)
      #expect(try counter.count(w.text) <= budget)
    }
    // Every window but the last is full to within one event (about 40 estimated tokens).
    for w in plan.windows.dropLast() { #expect(w.tokens >= budget - 60, "window \(w.ordinal): \(w.tokens) tokens") }
    // No chunk starts inside a stack trace, and each chunk's text is its lines.
    var next = 1
    for chunk in plan.windows.flatMap(\.chunks) {
      let body = chunk.text.split(separator: "\n", omittingEmptySubsequences: false).dropFirst()
      #expect(body.first?.hasPrefix(" ") == false)
      let start = try #require(chunk.locator.lineStart)
      let end = try #require(chunk.locator.lineEnd)
      #expect(start == next)
      #expect(Array(body) == lines[(start - 1)..<end].map { Substring($0) })
      next = end + 1
    }
    #expect(next == lines.count + 1)
  }

  @Test func repeatedLogLinesCostOneLineAndACount() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    var lines = (1...10_000).map {
      "2026-03-09T02:\(String(format: "%02d", $0 % 60)):00Z WARN retry \($0) for batch rotterdam-\($0): upstream timeout"
    }
    lines.insert("2026-03-09T02:10:00Z ERROR db.pool: timeout acquiring connection", at: 5000)
    try tmp.write("docs/app.log", lines.joined(separator: "\n") + "\n")
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    let files = try await ingest(tmp, ws)
    let planner = CorpusPlanner(workspace: ws, counter: EstimatedTokenCounter())
    let collapsed = try planner.plan(files: files, budget: 100_000)
    let full = try planner.plan(files: files, budget: 100_000, options: PlanOptions(collapseRepeats: false))
    #expect(collapsed.collapsedLines == 10_000 - 3)
    #expect(collapsed.totalTokens * 5 < full.totalTokens)
    let text = collapsed.windows.map(\.text).joined(separator: "\n")
    #expect(text.contains("ERROR db.pool"), "the one distinct line survives")
    // Collapsed by the template ingest mined and stored: its header (time, level) is not part of it.
    let top = try #require(try LogTemplateStore.templates(ws).first)
    #expect(top.count == 10_000)
    #expect(top.text.hasPrefix("retry <*> for batch"), "\(top.text)")
    #expect(text.contains("(… 9997 more lines like: \(top.text) — lines 4-10001)"), "\(text.suffix(300))")
    // Locators still cover the whole file.
    #expect(collapsed.windows.flatMap(\.locators).last?.lineEnd == 10_001)
  }

  @Test func maxWindowsKeepsTheMostRelevantChunks() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    for i in 0..<20 {
      try tmp.write("docs/n\(String(format: "%02d", i)).txt", "Routine note \(i) about lunch menus and parking.\n")
    }
    try tmp.write("docs/n07.txt", "Breach notification: the provider must notify within forty-eight hours.\n")
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    let files = try await ingest(tmp, ws)
    let plan = try CorpusPlanner(workspace: ws, counter: EstimatedTokenCounter()).plan(
      files: files, budget: 60, options: PlanOptions(question: "breach notification deadline", maxWindows: 1))
    #expect(plan.windows.count == 1)
    #expect(plan.windows[0].locators.contains { $0.path == "docs/n07.txt" })
    #expect(!plan.leftOut.isEmpty)
    #expect(plan.leftOut.allSatisfy { $0.reason.contains("below the cut-off") })
  }

  @Test func aSingleLineOverBudgetIsLeftOutWithAReason() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try tmp.write("docs/long.txt", String(repeating: "x", count: 3000) + "\n")
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    let files = try await ingest(tmp, ws)
    let plan = try CorpusPlanner(workspace: ws, counter: EstimatedTokenCounter()).plan(files: files, budget: 100)
    #expect(plan.windows.isEmpty)
    #expect(plan.leftOut.count == 1)
    #expect(plan.leftOut[0].reason.contains("exceeds the budget"))
  }
}

/// Counts how often it is asked, to prove caching.
final class CountingCounter: TokenCounter, @unchecked Sendable {
  private let lock = NSLock()
  private var _calls = 0
  var calls: Int { lock.withLock { _calls } }
  var vocabularyID: String { "counting" }
  var isExact: Bool { false }
  func count(_ text: String) throws -> Int {
    lock.withLock { _calls += 1 }
    return text.utf8.count / 3 + 1
  }
}
