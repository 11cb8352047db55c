import Foundation
import Inference
import Ingest
import Logging
import Pipeline
import Segmenter
import Storage
import Testing
import _LongctxTestSupport

/// Incremental (cron) runs with the fake engine: what counts as new, the
/// period's tasks and reports, and the rolling summary's reuse.
@Suite struct IncrementalRunTests {
  static func job(_ dir: URL) throws -> JobSpec {
    let yaml = """
      name: nightly
      inputs: [logs]
      incremental: true
      model: {engine: llama, context: 400}
      generation: {max_tokens: 16}
      plan: {collapse_repeats: false}
      map: {prompt: "{{window}}\\nSummary:"}
      reduce: {prompt: "{{outputs}}\\nCombined:"}
      report: {path: out/nightly.md}
      """
    return try JobFile.parse(yaml, path: "nightly.yaml", baseDirectory: dir.path)
  }

  static func lines(_ file: String, _ range: ClosedRange<Int>) -> String {
    range.map {
      "2026-03-01T10:\(String(format: "%02d", $0 / 60)):\(String(format: "%02d", $0 % 60))Z INFO \(file) event \($0)"
    }
    .joined(separator: "\n") + "\n"
  }

  static func corpus(_ tmp: TemporaryDirectory) throws {
    for f in ["a", "b", "c"] { try tmp.write("logs/\(f).log", lines(f, 1...30)) }
  }

  static func append(_ tmp: TemporaryDirectory, _ name: String, _ text: String) throws {
    let handle = try FileHandle(forWritingTo: tmp.url.appendingPathComponent(name))
    try handle.seekToEnd()
    try handle.write(contentsOf: Data(text.utf8))
    try handle.close()
  }

  func run(_ ws: Workspace, _ spec: JobSpec, _ engine: FakeEngine) async throws -> RunSummary {
    let r = JobRunner(
      workspace: ws, spec: spec, counter: EstimatedTokenCounter(), modelKey: "fake", logger: Logger(label: "test"),
      settings: RunSettings(retryBaseDelay: 0.001), engineFactory: { engine })
    return try await r.run()
  }

  @Test func firstRunCoversAllLinesAndItsSummaryIsTheFirstRollingSummary() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try Self.corpus(tmp)
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    let engine = FakeEngine()
    let s = try await run(ws, try Self.job(tmp.url), engine)
    let period = try #require(s.period)
    #expect(period.previousRun == nil)
    #expect(period.newLines == 90)
    #expect(period.newSources == ["logs/a.log#L1-L30", "logs/b.log#L1-L30", "logs/c.log#L1-L30"])
    #expect(engine.calls == s.executed && s.executed == s.tasks)
    let runs = try RunStore(workspace: ws).runs(job: "nightly")
    #expect(runs.count == 1 && runs[0].status.rawValue == "done")
    #expect(runs[0].rollingTask == runs[0].periodTask)
    #expect(period.rollingInputs == [try #require(runs[0].periodTask)])
    let stamped = try #require(period.periodReport)
    #expect(stamped != period.latestReport)
    #expect(
      try String(contentsOfFile: stamped, encoding: .utf8)
        == String(contentsOfFile: try #require(period.latestReport), encoding: .utf8))
    let rolling = try String(contentsOfFile: try #require(period.rollingReport), encoding: .utf8)
    #expect(rolling.contains("# Rolling summary: nightly"))
    #expect(period.rollingReport == tmp.url.appendingPathComponent("out/nightly-rolling.md").standardizedFileURL.path)
  }

  @Test func appendedLinesAndARotatedFileAreTheOnlyNewPart() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try Self.corpus(tmp)
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    let spec = try Self.job(tmp.url)
    let first = try await run(ws, spec, FakeEngine())
    let firstRolling = try #require(first.period?.rollingTask)
    let firstRollingOutput = try #require(try TaskStore(workspace: ws).task(id: firstRolling)?.output)

    // a.log grows; b.log is rotated to b.log.1 (with two more lines) and a new b.log starts.
    try Self.append(tmp, "logs/a.log", Self.lines("a", 31...40))
    try Self.append(tmp, "logs/b.log", Self.lines("b", 31...32))
    try FileManager.default.moveItem(
      at: tmp.url.appendingPathComponent("logs/b.log"), to: tmp.url.appendingPathComponent("logs/b.log.1"))
    try tmp.write("logs/b.log", Self.lines("b", 33...37))
    let engine = FakeEngine()
    let second = try await run(ws, spec, engine)
    let period = try #require(second.period)
    #expect(period.previousRun == 1)
    #expect(period.newSources == ["logs/a.log#L31-L40", "logs/b.log.1#L31-L32", "logs/b.log#L1-L5"])
    #expect(period.newLines == 17)

    // Only windows of new lines were mapped; nothing else ran but the period's reduce and the rolling task.
    let tasks = try TaskStore(workspace: ws).currentTasks(job: "nightly")
    let maps = tasks.filter { $0.kind == .map }
    #expect(maps.count == second.windows)
    let covered = maps.flatMap(\.locators)
    let new = period.newSources.compactMap { Locator(citation: $0[...]) }
    #expect(!covered.isEmpty)
    for loc in covered { #expect(Citations.isCovered(loc, by: new), "\(loc) is not new") }
    #expect(engine.calls == second.executed)
    #expect(second.executed == tasks.count, "every current task is this period's (or its rolling summary)")
    #expect(second.executed < first.executed)

    // The rolling summary reduced the previous rolling summary with this period's summary.
    let runs = try RunStore(workspace: ws).runs(job: "nightly")
    #expect(period.rollingInputs == [firstRolling, try #require(runs[1].periodTask)])
    let rollingID = try #require(period.rollingTask)
    let rollingTask = try #require(try TaskStore(workspace: ws).task(id: rollingID))
    #expect(rollingTask.kind == .rolling && rollingTask.state == .done)
    let periodID = try #require(runs[1].periodTask)
    let periodOutput = try #require(try TaskStore(workspace: ws).task(id: periodID)?.output)
    let lastPrompt = try #require(engine.prompts.last)
    #expect(lastPrompt.contains(firstRollingOutput) && lastPrompt.contains(periodOutput))
    let rolling = try String(contentsOfFile: try #require(period.rollingReport), encoding: .utf8)
    #expect(rolling.contains("from the previous rolling summary"))
    let periodReport = try String(contentsOfFile: try #require(period.periodReport), encoding: .utf8)
    #expect(periodReport.contains("[logs/a.log#L31-L40]"))
    #expect(!periodReport.contains("logs/c.log"))
  }

  @Test func aRunWithNothingNewDoesNoEngineWorkAndKeepsTheReports() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try Self.corpus(tmp)
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    let spec = try Self.job(tmp.url)
    let first = try await run(ws, spec, FakeEngine())
    let latest = try String(contentsOfFile: try #require(first.period?.latestReport), encoding: .utf8)
    let engine = FakeEngine()
    let again = try await run(ws, spec, engine)
    #expect(engine.calls == 0 && again.executed == 0 && !again.engineLoaded)
    #expect(again.period?.newLines == 0 && again.period?.newSources == [])
    #expect(again.period?.periodReport == nil)
    #expect(again.period?.rollingTask == first.period?.rollingTask)
    #expect(try String(contentsOfFile: try #require(first.period?.latestReport), encoding: .utf8) == latest)
    #expect(try RunStore(workspace: ws).runs(job: "nightly").map(\.status.rawValue) == ["done", "done"])
  }

  @Test func aRewrittenFileIsNewFromItsFirstLine() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try Self.corpus(tmp)
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    let spec = try Self.job(tmp.url)
    _ = try await run(ws, spec, FakeEngine())
    try tmp.write("logs/c.log", Self.lines("c", 100...140))  // copytruncate, then 41 new lines
    let s = try await run(ws, spec, FakeEngine())
    #expect(s.period?.newSources == ["logs/c.log#L1-L41"])
  }

  @Test func aPeriodWithAFailedTaskIsCoveredAgainByTheNextRun() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try Self.corpus(tmp)
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    let spec = try Self.job(tmp.url)
    let first = try await run(ws, spec, FakeEngine())
    try Self.append(tmp, "logs/a.log", Self.lines("a", 31...40))
    let failing = try await run(ws, spec, FakeEngine(script: [.permanent("rejected")]))
    #expect(failing.failed == 1)
    #expect(failing.period?.rollingTask == first.period?.rollingTask, "a failed period leaves the rolling summary")
    try Self.append(tmp, "logs/c.log", Self.lines("c", 31...33))
    let engine = FakeEngine()
    let retry = try await run(ws, spec, engine)
    #expect(retry.failed == 0)
    #expect(retry.period?.previousRun == 1, "continues from the last completed run")
    #expect(retry.period?.newSources == ["logs/a.log#L31-L40", "logs/c.log#L31-L33"])
    let statuses = try RunStore(workspace: ws).runs(job: "nightly").map(\.status.rawValue)
    #expect(statuses == ["done", "finished-with-failures", "done"])
  }
}
