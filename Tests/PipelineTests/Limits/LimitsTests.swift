import Foundation
import Inference
import Logging
import Storage
import Synchronization
import Testing
import _LongctxTestSupport

@testable import Pipeline

/// Rate limits and budgets held in the workspace's database: the pacer's send times, the
/// job file's sections, and budgets that runners racing on one workspace cannot overshoot.
@Suite struct LimitsTests {
  // MARK: - Job file

  static let head = """
    name: hosted
    inputs: [docs]
    model: {engine: openai, base_url: "http://127.0.0.1:1/v1", context: 400}
    generation: {max_tokens: 16}
    map: {prompt: "{{window}}"}
    reduce: {prompt: "{{outputs}}"}
    """

  @Test func readsLimitsPricingAndBudget() throws {
    let spec = try JobFile.parse(
      Self.head + """

        limits: {requests_per_minute: 120, tokens_per_minute: 90000}
        pricing: {input_per_million: 0.15, output_per_million: 0.6}
        budget: {usd: 40, tokens: 2000000}
        """, path: "j.yaml", baseDirectory: "/tmp")
    #expect(spec.limits == JobSpec.RateLimits(requestsPerMinute: 120, tokensPerMinute: 90000))
    #expect(spec.prices == JobSpec.Prices(promptPerMillion: 0.15, outputPerMillion: 0.6))
    #expect(spec.budget == JobSpec.Budget(usd: 40, tokens: 2_000_000))
    #expect(spec.prices!.cost(prompt: 1_000_000, output: 500_000) == 0.45)
    #expect(spec.prices!.format(0.45) == "$0.4500")
  }

  @Test func refusesWhatCannotHold() throws {
    let cases: [(String, String)] = [
      ("budget: {usd: 40}", "budget.usd (line 7): needs prices"),
      ("budget: {}", "budget (line 7): needs usd or tokens"),
      ("limits: {requests_per_minute: 0}", "limits.requests_per_minute (line 7): must be a positive number"),
      ("limits: {rpm: 3}", "limits.rpm (line 7): unknown key"),
      (
        "pricing: {input_per_million: 1}\nreport: {prices: {prompt_per_million: 1}}",
        "pricing (line 7): and report.prices say the same thing"
      ),
    ]
    for (yaml, expected) in cases {
      let error = #expect(throws: PipelineError.self) {
        try JobFile.parse(Self.head + "\n" + yaml, path: "j.yaml", baseDirectory: "/tmp")
      }
      guard case .jobInvalid(_, let problems)? = error else { continue }
      #expect(problems.contains { $0.hasPrefix(expected) }, "\(yaml): \(problems)")
    }
    let local = Self.head.replacingOccurrences(
      of: "engine: openai, base_url: \"http://127.0.0.1:1/v1\"", with: "engine: llama")
    #expect(throws: PipelineError.self) {
      try JobFile.parse(local + "\nlimits: {requests_per_minute: 60}", path: "j.yaml", baseDirectory: "/tmp")
    }
  }

  // MARK: - Rate limits in the database

  @Test func slotsAreSpacedAcrossTwoConnections() throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    // Two Workspace values: two connection pools, as two processes would have.
    let a = LimitStore(workspace: try Workspace(root: tmp.url))
    let b = LimitStore(workspace: try Workspace(root: tmp.url))
    let limits = JobSpec.RateLimits(requestsPerMinute: 120)
    var slots: [Double] = []
    for i in 0..<6 {
      slots.append(try (i % 2 == 0 ? a : b).reserveSlot(endpoint: "http://x/v1", tokens: 10, limits: limits, now: 1000))
    }
    #expect(slots == [1000, 1000.5, 1001, 1001.5, 1002, 1002.5])
    // Tokens per minute: a 600-token request at 6,000/min holds the next one back 6 s.
    let t = JobSpec.RateLimits(tokensPerMinute: 6000)
    #expect(try a.reserveSlot(endpoint: "http://y/v1", tokens: 600, limits: t, now: 50) == 50)
    #expect(try b.reserveSlot(endpoint: "http://y/v1", tokens: 100, limits: t, now: 51) == 56)
    // Another endpoint is not held back.
    #expect(try a.reserveSlot(endpoint: "http://z/v1", tokens: 10, limits: limits, now: 1000) == 1000)
  }

  @Test func serverRetryAfterAndRemainingCountsHoldEveryone() throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let a = LimitStore(workspace: try Workspace(root: tmp.url))
    let b = LimitStore(workspace: try Workspace(root: tmp.url))
    try a.observe(endpoint: "e", limits: ServerLimits(retryAfter: 7), now: 100)
    #expect(try b.reserveSlot(endpoint: "e", tokens: 1, limits: nil, now: 101) == 107)
    // Two requests left until the reset in 30 s: the third waits for it.
    try a.observe(endpoint: "f", limits: ServerLimits(remainingRequests: 2, requestsReset: 30), now: 200)
    #expect(try a.reserveSlot(endpoint: "f", tokens: 1, limits: nil, now: 200) == 200)
    #expect(try b.reserveSlot(endpoint: "f", tokens: 1, limits: nil, now: 201) == 201)
    #expect(try a.reserveSlot(endpoint: "f", tokens: 1, limits: nil, now: 202) == 230)
    // Tokens: 500 left; a 600-token request waits for the token reset.
    try a.observe(endpoint: "g", limits: ServerLimits(remainingTokens: 500, tokensReset: 12), now: 300)
    #expect(try b.reserveSlot(endpoint: "g", tokens: 600, limits: nil, now: 300) == 312)
  }

  // MARK: - Budgets

  /// Answers after a pause, reporting the byte estimate of its prompt and a full output.
  final class SlowEngine: Engine {
    let name = "slow"
    let modelIdentity = "slow-model"
    let count = Mutex(0)
    var calls: Int { count.withLock { $0 } }

    func generate(_ request: GenerationRequest) async throws -> GenerationResult {
      count.withLock { $0 += 1 }
      try await Task.sleep(nanoseconds: 40_000_000)
      let prompt = request.prefix + request.suffix
      return GenerationResult(
        text: "summary \(Hashing.FNV1a.hash(prompt.utf8))",
        promptTokens: EstimatedTokenCounter.estimate(bytes: prompt.utf8.count), outputTokens: request.maxTokens)
    }
  }

  static func job(_ dir: URL, budget: String) throws -> JobSpec {
    let yaml = """
      name: budgeted
      inputs: [docs]
      model: {engine: llama, context: 400}
      generation: {max_tokens: 16}
      plan: {collapse_repeats: false}
      map: {prompt: "{{window}}\\nSummary:"}
      reduce: {prompt: "{{outputs}}\\nCombined:"}
      pricing: {input_per_million: 2, output_per_million: 8}
      budget: \(budget)
      """
    return try JobFile.parse(yaml, path: "budgeted.yaml", baseDirectory: dir.path)
  }

  func runner(_ ws: Workspace, _ spec: JobSpec, _ engine: any Engine, concurrency: Int = 1) -> JobRunner {
    JobRunner(
      workspace: ws, spec: spec, counter: EstimatedTokenCounter(), modelKey: "slow", logger: Logger(label: "test"),
      settings: RunSettings(retryBaseDelay: 0.001, concurrency: concurrency), engineFactory: { engine })
  }

  @Test func twoRunnersRacingNeverOvershootTheBudget() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try JobRunnerTests.corpus(in: tmp, files: 6)
    let root = tmp.url.appendingPathComponent("ws")
    let budget = 1200
    let spec = try Self.job(tmp.url, budget: "{tokens: \(budget)}")
    // Ingest and plan once, so both runners race on calls only.
    _ = try await runner(try Workspace(root: root), spec, SlowEngine()).prepare()
    let engines = [SlowEngine(), SlowEngine()]
    let runners = [
      runner(try Workspace(root: root), spec, engines[0], concurrency: 3),
      runner(try Workspace(root: root), spec, engines[1], concurrency: 3),
    ]
    let outcomes = await withTaskGroup(of: (any Error)?.self) { group in
      for r in runners {
        group.addTask {
          do {
            _ = try await r.run()
            return nil
          } catch { return error }
        }
      }
      return await group.reduce(into: [(any Error)?]()) { $0.append($1) }
    }
    #expect(outcomes.allSatisfy { $0 is BudgetReached }, "\(outcomes)")
    let spent = try LimitStore(workspace: try Workspace(root: root)).spending(job: "budgeted")
    let calls = engines[0].calls + engines[1].calls
    #expect(spent.inFlight == 0)
    #expect(spent.settled == calls)
    #expect(calls >= 2 && calls <= 4, "a few calls of about 300 tokens each fit in \(budget): \(calls)")
    #expect(spent.tokens <= budget, "settled \(spent.tokens) of \(budget)")
  }

  @Test func reachingTheBudgetStopsAndRaisingItResumesWithoutRedoingCalls() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try JobRunnerTests.corpus(in: tmp, files: 6)
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    let first = SlowEngine()
    let tight = try Self.job(tmp.url, budget: "{usd: 0.002}")
    let error = await #expect(throws: BudgetReached.self) { try await runner(ws, tight, first).run() }
    #expect(error?.limit == "$0.0020")
    #expect(error?.errorDescription?.contains("Raise budget: in the job file") == true)
    let done = try TaskStore(workspace: ws).currentTasks(job: "budgeted").filter { $0.state == .done }.count
    #expect(done == first.calls && done > 0)
    let afterFirst = try LimitStore(workspace: ws).spending(job: "budgeted")
    #expect(afterFirst.cost <= 0.002)
    #expect(try TaskStore(workspace: ws).currentTasks(job: "budgeted").allSatisfy { $0.state != .leased })

    let second = SlowEngine()
    let summary = try await runner(ws, try Self.job(tmp.url, budget: "{usd: 1}"), second).run()
    #expect(summary.failed == 0)
    #expect(summary.reused == done)
    let tasks = try TaskStore(workspace: ws).currentTasks(job: "budgeted")
    #expect(tasks.allSatisfy { $0.state == .done })
    #expect(first.calls + second.calls == tasks.count, "no call was made twice")
    #expect(try LimitStore(workspace: ws).spending(job: "budgeted").settled == tasks.count)
  }

  @Test func costEstimateCountsThePlansCalls() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try JobRunnerTests.corpus(in: tmp, files: 6)
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    let engine = SlowEngine()
    let r = runner(ws, try Self.job(tmp.url, budget: "{usd: 1}"), engine)
    let plan = try await r.preview()
    let estimate = try r.estimateCost(of: plan)
    #expect(estimate.mapCalls == plan.windows.count)
    #expect(estimate.reduceCalls >= 1)
    #expect(estimate.mapInputTokens >= plan.totalTokens)
    #expect(estimate.maxOutputTokens == estimate.calls * 16)
    let cost = (Double(estimate.inputTokens) * 2 + Double(estimate.maxOutputTokens) * 8) / 1e6
    #expect(abs(estimate.maxCost! - cost) < 1e-12)
    #expect(estimate.fitsBudget == true)
    // The run makes at most the estimate's calls and pays at most its cost.
    let summary = try await r.run()
    #expect(summary.executed <= estimate.calls)
    #expect(try LimitStore(workspace: ws).spending(job: "budgeted").cost <= estimate.maxCost!)
    #expect(engine.calls == summary.executed)
  }
}

extension LimitsTests {
  /// Answers without reporting usage, as some servers do.
  final class SilentEngine: Engine {
    let name = "silent"
    let modelIdentity = "silent-model"
    func generate(_ request: GenerationRequest) async throws -> GenerationResult {
      GenerationResult(text: "a summary of twenty-four", promptTokens: 0, outputTokens: 0)
    }
  }

  @Test func aServerReportingNoUsageIsChargedItsReservation() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try JobRunnerTests.corpus(in: tmp, files: 2)
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    let summary = try await runner(ws, try Self.job(tmp.url, budget: "{tokens: 100000}"), SilentEngine()).run()
    let spent = try LimitStore(workspace: ws).spending(job: "budgeted")
    #expect(spent.settled == summary.executed)
    // Each call: at least its prompt's estimate, and the output's (24 bytes: 9 tokens).
    #expect(spent.tokens >= summary.executed * (100 + 9), "\(spent.tokens) tokens for \(summary.executed) calls")
  }
}
