import Foundation
import Inference

/// Where rate limits and budgets are held for every process working on a job: the
/// seam between the code that paces and budgets calls (`SharedPacer`, `CallBudget`)
/// and the database that holds their state. `LimitStore` keeps it in the workspace's
/// SQLite (every process on one machine); `SharedWorkspace.PostgresLimitLedger` in
/// PostgreSQL (every worker on every machine). Times are the ledger's own clock, so
/// callers only ever see durations.
public protocol LimitLedger: Sendable {
  /// Takes the next send time for a request of `tokens` to `endpoint` under `limits`, the
  /// server's Retry-After and its remaining requests and tokens (see `RateLimitState`).
  ///
  /// - Returns: Seconds to wait before sending (0: at once).
  func admissionDelay(endpoint: String, tokens: Int, limits: JobSpec.RateLimits?) async throws -> Double
  /// Records what `endpoint` said about its limits, for every process to honour.
  func observe(endpoint: String, limits: ServerLimits) async throws
  /// `job`'s spending so far.
  func spending(for job: String) async throws -> LimitStore.Spending
  /// Reserves a call of at most `tokens` costing at most `cost` against `budget`, the check
  /// and the write under one lock.
  ///
  /// - Returns: The reservation's id, or nil (nothing written) when the call could take
  ///   `job` past its budget, with what was spent.
  func reserve(job: String, task: String?, owner: String, tokens: Int, cost: Double, budget: JobSpec.Budget)
    async throws -> (id: Int64?, spending: LimitStore.Spending)
  /// Replaces reservation `id` by what the call used.
  func settle(_ id: Int64, promptTokens: Int, outputTokens: Int, cost: Double) async throws
  /// Drops reservation `id`: the call got no answer to pay for.
  func release(reservation id: Int64) async throws
}

/// One endpoint's pacing state (a `rate_limit` row) and the rule that admits a request:
/// the same in every database that holds it.
public struct RateLimitState: Sendable, Hashable {
  /// When the next request may go under `requests_per_minute` / `tokens_per_minute`.
  public var nextRequestAt = 0.0
  public var nextTokenAt = 0.0
  /// Retry-After: no request before this.
  public var blockedUntil = 0.0
  /// The server's x-ratelimit-* view, counted down by each request admitted since.
  public var remainingRequests: Int?
  public var requestsResetAt: Double?
  public var remainingTokens: Int?
  public var tokensResetAt: Double?

  public init(
    nextRequestAt: Double = 0, nextTokenAt: Double = 0, blockedUntil: Double = 0, remainingRequests: Int? = nil,
    requestsResetAt: Double? = nil, remainingTokens: Int? = nil, tokensResetAt: Double? = nil
  ) {
    self.nextRequestAt = nextRequestAt
    self.nextTokenAt = nextTokenAt
    self.blockedUntil = blockedUntil
    self.remainingRequests = remainingRequests
    self.requestsResetAt = requestsResetAt
    self.remainingTokens = remainingTokens
    self.tokensResetAt = tokensResetAt
  }

  /// Admits a request of `tokens` at `now`: the earliest time at or after `now` that the
  /// limits, the Retry-After and the server's remaining counts allow; moves the state on past it.
  ///
  /// - Returns: The send time, on the same clock as `now`.
  public mutating func admit(tokens: Int, limits: JobSpec.RateLimits?, now: Double) -> Double {
    var slot = max(now, blockedUntil)
    if limits?.requestsPerMinute != nil { slot = max(slot, nextRequestAt) }
    if limits?.tokensPerMinute != nil { slot = max(slot, nextTokenAt) }
    if let left = remainingRequests, let reset = requestsResetAt, reset > now, left <= 0 { slot = max(slot, reset) }
    if let left = remainingTokens, let reset = tokensResetAt, reset > now, left < tokens { slot = max(slot, reset) }
    // Past its reset the server's count is unknown until its next answer says it again.
    if let reset = requestsResetAt, reset <= slot {
      remainingRequests = nil
      requestsResetAt = nil
    }
    if let reset = tokensResetAt, reset <= slot {
      remainingTokens = nil
      tokensResetAt = nil
    }
    if let rpm = limits?.requestsPerMinute { nextRequestAt = slot + 60 / rpm }
    if let tpm = limits?.tokensPerMinute { nextTokenAt = slot + Double(tokens) * 60 / tpm }
    remainingRequests = remainingRequests.map { $0 - 1 }
    remainingTokens = remainingTokens.map { $0 - tokens }
    return slot
  }
}

/// A job's budget as every process that makes its calls applies it: a call's worst case
/// (its prompt, counted or estimated from above, and `max_tokens`) is reserved in the
/// ledger before it is sent, settled at what the engine reports after, or released
/// when no answer came. `JobRunner` (one machine) and `QueueWorker` (a shared
/// workspace) both call through it.
public struct CallBudget: Sendable {
  let ledger: any LimitLedger
  let budget: JobSpec.Budget
  let prices: JobSpec.Prices
  let counter: any TokenCounter
  /// Whether `counter` counts this job's prompts exactly (a local vocabulary).
  let countsExactly: Bool
  let promptOverheadTokens: Int
  let owner: String

  /// `spec`'s budget (nil when it has none), counted with `counter`, held in `ledger`.
  public init?(spec: JobSpec, counter: any TokenCounter, ledger: any LimitLedger, owner: String) {
    guard let budget = spec.budget else { return nil }
    self.ledger = ledger
    self.budget = budget
    prices = spec.prices ?? JobSpec.Prices(promptPerMillion: 0, outputPerMillion: 0)
    self.counter = counter
    countsExactly = (spec.model.engine == .llama || spec.model.vocabulary != nil) && counter.isExact
    promptOverheadTokens = spec.promptOverheadTokens
    self.owner = owner
  }

  /// The prompt tokens a call reserves: the job's counter where it is exact and local,
  /// else the byte estimate (an upper bound), plus the prompt format's and a margin.
  public func reservedPromptTokens(_ request: GenerationRequest) -> Int {
    let text = request.prefix + request.suffix
    let counted = countsExactly ? try? counter.count(text) : nil
    return (counted ?? EstimatedTokenCounter.estimate(bytes: text.utf8.count)) + promptOverheadTokens
      + PromptBudget.margin
  }

  /// Generates `request` for `task` of `job` within the budget.
  ///
  /// - Throws: `BudgetReached` (nothing sent) when the worst case does not fit what is left;
  ///   the engine's errors (the reservation released).
  public func generate(_ engine: any Engine, _ request: GenerationRequest, job: String, task: String?) async throws
    -> GenerationResult
  {
    let prompt = reservedPromptTokens(request)
    let (id, spent) = try await ledger.reserve(
      job: job, task: task, owner: owner, tokens: prompt + request.maxTokens,
      cost: prices.cost(prompt: prompt, output: request.maxTokens), budget: budget)
    guard let id else { throw reached(job: job, spent: spent) }
    let result: GenerationResult
    do {
      result = try await engine.generate(request)
    } catch {
      try? await ledger.release(reservation: id)
      throw error
    }
    // A server that reports no usage is charged the reserved prompt and the output's estimate.
    let used = (
      prompt: result.promptTokens > 0 ? result.promptTokens : prompt,
      output: result.outputTokens > 0
        ? result.outputTokens : EstimatedTokenCounter.estimate(bytes: result.text.utf8.count)
    )
    try await ledger.settle(
      id, promptTokens: used.prompt, outputTokens: used.output,
      cost: prices.cost(prompt: used.prompt, output: used.output))
    return result
  }

  /// The error that says `job` reached this budget, having `spent` so far.
  public func reached(job: String, spent: LimitStore.Spending) -> BudgetReached {
    let limit = [budget.usd.map { prices.format($0) }, budget.tokens.map { "\($0) tokens" }].compactMap { $0 }
    let spentText = [
      budget.usd.map { _ in prices.format(spent.cost) }, budget.tokens.map { _ in "\(spent.tokens) tokens" },
    ]
    .compactMap { $0 }
    return BudgetReached(
      job: job, limit: limit.joined(separator: " / "), spent: spentText.joined(separator: " / "),
      inFlight: spent.inFlight)
  }
}

// MARK: - The workspace's SQLite

extension LimitStore: LimitLedger {
  public func admissionDelay(endpoint: String, tokens: Int, limits: JobSpec.RateLimits?) async throws -> Double {
    let now = Date().timeIntervalSince1970
    return try reserveSlot(endpoint: endpoint, tokens: tokens, limits: limits, now: now) - now
  }

  public func observe(endpoint: String, limits: ServerLimits) async throws {
    try observe(endpoint: endpoint, limits: limits, now: Date().timeIntervalSince1970)
  }

  public func spending(for job: String) async throws -> Spending {
    try spending(job: job)
  }

  public func reserve(job: String, task: String?, owner: String, tokens: Int, cost: Double, budget: JobSpec.Budget)
    async throws -> (id: Int64?, spending: Spending)
  {
    try reserve(
      job: job, task: task, owner: owner, tokens: tokens, cost: cost, budget: budget, now: Date().timeIntervalSince1970)
  }

  public func settle(_ id: Int64, promptTokens: Int, outputTokens: Int, cost: Double) async throws {
    try settle(
      id, promptTokens: promptTokens, outputTokens: outputTokens, cost: cost, now: Date().timeIntervalSince1970)
  }

  public func release(reservation id: Int64) async throws {
    try release(id)
  }
}
