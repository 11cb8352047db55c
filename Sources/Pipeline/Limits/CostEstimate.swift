import Foundation
import Inference
import Ingest
import Segmenter

/// What a plan will cost before it runs (`longctx plan --cost`): its calls, their input
/// tokens and at most how many output tokens, priced with the job's `pricing:`.
///
/// Map calls are counted from the plan (each window's prompt as the run fills it); the
/// reduce tree is simulated with every output at `generation.max_tokens`, so the reduce
/// figures, and all output figures, are upper bounds.
public struct CostEstimate: Codable, Sendable, Hashable {
  public var mapCalls = 0
  public var reduceCalls = 0
  public var mapInputTokens = 0
  public var reduceInputTokens = 0
  /// Output tokens if every call writes `generation.max_tokens`.
  public var maxOutputTokens = 0
  /// Whether the input counts are the model's exact counts.
  public var exactTokens = true
  /// At most this much, in `currency`; nil without prices.
  public var maxCost: Double?
  /// Map calls at their input price with every output at its maximum.
  public var mapCost: Double?
  public var currency: String?
  /// The job's budget and what it has spent so far in this workspace.
  public var budget: JobSpec.Budget?
  public var spent: LimitStore.Spending?

  public var calls: Int { mapCalls + reduceCalls }
  public var inputTokens: Int { mapInputTokens + reduceInputTokens }

  /// Whether the estimate fits what is left of the budget (nil: no budget).
  public var fitsBudget: Bool? {
    guard let budget else { return nil }
    let spent = spent ?? LimitStore.Spending()
    if let tokens = budget.tokens, spent.tokens + inputTokens + maxOutputTokens > tokens { return false }
    if let usd = budget.usd, let maxCost, spent.cost + maxCost > usd { return false }
    return true
  }
}

extension JobRunner {
  /// The cost of running `plan` under this job (see `CostEstimate`).
  public func estimateCost(of plan: Plan) throws -> CostEstimate {
    let prompts = self.budget
    var estimate = CostEstimate(exactTokens: counter.isExact)
    let overhead = spec.promptOverheadTokens
    let maxTokens = spec.generation.maxTokens
    // The map prompt around a window: counted once; the window's sources, together.
    let template = try counter.count(
      PromptTemplate.fill(
        spec.map.prompt,
        prompts.mapValues(window: "", sources: "", number: plan.windows.count, count: plan.windows.count)))
    let sources = plan.windows.map { $0.locators.compacted().citations.joined(separator: "\n") }
    let sourceTokens = try counter.counts(sources)
    let mapSources = spec.map.prompt.contains("{{sources}}")
    var parts: [(tokens: Int, sources: Int)] = []
    for (window, sourceCount) in zip(plan.windows, sourceTokens) {
      estimate.mapCalls += 1
      estimate.mapInputTokens += template + window.tokens + (mapSources ? sourceCount : 0) + overhead
      estimate.maxOutputTokens += maxTokens
      parts.append((maxTokens + sourceCount + 8, sourceCount))  // "### Part N (sources: …)" and the output
    }
    // The reduce tree, grouped as `reduceGroups` does, with every output at its maximum.
    let reduceTemplate = try counter.count(
      PromptTemplate.fill(
        spec.reduce.prompt, ["outputs": "", "sources": "", "question": spec.question ?? "", "job": spec.name]))
    let reduceSources = spec.reduce.prompt.contains("{{sources}}")
    func size(_ group: [(tokens: Int, sources: Int)]) -> Int {
      reduceTemplate + group.reduce(0) { $0 + $1.tokens + (reduceSources ? $1.sources : 0) }
    }
    while parts.count > 1 {
      var groups: [[(tokens: Int, sources: Int)]] = []
      var current: [(tokens: Int, sources: Int)] = []
      for part in parts {
        if current.count >= 2, size(current + [part]) > prompts.promptLimit {
          groups.append(current)
          current = [part]
        } else {
          current.append(part)
        }
      }
      if !current.isEmpty { groups.append(current) }
      if groups.count == parts.count {
        groups = stride(from: 0, to: parts.count, by: 2).map { Array(parts[$0..<min($0 + 2, parts.count)]) }
      }
      parts = groups.map { group in
        estimate.reduceCalls += 1
        estimate.reduceInputTokens += size(group) + overhead
        estimate.maxOutputTokens += maxTokens
        let groupSources = group.reduce(0) { $0 + $1.sources }
        return (maxTokens + groupSources + 8, groupSources)
      }
    }
    if let prices = spec.prices {
      estimate.currency = prices.currency
      estimate.maxCost = prices.cost(prompt: estimate.inputTokens, output: estimate.maxOutputTokens)
      estimate.mapCost = prices.cost(prompt: estimate.mapInputTokens, output: estimate.mapCalls * maxTokens)
    }
    if let jobBudget = spec.budget {
      estimate.budget = jobBudget
      estimate.spent = try LimitStore(workspace: workspace).spending(job: spec.name)
    }
    return estimate
  }
}
