import Foundation
import Inference
import Storage
import Synchronization

/// The scheduler: runs a level's unfinished tasks with bounded concurrency, retries
/// them, and accepts their outputs.
extension JobRunner {
  /// Runs the level's unfinished tasks; returns its done tasks in order.
  func execute(
    level: Int, kind: TaskKind, tasks: [(TaskRecord, GenerationRequest)], summary: inout RunSummary
  ) async throws -> [TaskRecord] {
    if let queue = settings.queue {
      return try await executeShared(queue, level: level, kind: kind, tasks: tasks, summary: &summary)
    }
    let stored = Dictionary(
      uniqueKeysWithValues: try store.tasks(job: spec.name, kind: kind, level: level).map { ($0.id, $0) })
    let todo = tasks.filter { stored[$0.0.id]?.state != .done }
    progress(.level(kind: kind, level: level, tasks: tasks.count, pending: todo.count))
    summary.reused += tasks.count - todo.count
    try await runConcurrently(
      todo.map { (runner: self, task: $0.0, request: $0.1) }, kind: kind, done: tasks.count - todo.count,
      total: tasks.count, summary: &summary)
    return try store.tasks(job: spec.name, kind: kind, level: level).filter { $0.state == .done }
  }

  /// Runs `order` (each task on its own job's runner: a question's, or this one) with at most
  /// `settings.concurrency` in flight, reporting each finished task; starts none after the
  /// first budget stop or an interrupt, and adds what ran to `summary`.
  ///
  /// - Throws: `EngineError.interrupted`, or the `BudgetReached` that stopped the level
  ///   once the tasks in flight have finished.
  func runConcurrently(
    _ order: [(runner: JobRunner, task: TaskRecord, request: GenerationRequest)], kind: TaskKind, done: Int,
    total: Int, summary: inout RunSummary
  ) async throws {
    var done = done
    let results = SummaryBox()
    let budgetStop = BudgetStop()
    try await withThrowingTaskGroup(of: Void.self) { group in
      var iterator = order.makeIterator()
      var running = 0
      func next() -> Bool {
        guard budgetStop.error == nil, let (runner, task, request) = iterator.next() else { return false }
        group.addTask { try await runner.runTask(task, request, results: results, budgetStop: budgetStop) }
        return true
      }
      while running < settings.concurrency, next() { running += 1 }
      while try await group.next() != nil {
        done += 1
        if let last = results.last {
          progress(
            .taskFinished(
              done: done, total: total, kind: kind, ordinal: last.ordinal, outputTokens: last.outputTokens,
              seconds: last.seconds, reused: false))
        }
        if Interrupt.isRequested {
          group.cancelAll()
          throw EngineError.interrupted
        }
        _ = next()
      }
    }
    summary.executed += results.executed
    summary.failed += results.failed
    summary.promptTokens += results.promptTokens
    summary.outputTokens += results.outputTokens
    summary.cachedTokens += results.cachedTokens
    if let reached = budgetStop.error { throw reached }
  }

  /// Records `result` as `task`'s output when it passes the task's validation (its
  /// JSON Schema), the one path by which a generated or imported output is accepted.
  ///
  /// - Returns: nil when recorded; else why the output was refused (nothing recorded).
  func accept(
    _ result: GenerationResult, for task: TaskRecord, request: GenerationRequest, engine: String, model: String,
    durationMs: Double
  ) throws -> String? {
    if let problem = OutputValidation.problem(in: result.text, schema: request.jsonSchema, kind: task.kind) {
      return problem
    }
    try store.complete(
      task.id, output: result.text, promptTokens: result.promptTokens, outputTokens: result.outputTokens,
      engine: engine, model: model, durationMs: durationMs)
    return nil
  }

  func runTask(
    _ task: TaskRecord, _ request: GenerationRequest, results: SummaryBox, budgetStop: BudgetStop
  ) async throws {
    var attempt =
      (try? store.tasks(job: spec.name, kind: task.kind, level: task.level).first { $0.id == task.id }?.attempts) ?? 0
    while true {
      if Interrupt.isRequested { throw EngineError.interrupted }
      let engine = try await engineBox.get(engineFactory)
      try store.lease(task.id, owner: "pid-\(getpid())", seconds: 3600)
      attempt += 1
      let clock = Date()
      do {
        let progress = self.progress
        let result = try await PrefillProgress.$receiver.withValue(
          PrefillReceiver { [kind = task.kind, ordinal = task.ordinal] update in
            progress(.prefill(kind: kind, ordinal: ordinal, update: update))
          }
        ) { try await generateWithinBudget(engine, request, task: task) }
        let seconds = Date().timeIntervalSince(clock)
        if let problem = try accept(
          result, for: task, request: request, engine: engine.name, model: engine.modelIdentity,
          durationMs: seconds * 1000)
        {
          // Invalid structured output: retried at once (no backoff: nothing is
          // overloaded), then failed with the raw text kept beside the error.
          let final = attempt >= settings.maxAttempts
          try store.fail(task.id, error: problem, final: final, output: result.text)
          progress(.taskFailed(kind: task.kind, ordinal: task.ordinal, error: problem, willRetry: !final))
          if final {
            results.recordFailure()
            return
          }
          continue
        }
        results.record(
          ordinal: task.ordinal, prompt: result.promptTokens, output: result.outputTokens, cached: result.cachedTokens,
          seconds: seconds)
        // Where a run's prefill goes, task by task (`longctx run --log-level debug`).
        logger.debug(
          "task done",
          metadata: [
            "job": "\(spec.name)", "task.kind": "\(task.kind.rawValue)", "task.level": "\(task.level)",
            "task.ordinal": "\(task.ordinal)", "tokens.prompt": "\(result.promptTokens)",
            "tokens.reused": "\(result.cachedTokens)",
            "tokens.computed": "\(result.promptTokens - result.cachedTokens)",
            "tokens.output": "\(result.outputTokens)",
            "seconds": "\(String(format: "%.2f", seconds))",
          ])
        return
      } catch EngineError.interrupted {
        try store.release(task.id)
        throw EngineError.interrupted
      } catch let reached as BudgetReached {
        try store.release(task.id)
        budgetStop.record(reached)
        results.recordStop()
        return
      } catch let error as EngineError {
        let message = error.userDescription
        var retry = false
        var delay = settings.retryBaseDelay * pow(2, Double(attempt - 1)) * Double.random(in: 0.5...1.5)
        if case .transient(_, let after) = error, attempt < settings.maxAttempts {
          retry = true
          if let after { delay = max(delay, after) }
        }
        if case .unavailable = error {
          try store.release(task.id)
          throw error
        }
        try store.fail(task.id, error: message, final: !retry)
        progress(.taskFailed(kind: task.kind, ordinal: task.ordinal, error: message, willRetry: retry))
        if !retry {
          results.recordFailure()
          return
        }
        try await Task.sleep(nanoseconds: UInt64(delay * 1e9))
      } catch {
        let message = error.userDescription
        try store.fail(task.id, error: message, final: true)
        progress(.taskFailed(kind: task.kind, ordinal: task.ordinal, error: message, willRetry: false))
        results.recordFailure()
        return
      }
    }
  }
}

/// Loads the engine once, on first use, so a run with nothing to do never loads a model.
final class EngineBox: Sendable {
  private let state = Mutex<(engine: (any Engine)?, loading: Task<any Engine, Error>?)>((nil, nil))

  var loaded: Bool { state.withLock { $0.engine != nil } }

  func get(_ factory: @escaping @Sendable () async throws -> any Engine) async throws -> any Engine {
    let task: Task<any Engine, Error> = state.withLock { state in
      if let loading = state.loading { return loading }
      let t = Task { try await factory() }
      state.loading = t
      return t
    }
    let e = try await task.value
    state.withLock { $0.engine = e }
    return e
  }
}

/// Per-level counters updated from concurrent tasks.
final class SummaryBox: Sendable {
  struct Last {
    var ordinal: Int
    var outputTokens: Int
    var seconds: Double
  }
  struct Counts {
    var executed = 0, failed = 0, promptTokens = 0, outputTokens = 0, cachedTokens = 0
    var last: Last?
  }
  private let counts = Mutex(Counts())

  var executed: Int { counts.withLock { $0.executed } }
  var failed: Int { counts.withLock { $0.failed } }
  var promptTokens: Int { counts.withLock { $0.promptTokens } }
  var outputTokens: Int { counts.withLock { $0.outputTokens } }
  var cachedTokens: Int { counts.withLock { $0.cachedTokens } }
  var last: Last? { counts.withLock { $0.last } }

  func record(ordinal: Int, prompt: Int, output: Int, cached: Int = 0, seconds: Double) {
    counts.withLock {
      $0.executed += 1
      $0.cachedTokens += cached
      $0.promptTokens += prompt
      $0.outputTokens += output
      $0.last = Last(ordinal: ordinal, outputTokens: output, seconds: seconds)
    }
  }

  /// A task that stopped before its call (the budget): nothing to report.
  func recordStop() { counts.withLock { $0.last = nil } }

  func recordFailure() {
    counts.withLock {
      $0.failed += 1
      $0.last = nil
    }
  }
}
