import Foundation
import Inference
import Logging
import Pipeline
import SharedWorkspace
import Workspace
import _LongctxTestSupport

/// Issue 30: the shared workspace's task queue on a real PostgreSQL server on loopback
/// (initdb'd in a temporary directory): claims per second with 1, 4 and 16 workers (each
/// with its own connections, as separate machines would be), the time a worker takes to
/// take over a dead worker's lease, and a whole job through the queue against the same
/// job on SQLite in process.
func sharedQueueBenchmark(workerCounts: [Int], tasks: Int, runs: Int) async throws {
  let logger = Logger(label: "bench")
  let server = try PostgresServer()
  defer { server.remove() }
  let location = try SharedLocation(server.url + "?sslmode=disable")
  let request = GenerationRequest(prefix: "a window of text\n", suffix: "Summary:", maxTokens: 8)
  let result = TaskResult(
    output: "a summary", promptTokens: 10, outputTokens: 3, cachedTokens: 0, engine: "e", model: "m", durationMs: 1)

  print("| workers | tasks | seconds | claims/s (each completion claims the next task: one round trip per task) |")
  print("|---|---|---|---|")
  for (round, workers) in workerCounts.enumerated() {
    let key = "bench-\(round)"
    let publisher = try await PostgresTaskQueue.open(location, logger: logger)
    try await publisher.publish(
      (0..<tasks).map {
        QueuedTask(id: "\(key)-\($0)", job: key, kind: .map, level: 0, ordinal: $0, modelKey: key, request: request)
      })
    var queues: [PostgresTaskQueue] = []
    for _ in 0..<workers { queues.append(try await PostgresTaskQueue.open(location, logger: logger)) }
    let start = Date()
    let claimed = try await withThrowingTaskGroup(of: Int.self) { group in
      for (w, queue) in queues.enumerated() {
        group.addTask {
          // As a busy worker lane does: claim, then complete each task and claim the next at once.
          var count = 0
          var next = try await queue.claim(worker: "w\(w)", modelKey: key, limit: 1, leaseSeconds: 30).first
          while let task = next {
            next = try await queue.complete(
              task.id, worker: "w\(w)", result: result, claimingNext: 1, modelKey: key, leaseSeconds: 30
            ).next.first
            count += 1
          }
          return count
        }
      }
      return try await group.reduce(0, +)
    }
    let seconds = Date().timeIntervalSince(start)
    print(String(format: "| %d | %d | %.2f | %.0f |", workers, claimed, seconds, Double(claimed) / seconds))
    for queue in queues { queue.close() }
    publisher.close()
  }

  // Takeover: A claims and dies (no more heartbeats); B polls as a worker does.
  let queue = try await PostgresTaskQueue.open(location, logger: logger)
  print("\n| lease | poll | takeover after the dead worker's claim (median of \(runs)) | beyond the lease |")
  print("|---|---|---|---|")
  for lease in [2.0, 5.0] {
    var takeovers: [Double] = []
    for run in 0..<runs {
      let key = "takeover-\(lease)-\(run)"
      try await queue.publish([
        QueuedTask(id: key, job: key, kind: .map, level: 0, ordinal: 0, modelKey: key, request: request)
      ])
      _ = try await queue.claim(worker: "dead", modelKey: key, limit: 1, leaseSeconds: lease)
      let died = Date()
      while try await queue.claim(worker: "alive", modelKey: key, limit: 1, leaseSeconds: 30).isEmpty {
        try await Task.sleep(nanoseconds: 200_000_000)  // QueueWorker.Options.pollSeconds
      }
      takeovers.append(Date().timeIntervalSince(died))
    }
    let median = takeovers.sorted()[takeovers.count / 2]
    print(String(format: "| %.0f s | 0.2 s | %.2f s | %.2f s |", lease, median, median - lease))
  }

  // The same job (fake engine: bookkeeping only) on SQLite in process and through the queue with one worker.
  let tmp = try TemporaryDirectory()
  defer { tmp.remove() }
  for f in 0..<100 {
    try tmp.write(
      "docs/f\(f).log",
      (1...50).map { "2026-01-01T00:00:00Z INFO event \($0) file \(f)" }.joined(separator: "\n") + "\n")
  }
  let spec = try JobFile.parse(
    """
    name: overhead
    inputs: [docs]
    model: {engine: llama, context: 300}
    generation: {max_tokens: 8}
    map: {prompt: "{{window}}"}
    reduce: {prompt: "{{outputs}}"}
    """, path: "overhead.yaml", baseDirectory: tmp.url.path)
  var local: [Double] = []
  var shared: [Double] = []
  var taskCount = 0
  for run in 0..<runs {
    let key = "overhead-\(run)"
    let engine = FakeEngine()
    let choice = EngineChoice(counter: EstimatedTokenCounter(), modelKey: key) { engine }
    var start = Date()
    let summary = try await JobRunner(
      workspace: try Workspace(root: tmp.url.appendingPathComponent("local-\(run)")), spec: spec, engine: choice,
      logger: logger
    ).run()
    local.append(Date().timeIntervalSince(start))
    taskCount = summary.executed

    try await queue.startJob(SharedJob(name: spec.name, modelKey: key, specText: "", baseDirectory: tmp.url.path))
    var settings = RunSettings()
    settings.queue = queue
    let worker = QueueWorker(
      queue: try await PostgresTaskQueue.open(location, logger: logger),
      options: QueueWorker.Options(pollSeconds: 0.02), logger: logger, choose: { _ in choice })
    let done = Flag()
    start = Date()
    let working = Task { try await worker.run { done.isSet } }
    _ = try await JobRunner(
      workspace: try Workspace(root: tmp.url.appendingPathComponent("shared-\(run)")), spec: spec, engine: choice,
      settings: settings, logger: logger
    ).run()
    shared.append(Date().timeIntervalSince(start))
    done.set()
    _ = try await working.value
    try await queue.finishJob(spec.name, status: "done")
  }
  let localMedian = local.sorted()[runs / 2]
  let sharedMedian = shared.sorted()[runs / 2]
  print("\n| same job, \(taskCount) tasks, fake engine (median of \(runs)) | seconds | per task |")
  print("|---|---|---|")
  print(String(format: "| SQLite, in process | %.2f | %.2f ms |", localMedian, localMedian / Double(taskCount) * 1000))
  print(
    String(
      format: "| PostgreSQL, one worker | %.2f | %.2f ms |", sharedMedian, sharedMedian / Double(taskCount) * 1000))
  print(String(format: "ratio PostgreSQL / SQLite: %.2f", sharedMedian / localMedian))
}

/// A flag set once, read from other tasks.
final class Flag: @unchecked Sendable {
  private let lock = NSLock()
  private var value = false
  var isSet: Bool { lock.withLock { value } }
  func set() { lock.withLock { value = true } }
}
