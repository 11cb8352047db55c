import Foundation
import Inference
import Ingest
import Logging
import Pipeline
import Storage
import Testing
import _LongctxTestSupport

/// Citation states, quotes and uncited statements in reports, on real inputs:
/// the `Samples/` logs and PDFs and, where present, `../shared/corpus`.
@Suite struct ReportCitationTests {
  /// A job over copies of `folders` (paths under `Samples/` or absolute), small windows.
  static func setUp(_ tmp: TemporaryDirectory, folders: [URL], context: Int = 400) throws -> JobSpec {
    var inputs: [String] = []
    for folder in folders {
      let dest = tmp.url.appendingPathComponent(folder.lastPathComponent)
      try FileManager.default.copyItem(at: folder, to: dest)
      inputs.append(folder.lastPathComponent)
    }
    let yaml = """
      name: checked
      inputs: [\(inputs.joined(separator: ", "))]
      model: {engine: llama, context: \(context)}
      generation: {max_tokens: 16}
      plan: {collapse_repeats: false}
      map: {prompt: "{{window}}\\nSummary:"}
      reduce: {prompt: "{{outputs}}\\nCombined:"}
      """
    return try JobFile.parse(yaml, path: "checked.yaml", baseDirectory: tmp.url.path)
  }

  static func run(_ ws: Workspace, _ spec: JobSpec) async throws {
    let engine = FakeEngine()
    _ = try await JobRunner(
      workspace: ws, spec: spec, counter: EstimatedTokenCounter(), modelKey: "fake", logger: Logger(label: "test"),
      engineFactory: { engine }
    ).run()
  }

  static func setOutput(_ ws: Workspace, _ task: TaskRecord, _ text: String) throws {
    try TaskStore(workspace: ws).complete(
      task.id, output: text, promptTokens: 1, outputTokens: 1, engine: "test", model: "test", durationMs: 1)
  }

  /// Line `n` (1-based) of a file on disk.
  static func line(_ n: Int, of file: URL) throws -> String {
    String(
      try String(contentsOf: file, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)[n - 1])
  }

  @Test func realFabricatedOutsideAndPastTheEndCitationsGetTheirStates() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let spec = try Self.setUp(
      tmp,
      folders: [
        RepositoryPaths.samples.appendingPathComponent("logs"), RepositoryPaths.samples.appendingPathComponent("pdfs"),
      ])
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    try await Self.run(ws, spec)
    let tasks = try TaskStore(workspace: ws).currentTasks(job: "checked")
    let maps = tasks.filter { $0.kind == .map }
    #expect(maps.count >= 3)
    // A window reading lines of logs/app.log, and a line range of that file it did not read.
    let window = try #require(
      maps.first { $0.locatorList.contains { $0.hasPrefix("logs/app.log#L") } }, "no window reads logs/app.log")
    let own = try #require(window.locators.first { $0.path == "logs/app.log" })
    let others = maps.filter { $0.id != window.id }.flatMap(\.locators)
    let read = window.locators
    let outside = try #require(others.first { !Citations.isCovered($0, by: read) && $0.lineStart != nil })
    let realLine = try Self.line(try #require(own.lineStart), of: tmp.url.appendingPathComponent("logs/app.log"))
    // The message part of the line, in other case and spacing: still found.
    let quoted = realLine.split(separator: " ").dropFirst(2).joined(separator: "  ").uppercased()
    let fileLines = try String(contentsOf: tmp.url.appendingPathComponent("logs/app.log"), encoding: .utf8)
      .split(separator: "\n").count

    let text = """
      The service logged "\(quoted)" [\(own)]. Another part of the logs shows more work [\(outside)].
      An invented file reports an outage [logs/invented.log#L1-L3]. The contract has a clause on a late page [pdfs/contract.pdf#page=99].
      The log goes on past its end [logs/app.log#L\(fileLines + 1)-L\(fileLines + 5)]. It also said "the reactor core melted at noon" [\(own)].
      This sentence cites nothing at all.
      """
    try Self.setOutput(ws, window, text)

    let report = try ReportWriter(workspace: ws).json(job: "checked", spec: spec)
    let task = try #require(report.tasks.first { $0.kind == .map && $0.ordinal == window.ordinal })
    let states = Dictionary(task.cited.map { ($0.citation, $0.state) }, uniquingKeysWith: { a, _ in a })
    #expect(states[own.description] == .verified)
    #expect(states[outside.description] == .outside)
    #expect(states["logs/invented.log#L1-L3"] == .unknown)
    #expect(states["pdfs/contract.pdf#page=99"] == .unknown)
    #expect(states["logs/app.log#L\(fileLines + 1)-L\(fileLines + 5)"] == .unknown)
    let pastEnd = try #require(task.cited.first { $0.citation.hasPrefix("pdfs/contract.pdf") })
    #expect(pastEnd.reason?.contains("past the end") == true, "\(pastEnd)")
    #expect(task.statements == 7)
    #expect(task.uncitedStatements == 1)
    #expect(task.quotes.count == 2)
    #expect(task.quotes.first { $0.quote == quoted }?.found == true, "\(task.quotes)")
    #expect(task.quotes.first { $0.quote.contains("reactor") }?.found == false)
    // Every citation of the report is labelled: the counts add up.
    let all = report.tasks.flatMap(\.cited)
    #expect(report.citations.total == all.count)
    #expect(report.citations.verified >= 2 && report.citations.outside >= 1 && report.citations.unknown >= 3)

    let md = try ReportWriter(workspace: ws).markdown(job: "checked", spec: spec)
    #expect(md.contains("[\(own)] ✓"))
    #expect(md.contains("[\(outside)] ⚠ outside"))
    #expect(md.contains("[logs/invented.log#L1-L3] ✗ unknown"))
    #expect(md.contains("Quote not found ✗: \"the reactor core melted at noon\""))
    #expect(md.contains(report.citations.line))
    #expect(md.components(separatedBy: "Citations: ").count == 2, "one count line per report")
  }

  @Test func aReduceVerifiesWhatItsInputsReadAndAShortPathResolves() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let spec = try Self.setUp(tmp, folders: [RepositoryPaths.samples.appendingPathComponent("pdfs")], context: 300)
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    try await Self.run(ws, spec)
    let tasks = try TaskStore(workspace: ws).currentTasks(job: "checked")
    let top = try #require(ReportWriter.finalTask(in: tasks))
    #expect(top.kind == .reduce)
    let last = try #require(top.locatorList.last)
    // The model drops the directory: `contract.pdf#page=1` is `pdfs/contract.pdf#page=1`.
    try Self.setOutput(
      ws, top, "Both documents matter [\(last)]. The contract starts on its first page [contract.pdf#page=1].")
    let report = try ReportWriter(workspace: ws).json(job: "checked", spec: spec)
    let checked = try #require(report.tasks.first { $0.kind == .reduce && $0.level == top.level })
    #expect(checked.cited.map(\.state) == [.verified, .verified])
    #expect(checked.cited.last?.resolved == "pdfs/contract.pdf#page=1")
    #expect(checked.uncitedStatements == 0)
  }

  @Test func tenThousandBracketsAreCheckedInLinearTime() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let spec = try Self.setUp(tmp, folders: [RepositoryPaths.samples.appendingPathComponent("logs")])
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    try await Self.run(ws, spec)
    let lookup = try SourceLookup(workspace: ws)
    let checker = CitationChecker(lookup: lookup)
    // 10,000 distinct bracketed locators, 10,000 brackets that never close, 10,000 plain brackets.
    var text = (0..<10_000).map { "Event \($0) happened [logs/app.log#L\($0 % 90 + 1)]." }.joined(separator: " ")
    text += String(repeating: "[ unclosed ", count: 10_000) + String(repeating: "[INFO] ", count: 10_000)
    let clock = ContinuousClock()
    let start = clock.now
    let (check, marked) = checker.check(
      output: text, sources: [Locator(path: "logs/app.log", lineStart: 1, lineEnd: 10)])
    let elapsed = clock.now - start
    // app.log has 70 lines; the task read 1-10.
    let lines = try String(contentsOf: tmp.url.appendingPathComponent("logs/app.log"), encoding: .utf8)
      .split(separator: "\n").count
    let cited = (0..<10_000).map { $0 % 90 + 1 }
    #expect(check.citations.count == 10_000)
    #expect(check.count(.verified) == cited.filter { $0 <= 10 }.count)
    #expect(check.count(.outside) == cited.filter { $0 > 10 && $0 <= lines }.count)
    #expect(check.count(.unknown) == cited.filter { $0 > lines }.count)
    #expect(marked.components(separatedBy: "] ✓").count - 1 == check.count(.verified))
    #expect(elapsed < .seconds(5), "took \(elapsed)")
  }

  @Test func aStructuredOutputsSourceFieldsAreCitations() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let spec = try Self.setUp(tmp, folders: [RepositoryPaths.samples.appendingPathComponent("pdfs")], context: 2000)
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    try await Self.run(ws, spec)
    let map = try #require(try TaskStore(workspace: ws).currentTasks(job: "checked").first { $0.kind == .map })
    let first = try #require(map.locatorList.first)
    try Self.setOutput(
      ws, map,
      #"{"pages":[{"source":"\#(first)","responsive":true,"reason":"a \"quoted\" word"},{"source":"pdfs/memo.pdf#page=40","responsive":false,"reason":"x"},{"source":"the memo, page two","responsive":false,"reason":"see also notes#L1-L2"}]}"#
    )
    let report = try ReportWriter(workspace: ws).json(job: "checked", spec: spec)
    let task = try #require(report.tasks.first { $0.kind == .map && $0.ordinal == map.ordinal })
    // The third "source" names nothing: unknown, not ignored; a locator-like string elsewhere counts too.
    #expect(
      task.cited.map(\.citation) == [first, "pdfs/memo.pdf#page=40", "see also notes#L1-L2", "the memo, page two"])
    #expect(task.cited.map(\.state) == [.verified, .unknown, .unknown, .unknown])
    #expect(task.quotes.isEmpty, "JSON strings are not quotes")
  }

  @Test func sharedCorpusLogAndPDF() async throws {
    guard let corpus = RepositoryPaths.sharedCorpus else {
      print("skipped: no ../shared/corpus on this machine")
      return
    }
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try FileManager.default.createDirectory(
      at: tmp.url.appendingPathComponent("real"), withIntermediateDirectories: true)
    let log = corpus.appendingPathComponent("logs/loghub/Hadoop/Hadoop_2k.log")
    let pdfs = RepositoryPaths.files(under: corpus.appendingPathComponent("pdf"), suffixes: [".pdf"])
    let pdf = try #require(pdfs.first)
    try FileManager.default.copyItem(at: log, to: tmp.url.appendingPathComponent("real/hadoop.log"))
    try FileManager.default.copyItem(at: pdf, to: tmp.url.appendingPathComponent("real/doc.pdf"))
    let spec = try JobFile.parse(
      """
      name: checked
      inputs: [real]
      model: {engine: llama, context: 2000}
      generation: {max_tokens: 16}
      map: {prompt: "{{window}}\\nSummary:"}
      reduce: {prompt: "{{outputs}}\\nCombined:"}
      """, path: "checked.yaml", baseDirectory: tmp.url.path)
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    try await Self.run(ws, spec)
    let maps = try TaskStore(workspace: ws).currentTasks(job: "checked").filter { $0.kind == .map }
    let window = try #require(maps.first { $0.locatorList.contains { $0.hasPrefix("real/hadoop.log#L") } })
    let own = try #require(window.locatorList.first { $0.hasPrefix("real/hadoop.log#L") })
    // Hadoop_2k.log has 2,000 lines: 1990-1999 exist; a window of 2,000 tokens cannot hold them and line 1.
    let far =
      window.locatorList.contains("real/hadoop.log#L1990-L1999")
      ? "real/hadoop.log#L1-L2" : "real/hadoop.log#L1990-L1999"
    try Self.setOutput(
      ws, window,
      "Blocks were served [\(own)]. Later blocks too [\(far)]. And more [real/hadoop.log#L2001-L2002]. A page [real/doc.pdf#page=10000]."
    )
    let report = try ReportWriter(workspace: ws).json(job: "checked", spec: spec)
    let task = try #require(report.tasks.first { $0.kind == .map && $0.ordinal == window.ordinal })
    #expect(task.cited.map(\.state) == [.verified, .outside, .unknown, .unknown], "\(task.cited)")
    #expect(report.facts.logEvents > 1000, "Hadoop_2k.log has 2,000 lines, most of them events")
  }
}
