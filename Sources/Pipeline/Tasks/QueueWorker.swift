import Foundation
import Inference
import Logging
import Storage
import Synchronization

/// A worker on a shared `TaskQueue`: claims the tasks of running jobs it has the
/// engine for, runs them, validates and records their outputs, and keeps its
/// leases alive with a heartbeat. `longctx worker` is one; `longctx run` on a
/// shared workspace runs one beside its coordinator.
public final class QueueWorker: Sendable {
  /// How a worker behaves.
  public struct Options: Sendable {
    /// Tasks run at once.
    public var concurrency: Int
    /// How long a claim lasts without a heartbeat; heartbeats come three times per lease.
    public var leaseSeconds: Double
    /// Pause between looks at an empty queue.
    public var pollSeconds: Double
    /// Attempts per task before it is failed.
    public var maxAttempts: Int
    /// Tasks a lane claims at most at a time, while its tasks take under `batchUnderSeconds`.
    public var maxBatch: Int
    /// Tasks quicker than this are claimed, and their outputs recorded, several per round trip.
    public var batchUnderSeconds: Double
    /// First retry delay of a transient engine error; doubles each attempt.
    public var retryBaseDelay: Double

    public init(
      concurrency: Int = 1, leaseSeconds: Double = 30, pollSeconds: Double = 0.2, maxAttempts: Int = 3,
      retryBaseDelay: Double = 0.5, maxBatch: Int = 16, batchUnderSeconds: Double = 0.05
    ) {
      self.maxBatch = max(1, maxBatch)
      self.batchUnderSeconds = batchUnderSeconds
      self.concurrency = max(1, concurrency)
      self.leaseSeconds = leaseSeconds
      self.pollSeconds = pollSeconds
      self.maxAttempts = maxAttempts
      self.retryBaseDelay = retryBaseDelay
    }
  }

  /// What a worker did.
  public struct Counts: Sendable, Hashable {
    public var done = 0
    public var failed = 0
    public var outputTokens = 0
  }

  let queue: any TaskQueue
  public let info: WorkerInfo
  let options: Options
  let logger: Logger
  let choose: @Sendable (SharedJob) throws -> EngineChoice
  /// Where the jobs' rate limits and budgets are held; nil: none applied here.
  let ledger: (any LimitLedger)?
  private let engines = Mutex<[String: EngineBox]>([:])
  /// Each job's file as the coordinator recorded it (nil: none recorded), by job name.
  private let specs = Mutex<[String: SpecBox]>([:])
  private let counts = Mutex(Counts())

  /// A worker on `queue`.
  ///
  /// - Parameters:
  ///   - ledger: Where the jobs' `limits:` and `budget:` are held for every worker (the
  ///     shared workspace's); each task's calls are paced and paid for through it.
  ///   - choose: The engine for a job (from its job file); called once per model key.
  public init(
    queue: any TaskQueue, info: WorkerInfo = .thisProcess(), options: Options = Options(),
    ledger: (any LimitLedger)? = nil, logger: Logger, choose: @escaping @Sendable (SharedJob) throws -> EngineChoice
  ) {
    self.queue = queue
    self.ledger = ledger
    self.info = info
    self.options = options
    self.logger = logger
    self.choose = choose
  }

  /// How long its claims last without a heartbeat.
  public var leaseSeconds: Double { options.leaseSeconds }

  /// What this worker did so far.
  public var done: Counts { counts.withLock { $0 } }

  /// Works until `stop` says so (asked whenever the queue has nothing for it), or until interrupted.
  ///
  /// - Throws: `EngineError.interrupted` on SIGINT/SIGTERM, after giving its claims back.
  public func run(until stop: @escaping @Sendable () async -> Bool) async throws -> Counts {
    let heartbeat = Task { [queue, info, options, logger] in
      while !Task.isCancelled {
        do {
          try await queue.heartbeat(info, leaseSeconds: options.leaseSeconds)
        } catch {
          logger.warning("heartbeat failed: \(error.userDescription)", metadata: ["worker": "\(info.id)"])
        }
        try? await Task.sleep(nanoseconds: UInt64(options.leaseSeconds / 3 * 1e9))
      }
    }
    defer { heartbeat.cancel() }
    try await withThrowingTaskGroup(of: Void.self) { group in
      for _ in 0..<options.concurrency {
        group.addTask { try await self.lane(until: stop) }
      }
      try await group.waitForAll()
    }
    return done
  }

  /// One lane: claim tasks, run them one at a time, record their outputs, again.
  ///
  /// While tasks take milliseconds (under `Options.batchUnderSeconds`), the lane claims up to
  /// `Options.maxBatch` of them at a time and records their outputs together with the next
  /// claim: one round trip and one commit per batch. A slower task sends the lane back to one
  /// task at a time, and the rest of its batch goes back to the queue at once, so no claimed
  /// task waits behind a slow one (the leases say who is working on what).
  private func lane(until stop: @escaping @Sendable () async -> Bool) async throws {
    // An idle lane looks again after 20 ms, doubling up to `pollSeconds`, or as soon as the
    // queue announces claimable tasks: a level a coordinator has just published (the next
    // reduce level) is claimed at once, an idle fleet costs the database one query per lane
    // per `pollSeconds`.
    var idle = min(0.02, options.pollSeconds)
    // The running jobs, read again whenever a claim comes back empty or a job stopped.
    var known: [SharedJob]?
    // Tasks claimed and not yet run, in order.
    var claimed: [(QueuedTask, EngineChoice, SharedJob)] = []
    // Outputs not yet recorded, and the model key of the last (the next claim's).
    var finished = Finished()
    // How many tasks to claim at a time.
    var batch = 1
    while true {
      if Interrupt.isRequested || Task.isCancelled {
        _ = try? await record(&finished, claimingNext: 0)
        for (task, _, _) in claimed { try? await queue.release(task.id, worker: info.id) }
        if Interrupt.isRequested { throw EngineError.interrupted }
        throw CancellationError()
      }
      if !claimed.isEmpty {
        let (task, choice, job) = claimed.removeFirst()
        let clock = Date()
        let outcome: RunOutcome
        do {
          outcome = try await run(task, choice: choice, job: job)
        } catch {
          // Stopping (interrupted, no engine): what is done is recorded, what is claimed given back.
          _ = try? await record(&finished, claimingNext: 0)
          for (task, _, _) in claimed { try? await queue.release(task.id, worker: info.id) }
          throw error
        }
        if let result = outcome.result { finished.add(task.id, result, modelKey: choice.modelKey) }
        if Date().timeIntervalSince(clock) < options.batchUnderSeconds {
          batch = min(batch * 2, options.maxBatch)
        } else {
          batch = 1
          for (task, _, _) in claimed { try await queue.release(task.id, worker: info.id) }
          claimed = []
        }
        if outcome.stopped {
          known = nil
          claimed = try await running(claimed.map { $0.0 }, known: &known)
        }
        guard !finished.results.isEmpty, claimed.isEmpty || finished.waited > options.batchUnderSeconds else {
          continue
        }
        let next = try await record(&finished, claimingNext: claimed.isEmpty && !Interrupt.isRequested ? batch : 0)
        claimed += try await running(next, known: &known)
        continue
      }
      let mark = queue.mark(.claimable)
      let fresh = known == nil
      let jobs: [SharedJob]
      if let known {
        jobs = known
      } else {
        jobs = try await queue.runningJobs()
      }
      known = jobs
      for job in jobs {
        guard let choice = engine(for: job) else { continue }
        let tasks = try await queue.claim(
          worker: info.id, modelKey: choice.modelKey, limit: batch, leaseSeconds: options.leaseSeconds)
        claimed += try await running(tasks, known: &known)
        if !claimed.isEmpty { break }
      }
      if !claimed.isEmpty {
        idle = min(0.02, options.pollSeconds)
        continue
      }
      known = nil
      // Nothing for the jobs this lane knew: look at the running jobs before waiting.
      if !fresh { continue }
      if await stop() { return }
      try await queue.wait(for: .claimable, after: mark, timeout: idle)
      idle = min(idle * 2, options.pollSeconds)
    }
  }

  /// Records the outputs in `finished` (emptying it) and claims up to `limit` more tasks of their model.
  private func record(_ finished: inout Finished, claimingNext limit: Int) async throws -> [QueuedTask] {
    guard !finished.results.isEmpty else { return [] }
    let results = finished.results
    let (recorded, next) = try await queue.complete(
      results.map { (id: $0.id, result: $0.result) }, worker: info.id, claimingNext: limit,
      modelKey: finished.modelKey, leaseSeconds: options.leaseSeconds)
    finished = Finished()
    for (id, result) in results {
      if recorded.contains(id) {
        counts.withLock {
          $0.done += 1
          $0.outputTokens += result.outputTokens
        }
      } else {
        logger.warning("task \(id): lease lost before completion; another worker has it")
      }
    }
    return next
  }

  /// `tasks` with their engine and running job; those of a job no longer running (stopped at
  /// its budget) or without an engine here are given back.
  private func running(_ tasks: [QueuedTask], known: inout [SharedJob]?) async throws
    -> [(QueuedTask, EngineChoice, SharedJob)]
  {
    var kept: [(QueuedTask, EngineChoice, SharedJob)] = []
    for task in tasks {
      if let owner = try await runningJob(of: task, known: &known),
        let choice = engines.withLock({ $0[task.modelKey] })?.choice ?? engine(for: owner),
        choice.modelKey == task.modelKey
      {
        kept.append((task, choice, owner))
      } else {
        try await queue.release(task.id, worker: info.id)
      }
    }
    return kept
  }

  /// Outputs a lane has not recorded yet.
  private struct Finished {
    var results: [(id: String, result: TaskResult)] = []
    /// The model key of the last output's task: the next claim's.
    var modelKey = ""
    private var since: Date?

    /// Seconds the oldest output has waited.
    var waited: Double { since.map { Date().timeIntervalSince($0) } ?? 0 }

    mutating func add(_ id: String, _ result: TaskResult, modelKey: String) {
      if results.isEmpty { since = Date() }
      results.append((id, result))
      self.modelKey = modelKey
    }
  }

  /// The running job `task` belongs to (whose limits and budget its call is held to): the
  /// task may be another running job's with the same model than the one it was claimed for
  /// (a question's job is `JOB+NAME`). Reads the running jobs again when `known` lacks it.
  ///
  /// - Returns: nil when `task`'s job is not running.
  private func runningJob(of task: QueuedTask, known: inout [SharedJob]?) async throws -> SharedJob? {
    let parent = String(task.job.split(separator: Character(JobSpec.questionSeparator)).first ?? "")
    let owns = { (job: SharedJob) in job.name == task.job || job.name == parent }
    if let job = known?.first(where: owns) { return job }
    let jobs = try await queue.runningJobs()
    known = jobs
    return jobs.first(where: owns)
  }

  /// What became of a task a lane ran.
  private struct RunOutcome {
    /// The task's job stopped (its budget is reached): its tasks are not to be claimed.
    var stopped = false
    /// The task's output, valid, to be recorded.
    var result: TaskResult?
  }

  /// `job`'s file as its coordinator recorded it, parsed once; nil when none was recorded
  /// (a job started by a test or benchmark) or when this worker applies no limits.
  private func spec(of job: SharedJob) -> JobSpec? {
    guard ledger != nil, !job.specText.isEmpty else { return nil }
    if let box = specs.withLock({ $0[job.name] }), box.text == job.specText { return box.spec }
    var spec: JobSpec?
    do {
      spec = try JobFile.parse(
        job.specText, path: job.baseDirectory + "/\(job.name).yaml", baseDirectory: job.baseDirectory)
    } catch {
      logger.error(
        "job \(job.name): its job file does not parse here, so its limits and budget cannot be applied: \(error.userDescription)"
      )
    }
    specs.withLock { $0[job.name] = SpecBox(text: job.specText, spec: spec) }
    return spec
  }

  /// `engine` as `job`'s calls go through it here: paced by the job's `limits:`, and the
  /// budget its calls are paid from (nil: none).
  private func limited(_ engine: any Engine, choice: EngineChoice, job: SharedJob) -> (any Engine, CallBudget?) {
    guard let ledger, let spec = spec(of: job) else { return (engine, nil) }
    var engine = engine
    if spec.model.engine == .openai, let paced = engine as? any PacedEngine {
      engine = paced.paced(by: SharedPacer(ledger: ledger, limits: spec.limits))
    }
    return (engine, CallBudget(spec: spec, counter: choice.counter, ledger: ledger, owner: info.id))
  }

  /// The engine for `job`'s model, chosen once per model key; nil when it cannot be made here.
  private func engine(for job: SharedJob) -> EngineChoice? {
    // A job without a model (`ingest` on a shared workspace) has files to extract, no tasks.
    guard !job.modelKey.isEmpty else { return nil }
    if let box = engines.withLock({ $0[job.modelKey] }) { return box.choice }
    do {
      let choice = try choose(job)
      guard choice.modelKey == job.modelKey else {
        logger.error(
          "job \(job.name): this machine's engine has model key \(choice.modelKey), the job's is \(job.modelKey); not claiming its tasks"
        )
        engines.withLock { $0[job.modelKey] = EngineBox(choice: nil) }
        return nil
      }
      engines.withLock { $0[job.modelKey] = EngineBox(choice: choice) }
      return choice
    } catch {
      logger.error("job \(job.name): no engine on this machine: \(error.userDescription)")
      engines.withLock { $0[job.modelKey] = EngineBox(choice: nil) }
      return nil
    }
  }

  /// Runs a claimed task once. A failed attempt that may be retried goes back to the
  /// queue as pending (any worker may claim it again, after a backoff for transient errors).
  private func run(_ task: QueuedTask, choice: EngineChoice, job: SharedJob) async throws -> RunOutcome {
    let loaded: any Engine
    do {
      loaded = try await loadedEngine(choice)
    } catch {
      try? await queue.release(task.id, worker: info.id)
      throw error
    }
    let (engine, budget) = limited(loaded, choice: choice, job: job)
    let clock = Date()
    do {
      let result =
        if let budget {
          try await budget.generate(engine, task.request, job: task.job, task: task.id)
        } else {
          try await engine.generate(task.request)
        }
      let seconds = Date().timeIntervalSince(clock)
      if let problem = OutputValidation.problem(in: result.text, schema: task.request.jsonSchema, kind: task.kind) {
        // Invalid structured output: back to the queue at once (nothing is overloaded).
        let final = task.attempts >= options.maxAttempts
        try await queue.fail(task.id, worker: info.id, error: problem, final: final, output: result.text)
        if final { counts.withLock { $0.failed += 1 } }
        return RunOutcome()
      }
      return RunOutcome(
        result: TaskResult(
          output: result.text, promptTokens: result.promptTokens, outputTokens: result.outputTokens,
          cachedTokens: result.cachedTokens, engine: engine.name, model: engine.modelIdentity,
          durationMs: seconds * 1000))
    } catch let reached as BudgetReached {
      // Nothing was sent: the job stops for every worker (the coordinator lets the calls in
      // flight finish, then reports it), and the task waits, unattempted, for a resume.
      logger.notice("\(reached.errorDescription ?? "budget reached")", metadata: ["worker": "\(info.id)"])
      try? await queue.finishJob(job.name, run: job.run, status: JobRunner.budgetStatus)
      try? await queue.release(task.id, worker: info.id)
      return RunOutcome(stopped: true)
    } catch EngineError.interrupted {
      try? await queue.release(task.id, worker: info.id)
      throw EngineError.interrupted
    } catch let error as EngineError {
      if case .unavailable = error {
        try? await queue.release(task.id, worker: info.id)
        throw error
      }
      var retry = false
      var delay = options.retryBaseDelay * pow(2, Double(max(0, task.attempts - 1))) * Double.random(in: 0.5...1.5)
      if case .transient(_, let after) = error, task.attempts < options.maxAttempts {
        retry = true
        if let after { delay = max(delay, after) }
      }
      if retry { try await Task.sleep(nanoseconds: UInt64(delay * 1e9)) }
      try await queue.fail(task.id, worker: info.id, error: error.userDescription, final: !retry, output: nil)
      if !retry { counts.withLock { $0.failed += 1 } }
    } catch {
      try await queue.fail(task.id, worker: info.id, error: error.userDescription, final: true, output: nil)
      counts.withLock { $0.failed += 1 }
    }
    return RunOutcome()
  }

  private func loadedEngine(_ choice: EngineChoice) async throws -> any Engine {
    guard let box = engines.withLock({ $0[choice.modelKey] }) else { throw EngineError.interrupted }
    return try await box.engine.get(choice.makeEngine)
  }

  /// A job file's text and what it parsed to (nil: it did not parse; no limits applied).
  private struct SpecBox: Sendable {
    let text: String
    let spec: JobSpec?
  }

  /// A chosen engine (nil: none here for that model key), loaded on first use.
  private final class EngineBox: Sendable {
    let choice: EngineChoice?
    let engine = Pipeline.EngineBox()
    init(choice: EngineChoice?) { self.choice = choice }
  }
}
