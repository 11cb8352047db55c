import Foundation
import Inference

/// A level run by workers on a shared workspace: the coordinator publishes the level's
/// unfinished tasks to the queue, waits for the workers' outcomes, and records each in
/// its own task table, so reduce levels, the report and a resume read what they always
/// read. Only the scheduling moves; what a task is, and its id, stay the same.
extension JobRunner {
  /// How often the coordinator looks at the queue for finished tasks: after 10 ms while
  /// outcomes keep coming, doubling to this while none does; sooner when the queue announces
  /// outcomes (PostgreSQL's NOTIFY).
  static let sharedPollSeconds = 0.1
  /// The status a worker gives a shared job whose budget it found reached.
  public static let budgetStatus = "budget"

  func executeShared(
    _ queue: any TaskQueue, level: Int, kind: TaskKind, tasks: [(TaskRecord, GenerationRequest)],
    summary: inout RunSummary
  ) async throws -> [TaskRecord] {
    let stored = Dictionary(
      uniqueKeysWithValues: try store.tasks(job: spec.name, kind: kind, level: level).map { ($0.id, $0) })
    let todo = tasks.filter { stored[$0.0.id]?.state != .done }
    progress(.level(kind: kind, level: level, tasks: tasks.count, pending: todo.count))
    summary.reused += tasks.count - todo.count
    var done = tasks.count - todo.count
    try await queue.publish(
      todo.map { task, request in
        QueuedTask(
          id: task.id, job: spec.name, kind: kind, level: level, ordinal: task.ordinal, modelKey: modelKey,
          request: request)
      })
    var waiting = Dictionary(uniqueKeysWithValues: todo.map { ($0.0.id, $0.0) })
    let results = SummaryBox()
    var poll = 0.01
    // Set when a worker found the job's budget reached: the tasks it left pending are not
    // waited for, the calls in flight (leased tasks) are.
    var budgetStopped = false
    while !waiting.isEmpty {
      let before = waiting.count
      var inFlight = 0
      if Interrupt.isRequested { throw EngineError.interrupted }
      let mark = queue.mark(.outcome)
      for outcome in try await queue.outcomes(ids: Array(waiting.keys)) {
        guard let task = waiting[outcome.id] else { continue }
        switch outcome.state {
        case .done:
          guard let r = outcome.result else { continue }
          try store.complete(
            task.id, output: r.output, promptTokens: r.promptTokens, outputTokens: r.outputTokens, engine: r.engine,
            model: r.model, durationMs: r.durationMs)
          try store.setAttempts(task.id, outcome.attempts)
          results.record(
            ordinal: task.ordinal, prompt: r.promptTokens, output: r.outputTokens, cached: r.cachedTokens,
            seconds: r.durationMs / 1000)
          done += 1
          progress(
            .taskFinished(
              done: done, total: tasks.count, kind: kind, ordinal: task.ordinal, outputTokens: r.outputTokens,
              seconds: r.durationMs / 1000, reused: false))
        case .failed:
          let error = outcome.error ?? "failed on worker \(outcome.worker ?? "?")"
          try store.fail(task.id, error: error, final: true, output: outcome.output)
          try store.setAttempts(task.id, outcome.attempts)
          results.recordFailure()
          progress(.taskFailed(kind: kind, ordinal: task.ordinal, error: error, willRetry: false))
        case .leased:
          inFlight += 1
          continue
        case .pending:
          continue
        }
        waiting[outcome.id] = nil
      }
      if budgetStopped && inFlight == 0 { break }
      if !waiting.isEmpty && waiting.count == before && !budgetStopped && spec.budget != nil {
        budgetStopped = try await queue.jobStatus(spec.jobName, run: settings.run) == Self.budgetStatus
        if budgetStopped { continue }
      }
      if !waiting.isEmpty {
        poll = waiting.count < before ? 0.01 : min(poll * 2, Self.sharedPollSeconds)
        try await queue.wait(for: .outcome, after: mark, timeout: poll)
      }
    }
    summary.executed += results.executed
    summary.failed += results.failed
    summary.promptTokens += results.promptTokens
    summary.outputTokens += results.outputTokens
    summary.cachedTokens += results.cachedTokens
    if budgetStopped, let budget = callBudget {
      throw budget.reached(job: spec.name, spent: try await ledger.spending(for: spec.name))
    }
    return try store.tasks(job: spec.name, kind: kind, level: level).filter { $0.state == .done }
  }
}

extension TaskStore {
  /// Records the attempts a task took on the shared workspace's workers.
  func setAttempts(_ id: String, _ attempts: Int) throws {
    try workspace.db.write { db in
      try db.execute(sql: "UPDATE task SET attempts = ? WHERE id = ?", arguments: [attempts, id])
    }
  }
}
