import Foundation
import Inference
import Synchronization
import Workspace

/// The job reached its `budget:`: nothing more was sent; what is done is saved.
public struct BudgetReached: Error, LocalizedError, Sendable, Equatable {
  public var job: String
  /// The limit as the job file gives it, e.g. `$40.0000` or `2000 tokens`.
  public var limit: String
  /// What was spent (settled calls) and reserved (calls in flight) when the next call did not fit.
  public var spent: String
  /// Calls reserved and not settled at that moment (in flight in some process, or lost by a killed one).
  public var inFlight: Int

  public var errorDescription: String? {
    "job \(job) reached its budget of \(limit) (spent \(spent)\(inFlight > 0 ? ", counting \(inFlight) call\(inFlight == 1 ? "" : "s") in flight at \(inFlight == 1 ? "its" : "their") reservation" : "")); no further call was sent. Raise budget: in the job file and run it again to resume: finished tasks are not paid for again."
  }
}

/// Rate limits and budgets around the engine: requests paced per endpoint
/// (`SharedPacer`), calls reserved before and settled after (`LimitStore`).
extension JobRunner {
  /// `factory`'s engine, paced through the workspace when it sends requests to servers.
  static func pacing(
    _ factory: @escaping @Sendable () async throws -> any Engine, workspace: Workspace, spec: JobSpec
  ) -> @Sendable () async throws -> any Engine {
    guard spec.model.engine == .openai else { return factory }
    let pacer = SharedPacer(store: LimitStore(workspace: workspace), limits: spec.limits)
    return {
      let engine = try await factory()
      return (engine as? any PacedEngine)?.paced(by: pacer) ?? engine
    }
  }

  /// Generates `request` for `task` within the job's budget: reserves the call's worst case
  /// (its prompt, counted or estimated from above, and `max_tokens`), then settles it at what
  /// the engine reports, or releases it when no answer came.
  ///
  /// - Throws: `BudgetReached` (nothing sent) when the worst case does not fit what is left.
  func generateWithinBudget(_ engine: any Engine, _ request: GenerationRequest, task: TaskRecord) async throws
    -> GenerationResult
  {
    guard let budget = spec.budget else { return try await engine.generate(request) }
    let store = LimitStore(workspace: workspace)
    let prices = spec.prices ?? JobSpec.Prices(promptPerMillion: 0, outputPerMillion: 0)
    let prompt = reservedPromptTokens(request)
    let (id, spent) = try store.reserve(
      job: spec.name, task: task.id, owner: "pid-\(getpid())", tokens: prompt + request.maxTokens,
      cost: prices.cost(prompt: prompt, output: request.maxTokens), budget: budget, now: Date().timeIntervalSince1970)
    guard let id else {
      let limit = [budget.usd.map { prices.format($0) }, budget.tokens.map { "\($0) tokens" }].compactMap { $0 }
      let spentText = [
        budget.usd.map { _ in prices.format(spent.cost) }, budget.tokens.map { _ in "\(spent.tokens) tokens" },
      ]
      .compactMap { $0 }
      throw BudgetReached(
        job: spec.name, limit: limit.joined(separator: " / "), spent: spentText.joined(separator: " / "),
        inFlight: spent.inFlight)
    }
    let result: GenerationResult
    do {
      result = try await engine.generate(request)
    } catch {
      try? store.release(id)
      throw error
    }
    // A server that reports no usage is charged the reserved prompt and the output's estimate.
    let used = (
      prompt: result.promptTokens > 0 ? result.promptTokens : prompt,
      output: result.outputTokens > 0
        ? result.outputTokens : EstimatedTokenCounter.estimate(bytes: result.text.utf8.count)
    )
    try store.settle(
      id, promptTokens: used.prompt, outputTokens: used.output,
      cost: prices.cost(prompt: used.prompt, output: used.output),
      now: Date().timeIntervalSince1970)
    return result
  }

  /// The prompt tokens a call reserves: the job's counter where it is exact and local,
  /// else the byte estimate (an upper bound), plus the prompt format's and a margin.
  func reservedPromptTokens(_ request: GenerationRequest) -> Int {
    let text = request.prefix + request.suffix
    let local = spec.model.engine == .llama || spec.model.vocabulary != nil
    let counted = local && counter.isExact ? try? counter.count(text) : nil
    return (counted ?? EstimatedTokenCounter.estimate(bytes: text.utf8.count)) + spec.promptOverheadTokens
      + PromptBudget.margin
  }
}

/// The first `BudgetReached` of a level: the scheduler starts no task after it and lets
/// the ones in flight finish.
final class BudgetStop: Sendable {
  private let reached = Mutex<BudgetReached?>(nil)

  var error: BudgetReached? { reached.withLock { $0 } }

  func record(_ error: BudgetReached) { reached.withLock { $0 = $0 ?? error } }
}
