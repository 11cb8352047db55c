import Foundation
import Inference
import Ingest
import Logging
import Segmenter
import Storage
import Testing
import _LongctxTestSupport

@testable import Pipeline

/// Every prompt a job sends fits the model's context with its output, whatever
/// the prompt's variables hold: `PromptBudget` counts them all, `{{templates}}`
/// (an incremental run's table of log changes) included.
@Suite struct PromptBudgetTests {
  /// A word of letters only (digits would be masked by the template miner), distinct per `n`.
  static func word(_ n: Int) -> String {
    var n = n + 26 * 27
    var out = ""
    while n > 0 {
      out.append(Character(UnicodeScalar(UInt8(97 + n % 26))))
      n /= 26
    }
    return out
  }

  /// A log of `templates` distinct long messages, `repeats` events each, interleaved.
  static func log(templates: Int, repeats: Int) -> String {
    var lines: [String] = []
    for r in 0..<repeats {
      for t in 0..<templates {
        let message = (0..<14).map { word(t * 97 + $0 * 13 + 5) }.joined(separator: " ")
        let second = r * templates + t
        lines.append(
          "2026-03-01 10:\(String(format: "%02d", second / 60 % 60)):\(String(format: "%02d", second % 60)) ERROR app: \(message)"
        )
      }
    }
    return lines.joined(separator: "\n") + "\n"
  }

  static func job(_ dir: URL, context: Int, mapPrompt: String) throws -> JobSpec {
    let yaml = """
      name: budget
      inputs: [logs]
      incremental: true
      model: {engine: llama, context: \(context)}
      generation: {max_tokens: 64}
      plan: {collapse_repeats: false}
      map: {prompt: "\(mapPrompt)"}
      reduce: {prompt: "{{outputs}}\\nCombined:"}
      report: {path: out/budget.md}
      """
    return try JobFile.parse(yaml, path: "budget.yaml", baseDirectory: dir.path)
  }

  /// The map prompt of an incremental job that uses `{{templates}}` (a table of the period's
  /// 20 most frequent templates here) stays within `model.context` with its output.
  @Test func mapPromptsWithTheTemplatesTableFitTheContext() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try tmp.write("logs/app.log", Self.log(templates: 24, repeats: 12))
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    let spec = try Self.job(tmp.url, context: 2048, mapPrompt: "{{templates}}\\n{{window}}\\nSummary:")
    let engine = FakeEngine()
    let counter = EstimatedTokenCounter()
    let runner = JobRunner(
      workspace: ws, spec: spec, counter: counter, modelKey: "fake", logger: Logger(label: "test"),
      settings: RunSettings(retryBaseDelay: 0.001), engineFactory: { engine })
    let summary = try await runner.run()
    #expect(summary.failed == 0)
    let maps = engine.prompts.filter { $0.hasSuffix("Summary:") }
    #expect(maps.count >= 2, "the log should need several windows")
    // The table is really in the prompts (else this test shows nothing).
    #expect(maps.allSatisfy { $0.contains("### Templates by count") })
    let room = spec.model.context - spec.generation.maxTokens - spec.promptOverheadTokens
    for prompt in engine.prompts {
      let tokens = try counter.count(prompt)
      #expect(
        tokens <= room, "a prompt of \(tokens) tokens leaves no room for \(spec.generation.maxTokens) output tokens")
    }
  }

  /// Without `{{templates}}` in the prompt, the table costs nothing; with it, exactly its tokens.
  @Test func theWindowBudgetCountsTheVariablesThePromptUses() throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let counter = EstimatedTokenCounter()
    let table = String(repeating: "| 1 | – | `a template of some length` | [app.log#L1] |\n", count: 20)
    let plain = PromptBudget(
      spec: try Self.job(tmp.url, context: 2048, mapPrompt: "{{window}}\\nSummary:"), counter: counter)
    let without = try plain.windowBudget()
    #expect(try plain.windowBudget(templates: table) == without)
    let templated = PromptBudget(
      spec: try Self.job(tmp.url, context: 2048, mapPrompt: "{{templates}}\\n{{window}}\\nSummary:"), counter: counter)
    let with = try templated.windowBudget(templates: table)
    let prompt = try counter.count(
      PromptTemplate.fill(
        templated.spec.map.prompt,
        templated.mapValues(
          window: "", sources: "", number: 9999, count: 9999, templates: table)))
    #expect(with == 2048 - prompt - templated.reserve)
    #expect(without - with >= (try counter.count(table)) - 2)
    // The reserve is the output, the margin and the prompt format's overhead, counted once.
    #expect(plain.reserve == 64 + PromptBudget.margin && plain.promptLimit == 2048 - 64 - PromptBudget.margin)
  }

  /// A table too large for the window is cut to fewer rows rather than failing the run.
  @Test func aLargeTemplatesTableIsCutToFit() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try tmp.write("logs/app.log", Self.log(templates: 24, repeats: 12))
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    let spec = try Self.job(tmp.url, context: 1024, mapPrompt: "{{templates}}\\n{{window}}\\nSummary:")
    let engine = FakeEngine()
    let summary = try await JobRunner(
      workspace: ws, spec: spec, counter: EstimatedTokenCounter(), modelKey: "fake", logger: Logger(label: "test"),
      settings: RunSettings(retryBaseDelay: 0.001), engineFactory: { engine }
    ).run()
    #expect(summary.failed == 0)
    let map = try #require(engine.prompts.first { $0.hasSuffix("Summary:") })
    let rows = map.split(separator: "\n").filter { $0.hasPrefix("| ") && !$0.hasPrefix("| events") }
    #expect(rows.count < 20 && map.contains("more (`longctx templates` lists all)"), "\(rows.count) rows")
  }
}
