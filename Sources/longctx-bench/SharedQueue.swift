import Foundation
import Inference
import Logging
import Pipeline
import SharedWorkspace
import Storage
import _LongctxTestSupport

/// Issue 30: the shared workspace's task queue on a real PostgreSQL server on loopback
/// (initdb'd in a temporary directory): claims per second with 1, 4 and 16 workers (each
/// with its own connections, as separate machines would be), one task per round trip and a
/// batch per round trip (as a worker lane does while its tasks take milliseconds), the time a
/// worker takes to take over a dead worker's lease, and a whole job through the queue against
/// the same job on SQLite in process.
///
/// - Parameter durable: Run the server with PostgreSQL's defaults for durability (`fsync`,
///   `synchronous_commit` and `full_page_writes` on: every commit waits for its WAL flush, as
///   on a user's server) instead of the test servers' `off`.
func sharedQueueBenchmark(workerCounts: [Int], tasks: Int, runs: Int, durable: Bool = false) async throws {
  let logger = Logger(label: "bench")
  let server = try PostgresServer(
    settings: durable ? ["fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"] : [:])
  defer { server.remove() }
  let location = try SharedLocation(server.url + "?sslmode=disable")
  let request = GenerationRequest(prefix: "a window of text\n", suffix: "Summary:", maxTokens: 8)
  let result = TaskResult(
    output: "a summary", promptTokens: 10, outputTokens: 3, cachedTokens: 0, engine: "e", model: "m", durationMs: 1)
  print(
    durable
      ? "server: fsync, synchronous_commit and full_page_writes on (PostgreSQL's defaults)"
      : "server: fsync, synchronous_commit and full_page_writes off (the test servers' settings)")

  // The floor: round trips of a statement that does nothing, on one connection.
  let database = try await SharedDatabase(location, schemas: [], logger: logger)
  let trips = 2000
  var clock = Date()
  for _ in 0..<trips { try await database.withRetry("floor") { try await $0.query("SELECT 1", logger: logger) } }
  let floor = Double(trips) / Date().timeIntervalSince(clock)
  database.close()
  print(String(format: "round trips of SELECT 1 on one connection: %.0f/s", floor))

  print("\n| workers | tasks per round trip | tasks | seconds | claims/s |")
  print("|---|---|---|---|---|")
  for batch in [1, 16] {
    for (round, workers) in workerCounts.enumerated() {
      let key = "bench-\(batch)-\(round)"
      let publisher = try await PostgresTaskQueue.open(location, logger: logger)
      try await publisher.publish(
        (0..<tasks).map {
          QueuedTask(id: "\(key)-\($0)", job: key, kind: .map, level: 0, ordinal: $0, modelKey: key, request: request)
        })
      var queues: [PostgresTaskQueue] = []
      for _ in 0..<workers { queues.append(try await PostgresTaskQueue.open(location, logger: logger)) }
      clock = Date()
      let claimed = try await withThrowingTaskGroup(of: Int.self) { group in
        for (w, queue) in queues.enumerated() {
          group.addTask {
            // As a busy worker lane does: claim, then record the outputs of what it claimed and
            // claim the next ones in the same statement.
            var count = 0
            var next = try await queue.claim(worker: "w\(w)", modelKey: key, limit: batch, leaseSeconds: 30)
            while !next.isEmpty {
              count += next.count
              next = try await queue.complete(
                next.map { (id: $0.id, result: result) }, worker: "w\(w)", claimingNext: batch, modelKey: key,
                leaseSeconds: 30
              ).next
            }
            return count
          }
        }
        return try await group.reduce(0, +)
      }
      let seconds = Date().timeIntervalSince(clock)
      print(
        String(format: "| %d | %d | %d | %.2f | %.0f |", workers, batch, claimed, seconds, Double(claimed) / seconds))
      for queue in queues { queue.close() }
      publisher.close()
    }
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
    let workerQueue = try await PostgresTaskQueue.open(location, logger: logger)
    let worker = QueueWorker(
      queue: workerQueue,
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
    workerQueue.close()
    try await queue.finishJob(spec.name, status: "done")
  }
  queue.close()
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
