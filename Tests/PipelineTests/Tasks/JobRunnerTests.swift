import Foundation
import Inference
import Logging
import Pipeline
import Segmenter
import Storage
import Testing
import _LongctxTestSupport

@Suite struct JobRunnerTests {
  static func job(_ dir: URL, context: Int = 400, mapPrompt: String = "{{window}}\nSummary:") throws -> JobSpec {
    let yaml = """
      name: unit
      inputs: [docs]
      model: {engine: llama, context: \(context)}
      generation: {max_tokens: 16}
      plan: {collapse_repeats: false}
      map:
        prompt: "\(mapPrompt.replacingOccurrences(of: "\n", with: "\\n"))"
      reduce:
        prompt: "{{outputs}}\\nCombined:"
      """
    return try JobFile.parse(yaml, path: "unit.yaml", baseDirectory: dir.path)
  }

  static func corpus(in tmp: TemporaryDirectory, files: Int = 6) throws {
    for f in 0..<files {
      let lines = (1...60).map {
        "2026-03-0\(f % 9 + 1)T10:00:\(String(format: "%02d", $0 % 60))Z INFO service event \($0) of file \(f)"
      }
      try tmp.write("docs/f\(f).log", lines.joined(separator: "\n") + "\n")
    }
  }

  func runner(_ ws: Workspace, _ spec: JobSpec, _ engine: FakeEngine) -> JobRunner {
    let r = JobRunner(
      workspace: ws, spec: spec, counter: EstimatedTokenCounter(), modelKey: "fake", logger: Logger(label: "test"),
      settings: RunSettings(retryBaseDelay: 0.001), engineFactory: { engine })
    return r
  }

  @Test func mapThenReduceTreeToOneOutput() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try Self.corpus(in: tmp)
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    let engine = FakeEngine()
    let summary = try await runner(ws, try Self.job(tmp.url), engine).run()
    #expect(summary.windows > 4)
    #expect(summary.failed == 0)
    let tasks = try TaskStore(workspace: ws).currentTasks(job: "unit")
    let maps = tasks.filter { $0.kind == .map }
    let top = tasks.max { $0.level < $1.level }!
    #expect(maps.count == summary.windows)
    #expect(top.kind == .reduce)
    #expect(tasks.filter { $0.level == top.level }.count == 1, "the tree ends in one task")
    #expect(tasks.allSatisfy { $0.state == .done })
    #expect(engine.calls == tasks.count)
    // The top reduce covers every window's locators.
    #expect(Set(top.locatorList) == Set(maps.flatMap(\.locatorList)))
  }

  @Test func secondRunReusesEverythingAndNeverLoadsTheEngine() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try Self.corpus(in: tmp)
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    let spec = try Self.job(tmp.url)
    _ = try await runner(ws, spec, FakeEngine()).run()
    let engine = FakeEngine()
    let again = try await runner(ws, spec, engine).run()
    #expect(again.executed == 0)
    #expect(again.engineLoaded == false)
    #expect(engine.calls == 0)
  }

  @Test func changingOneFileRerunsOnlyItsWindowsAndTheReduce() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try Self.corpus(in: tmp)
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    let spec = try Self.job(tmp.url)
    let first = try await runner(ws, spec, FakeEngine()).run()
    try tmp.write("docs/f5.log", "2026-03-09T11:00:00Z ERROR something new\n")
    let engine = FakeEngine()
    let second = try await runner(ws, spec, engine).run()
    let maps = try TaskStore(workspace: ws).currentTasks(job: "unit").filter { $0.kind == .map }
    #expect(second.executed < first.executed)
    #expect(second.executed >= 2, "the changed window and the reduce above it")
    #expect(maps.count == second.windows)
  }

  @Test func changingThePromptInvalidatesEveryMapTask() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try Self.corpus(in: tmp, files: 2)
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    _ = try await runner(ws, try Self.job(tmp.url), FakeEngine()).run()
    let engine = FakeEngine()
    let s = try await runner(ws, try Self.job(tmp.url, mapPrompt: "{{window}}\nIn short:"), engine).run()
    #expect(s.reused == 0)
    #expect(s.executed == s.tasks)
  }

  @Test func transientErrorsAreRetriedPermanentOnesFailTheTaskOnly() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try Self.corpus(in: tmp, files: 2)
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    let engine = FakeEngine(script: [.transient("overloaded"), .transient("overloaded"), .permanent("prompt rejected")])
    let s = try await runner(ws, try Self.job(tmp.url), engine).run()
    #expect(s.failed == 1)
    let tasks = try TaskStore(workspace: ws).currentTasks(job: "unit")
    let failed = tasks.filter { $0.state == .failed }
    #expect(failed.count == 1)
    #expect(failed[0].error?.contains("prompt rejected") == true)
    #expect(tasks.filter { $0.kind == .map && $0.state == .done }.count == s.windows - 1)
    // A later run retries the failed task.
    let retry = try await runner(ws, try Self.job(tmp.url), FakeEngine()).run()
    #expect(retry.failed == 0)
    #expect(retry.executed >= 1)
  }

  @Test func reportListsTasksAndACostEstimate() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try Self.corpus(in: tmp, files: 2)
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    _ = try await runner(ws, try Self.job(tmp.url), FakeEngine()).run()
    let md = try ReportWriter(workspace: ws).markdown(
      job: "unit", prices: .init(promptPerMillion: 1, outputPerMillion: 2, currency: "EUR"))
    let tasks = try TaskStore(workspace: ws).currentTasks(job: "unit")
    #expect(md.contains("## Tasks"))
    #expect(md.components(separatedBy: "| done |").count - 1 == tasks.count)
    let prompt = tasks.compactMap(\.promptTokens).reduce(0, +)
    let output = tasks.compactMap(\.outputTokens).reduce(0, +)
    let cost = Double(prompt) / 1e6 + Double(output) / 1e6 * 2
    #expect(md.contains(String(format: "Cost estimate: %.4f EUR", cost)))
  }

  @Test func everyWindowFitsTheBudget() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try Self.corpus(in: tmp)
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    _ = try await runner(ws, try Self.job(tmp.url, context: 300), FakeEngine()).run()
    let plan = try #require(try PlanStore(workspace: ws).latest(job: "unit"))
    let counter = EstimatedTokenCounter()
    for w in plan.windows {
      #expect(w.tokens <= plan.budget)
      #expect(try counter.count(w.text) <= plan.budget)
    }
  }
}
