import Foundation
import Inference
import Ingest

/// The one owner of a job's prompt budget: the values each prompt's variables
/// take, and the tokens every prompt keeps in reserve.
///
/// A prompt must leave room in `model.context` for its output
/// (`generation.max_tokens`), the prompt format's own tokens (a chat
/// template's turn markers) and a small margin: that is `reserve`, so a filled
/// prompt may hold `promptLimit` tokens. A map window may hold what the map
/// prompt leaves of that once every variable but `{{window}}` is filled (the
/// sources at their longest, an incremental period's `{{templates}}` table as
/// it is); a reduce group fits when its filled prompt does.
struct PromptBudget: Sendable {
  /// Tokens kept free besides the output and the prompt format's overhead.
  static let margin = 16

  let spec: JobSpec
  let counter: any TokenCounter

  /// Tokens every prompt leaves free: its output, the prompt format's overhead and the margin.
  var reserve: Int { spec.generation.maxTokens + Self.margin + spec.promptOverheadTokens }

  /// Tokens a filled prompt may hold.
  var promptLimit: Int { spec.model.context - reserve }

  // MARK: - Map

  /// The values of a map prompt's variables (see `PromptTemplate`).
  ///
  /// - Parameter templates: An incremental period's "what changed in the logs" section; empty otherwise.
  func mapValues(window: String, sources: String, number: Int, count: Int, templates: String = "") -> [String: String] {
    [
      "window": window, "sources": sources, "question": spec.question ?? "", "job": spec.jobName,
      "window_number": String(number), "window_count": String(count), "templates": templates,
    ]
  }

  /// Tokens a window may hold: `promptLimit` less the map prompt without its window
  /// (window numbers at their widest, `templates` as given).
  ///
  /// - Parameter templates: The value `{{templates}}` will take in every map prompt of the plan.
  /// - Throws: `PipelineError.windowTooSmall` when fewer than 65 tokens would be left.
  func windowBudget(templates: String = "") throws -> Int {
    let values = mapValues(window: "", sources: "", number: 9999, count: 9999, templates: templates)
    let reserved = try counter.count(PromptTemplate.fill(spec.map.prompt, values)) + reserve
    let budget = spec.model.context - reserved
    guard budget > 64 else {
      throw PipelineError.windowTooSmall(job: spec.name, reserved: reserved, context: spec.model.context)
    }
    // {{sources}} repeats each chunk's locator: give it the same room again.
    return spec.map.prompt.contains("{{sources}}") ? budget * 4 / 5 : budget
  }

  // MARK: - Reduce

  /// The values of a reduce prompt's variables over `group`'s outputs.
  func reduceValues(_ group: [TaskRecord]) -> [String: String] {
    let parts = group.enumerated().map { (i, t) in
      "### Part \(i + 1) (sources: \(t.locatorList.joined(separator: ", ")))\n\((t.output ?? "").trimmingCharacters(in: .whitespacesAndNewlines))"
    }
    return [
      "outputs": parts.joined(separator: "\n\n"),
      "sources": group.flatMap(\.locators).uniqued().citations.joined(separator: "\n"),
      "question": spec.question ?? "", "job": spec.jobName,
    ]
  }

  /// Whether the reduce prompt over `group` fits within `promptLimit`.
  func reduceFits(_ group: [TaskRecord]) throws -> Bool {
    try counter.count(PromptTemplate.fill(spec.reduce.prompt, reduceValues(group))) <= promptLimit
  }
}
