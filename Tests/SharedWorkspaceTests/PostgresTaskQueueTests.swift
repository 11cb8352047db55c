import Foundation
import Inference
import Logging
import Pipeline
import SharedWorkspace
import Storage
import Testing
import _LongctxTestSupport

/// The task queue on a real PostgreSQL server (initdb'd per suite run in a temporary directory).
@Suite(.serialized, .enabled(if: PostgresServer.unavailable == nil, "PostgreSQL server binaries are absent"))
struct PostgresTaskQueueTests {
  static let logger = Logger(label: "test.pg")

  static func request(_ n: Int) -> GenerationRequest {
    GenerationRequest(prefix: "window \(n)\n", suffix: "Summary:", maxTokens: 8)
  }

  static func tasks(_ count: Int, job: String = "j", key: String = "k") -> [QueuedTask] {
    (0..<count).map {
      QueuedTask(id: "\(job)-t\($0)", job: job, kind: .map, level: 0, ordinal: $0, modelKey: key, request: request($0))
    }
  }

  static func result(_ text: String) -> TaskResult {
    TaskResult(output: text, promptTokens: 3, outputTokens: 2, cachedTokens: 0, engine: "e", model: "m", durationMs: 1)
  }

  @Test func claimsAreExclusiveAndOnlyTheHolderCompletes() async throws {
    let server = try PostgresServer()
    defer { server.remove() }
    let queue = try await PostgresTaskQueue.open(try SharedLocation(server.url), logger: Self.logger)
    try await queue.publish(Self.tasks(10))
    // Publishing again changes nothing (same ids).
    try await queue.publish(Self.tasks(10))
    async let a = queue.claim(worker: "A", modelKey: "k", limit: 4, leaseSeconds: 30)
    async let b = queue.claim(worker: "B", modelKey: "k", limit: 4, leaseSeconds: 30)
    let (claimedA, claimedB) = try await (a, b)
    #expect(claimedA.count == 4 && claimedB.count == 4)
    #expect(Set(claimedA.map(\.id)).isDisjoint(with: claimedB.map(\.id)))
    #expect(claimedA.allSatisfy { $0.attempts == 1 })
    #expect(claimedA[0].request == Self.request(claimedA[0].ordinal), "the request survives the round trip")
    // Another model's workers see nothing; the rest go to the next claim, then nothing is left.
    #expect(try await queue.claim(worker: "C", modelKey: "other", limit: 10, leaseSeconds: 30).isEmpty)
    #expect(try await queue.claim(worker: "C", modelKey: "k", limit: 10, leaseSeconds: 30).count == 2)
    #expect(try await queue.claim(worker: "C", modelKey: "k", limit: 10, leaseSeconds: 30).isEmpty)

    let first = claimedA[0].id
    #expect(try await queue.complete(first, worker: "B", result: Self.result("stolen")) == false)
    #expect(try await queue.complete(first, worker: "A", result: Self.result("out 0")) == true)
    // A repeated completion by the holder (a retry after a lost connection) is acknowledged and changes nothing.
    #expect(try await queue.complete(first, worker: "A", result: Self.result("again")) == true)
    let outcome = try await queue.outcomes(ids: [first, claimedB[0].id])
    let done = try #require(outcome.first { $0.id == first })
    #expect(done.state == .done && done.result?.output == "out 0" && done.worker == "A")
    #expect(outcome.first { $0.id == claimedB[0].id }?.state == .leased)

    // A failed attempt goes back to pending; a final one stays failed until published again.
    try await queue.fail(claimedB[0].id, worker: "B", error: "boom", final: true, output: "raw")
    try await queue.release(claimedB[1].id, worker: "B")
    let after = try await queue.outcomes(ids: [claimedB[0].id, claimedB[1].id])
    #expect(after.first { $0.id == claimedB[0].id }?.state == .failed)
    #expect(after.first { $0.id == claimedB[0].id }?.output == "raw")
    #expect(after.first { $0.id == claimedB[1].id }?.state == .pending)
    #expect(after.first { $0.id == claimedB[1].id }?.attempts == 0, "a release does not count the attempt")
    try await queue.publish(Self.tasks(10))
    #expect(try await queue.outcomes(ids: [claimedB[0].id]).first?.state == .pending, "a new run retries failures")
  }

  @Test func aCompletionClaimsTheNextTaskInTheSameRoundTrip() async throws {
    let server = try PostgresServer()
    defer { server.remove() }
    let queue = try await PostgresTaskQueue.open(try SharedLocation(server.url), logger: Self.logger)
    try await queue.publish(Self.tasks(3))
    let first = try #require(try await queue.claim(worker: "A", modelKey: "k", limit: 1, leaseSeconds: 30).first)
    #expect(first.ordinal == 0)
    // Another worker's lease on the next task is left alone: A gets the one after it.
    #expect(try await queue.claim(worker: "B", modelKey: "k", limit: 1, leaseSeconds: 30).first?.ordinal == 1)
    // The listener rings once when it starts listening: from then on, rings are notifications.
    let start = queue.mark(.outcome)
    try await queue.wait(for: .outcome, after: start, timeout: 5)
    let outcome = queue.mark(.outcome)
    #expect(outcome != start, "listening")
    let (recorded, next) = try await queue.complete(
      first.id, worker: "A", result: Self.result("out 0"), claimingNext: 1, modelKey: "k", leaseSeconds: 30)
    #expect(recorded)
    #expect(next.map(\.ordinal) == [2] && next.first?.attempts == 1)
    #expect(try await queue.outcomes(ids: [first.id]).first?.result?.output == "out 0")
    // A completion that claimed the worker's next task is not announced (the worker is busy;
    // a waiting coordinator polls); the one that claims nothing is.
    try await queue.wait(for: .outcome, after: outcome, timeout: 0.5)
    #expect(queue.mark(.outcome) == outcome)
    let last = try await queue.complete(
      next[0].id, worker: "A", result: Self.result("out 2"), claimingNext: 1, modelKey: "k", leaseSeconds: 30)
    #expect(last.recorded && last.next.isEmpty)
    let clock = Date()
    try await queue.wait(for: .outcome, after: outcome, timeout: 5)
    #expect(Date().timeIntervalSince(clock) < 4, "woken by NOTIFY, not by the timeout")
    // Nothing left to claim; a repeated completion is acknowledged and claims nothing.
    let again = try await queue.complete(
      first.id, worker: "A", result: Self.result("again"), claimingNext: 1, modelKey: "k", leaseSeconds: 30)
    #expect(again.recorded && again.next.isEmpty)
    #expect(try await queue.outcomes(ids: [first.id]).first?.result?.output == "out 0")
  }

  @Test func aBatchOfOutputsIsRecordedWithTheNextClaimsInOneStatement() async throws {
    let server = try PostgresServer()
    defer { server.remove() }
    let queue = try await PostgresTaskQueue.open(try SharedLocation(server.url), logger: Self.logger)
    defer { queue.close() }
    try await queue.publish(Self.tasks(7))
    try await queue.heartbeat(WorkerInfo(id: "A", host: "h", pid: 1), leaseSeconds: 30)
    let held = try await queue.claim(worker: "A", modelKey: "k", limit: 3, leaseSeconds: 30)
    let other = try #require(try await queue.claim(worker: "B", modelKey: "k", limit: 1, leaseSeconds: 30).first)
    #expect(held.map(\.ordinal) == [0, 1, 2] && other.ordinal == 3)
    let start = queue.mark(.outcome)
    try await queue.wait(for: .outcome, after: start, timeout: 10)
    let listening = queue.mark(.outcome)

    // A's three outputs, and one for B's task (not A's to record), with the next two claims.
    let (recorded, next) = try await queue.complete(
      (held + [other]).map { (id: $0.id, result: Self.result("out \($0.ordinal)")) }, worker: "A", claimingNext: 2,
      modelKey: "k", leaseSeconds: 30)
    #expect(recorded == Set(held.map(\.id)))
    #expect(next.map(\.ordinal) == [4, 5] && next.allSatisfy { $0.attempts == 1 })
    let outcomes = try await queue.outcomes(ids: held.map(\.id) + [other.id])
    #expect(
      outcomes.filter { $0.state == .done }.compactMap { $0.result?.output }.sorted() == ["out 0", "out 1", "out 2"])
    #expect(outcomes.first { $0.id == other.id }?.state == .leased)
    #expect(try await queue.workers().first?.done == 3, "the worker's count moves by the batch")
    // A worker that claimed its next tasks is busy: no NOTIFY for that completion.
    try await queue.wait(for: .outcome, after: listening, timeout: 0.5)
    #expect(queue.mark(.outcome) == listening)

    // The last outputs claim nothing (one task is left, B's): announced, so a coordinator wakes.
    let last = try await queue.complete(
      next.map { (id: $0.id, result: Self.result("out \($0.ordinal)")) }, worker: "A", claimingNext: 2, modelKey: "k",
      leaseSeconds: 30)
    #expect(last.recorded == Set(next.map(\.id)) && last.next.map(\.ordinal) == [6])
    let final = try await queue.complete(
      [(id: last.next[0].id, result: Self.result("out 6"))], worker: "A", claimingNext: 2, modelKey: "k",
      leaseSeconds: 30)
    #expect(final.recorded == [last.next[0].id] && final.next.isEmpty)
    let clock = Date()
    try await queue.wait(for: .outcome, after: listening, timeout: 5)
    #expect(Date().timeIntervalSince(clock) < 4, "woken by NOTIFY, not by the timeout")
    // A repeated batch (a retry after a lost connection) is acknowledged and changes nothing.
    let again = try await queue.complete(
      next.map { (id: $0.id, result: Self.result("again")) }, worker: "A", claimingNext: 0, modelKey: "k",
      leaseSeconds: 30)
    #expect(again.recorded == Set(next.map(\.id)))
    #expect(try await queue.outcomes(ids: [next[0].id]).first?.result?.output == "out 4")
  }

  @Test func aStragglerOfAnEarlierRunCannotStopANewRunOfTheSameJob() async throws {
    let server = try PostgresServer()
    defer { server.remove() }
    let queue = try await PostgresTaskQueue.open(try SharedLocation(server.url), logger: Self.logger)
    defer { queue.close() }
    let first = SharedJob(name: "j", modelKey: "k", specText: "", baseDirectory: "/")
    try await queue.startJob(first)
    // A worker of the first run knows it as the queue gave it.
    let seen = try #require(try await queue.runningJobs().first)
    #expect(seen.run == first.run && !seen.run.isEmpty)
    try await queue.finishJob("j", run: first.run, status: "interrupted")

    let second = SharedJob(name: "j", modelKey: "k", specText: "", baseDirectory: "/")
    try await queue.startJob(second)
    #expect(second.run != first.run)
    // The straggler finds the budget reached and stops its run: the new run is not touched.
    try await queue.finishJob("j", run: seen.run, status: JobRunner.budgetStatus)
    #expect(try await queue.jobStatus("j", run: second.run) == "running")
    #expect(try await queue.jobStatus("j", run: first.run) == nil, "the first run is no longer the job's")
    #expect(try await queue.runningJobs().map(\.run) == [second.run])
    // A worker of the new run stops it, and its coordinator sees it.
    try await queue.finishJob("j", run: second.run, status: JobRunner.budgetStatus)
    #expect(try await queue.jobStatus("j", run: second.run) == JobRunner.budgetStatus)
    #expect(try await queue.runningJobs().isEmpty)
  }

  @Test func anExpiredLeaseIsTakenOverAndAHeartbeatKeepsOneAlive() async throws {
    let server = try PostgresServer()
    defer { server.remove() }
    let queue = try await PostgresTaskQueue.open(try SharedLocation(server.url), logger: Self.logger)
    try await queue.publish(Self.tasks(2))
    let a = WorkerInfo(id: "A", host: "h", pid: 1)
    // Leases of 3 s renewed every 0.5 s: a heartbeat may be up to 2.5 s late (CI's parallel unit phase once
    // delayed one past a 1 s lease) before B could take a lease A still holds.
    try await queue.heartbeat(a, leaseSeconds: 3)
    let claimed = try await queue.claim(worker: "A", modelKey: "k", limit: 2, leaseSeconds: 3)
    #expect(claimed.count == 2)
    // A keeps its leases alive with heartbeats: nobody can take them.
    for _ in 0..<3 {
      try await Task.sleep(nanoseconds: 500_000_000)
      try await queue.heartbeat(a, leaseSeconds: 3)
      #expect(try await queue.claim(worker: "B", modelKey: "k", limit: 2, leaseSeconds: 30).isEmpty)
    }
    // A goes silent: its leases expire and B takes both over, as second attempts.
    try await Task.sleep(nanoseconds: 3_300_000_000)
    let taken = try await queue.claim(worker: "B", modelKey: "k", limit: 2, leaseSeconds: 30)
    #expect(Set(taken.map(\.id)) == Set(claimed.map(\.id)))
    #expect(taken.allSatisfy { $0.attempts == 2 })
    #expect(try await queue.complete(claimed[0].id, worker: "A", result: Self.result("late")) == false)
    #expect(try await queue.complete(claimed[0].id, worker: "B", result: Self.result("b")) == true)
    let workers = try await queue.workers()
    #expect(workers.map(\.id) == ["A"])
    #expect(workers.first?.claims == 0)
  }

  // MARK: - Jobs through workers

  /// FakeEngine, slowed down so a run takes long enough to disturb.
  final class SlowEngine: Engine, @unchecked Sendable {
    let inner = FakeEngine()
    let delay: UInt64
    var name: String { inner.name }
    var modelIdentity: String { inner.modelIdentity }
    init(delayMs: UInt64) { delay = delayMs * 1_000_000 }
    func generate(_ request: GenerationRequest) async throws -> GenerationResult {
      try await Task.sleep(nanoseconds: delay)
      return try await inner.generate(request)
    }
  }

  static func report(_ summary: RunSummary) throws -> String {
    ReportTimes.masked(try String(contentsOfFile: try #require(summary.reportPath), encoding: .utf8))
  }

  /// The same job on one machine (SQLite, in process), for comparison.
  static func localReport(_ tmp: TemporaryDirectory, spec: JobSpec) async throws -> String {
    let ws = try Workspace(root: tmp.url.appendingPathComponent("local"))
    let engine = FakeEngine()
    let summary = try await JobRunner(
      workspace: ws, spec: spec, counter: EstimatedTokenCounter(), modelKey: "fake", logger: logger,
      engineFactory: { engine }
    ).run()
    return try report(summary)
  }

  /// Runs `spec` with tasks on `queue`, done by `workers` in-process workers; `disturb` runs meanwhile.
  static func sharedRun(
    _ tmp: TemporaryDirectory, spec: JobSpec, queue: PostgresTaskQueue, workers: Int, delayMs: UInt64 = 0,
    disturb: @escaping @Sendable () async throws -> Void = {}
  ) async throws -> (String, [QueueWorker.Counts], RunSummary) {
    let ws = try Workspace(root: tmp.url.appendingPathComponent("shared"))
    let choice = EngineChoice(counter: EstimatedTokenCounter(), modelKey: "fake") { SlowEngine(delayMs: delayMs) }
    try await queue.startJob(SharedJob(name: spec.name, modelKey: "fake", specText: "", baseDirectory: tmp.url.path))
    var settings = RunSettings()
    settings.queue = queue
    let runner = JobRunner(workspace: ws, spec: spec, engine: choice, settings: settings, logger: logger)
    let pool = (0..<workers).map { n in
      QueueWorker(
        queue: queue, info: WorkerInfo(id: "w\(n)", host: "test", pid: n),
        options: QueueWorker.Options(leaseSeconds: 2, pollSeconds: 0.02), logger: logger, choose: { _ in choice })
    }
    let finished = Finished()
    let working = pool.map { worker in Task { try await worker.run { finished.value } } }
    async let disturbance: Void = disturb()
    let summary = try await runner.run()
    finished.set()
    try await disturbance
    var counts: [QueueWorker.Counts] = []
    for task in working { counts.append(try await task.value) }
    try await queue.finishJob(spec.name, status: "done")
    return (try report(summary), counts, summary)
  }

  final class Finished: @unchecked Sendable {
    private let lock = NSLock()
    private var flag = false
    var value: Bool { lock.withLock { flag } }
    func set() { lock.withLock { flag = true } }
  }

  static func job(_ tmp: TemporaryDirectory) throws -> JobSpec {
    for f in 0..<6 {
      let lines = (1...60).map {
        "2026-03-0\(f + 1)T10:00:\(String(format: "%02d", $0 % 60))Z INFO event \($0) of \(f)"
      }
      try tmp.write("docs/f\(f).log", lines.joined(separator: "\n") + "\n")
    }
    let yaml = """
      name: shared
      inputs: [docs]
      model: {engine: llama, context: 400}
      generation: {max_tokens: 16}
      plan: {collapse_repeats: false}
      map:
        prompt: "{{window}}\\nSummary:"
      reduce:
        prompt: "{{outputs}}\\nCombined:"
      """
    return try JobFile.parse(yaml, path: "shared.yaml", baseDirectory: tmp.url.path)
  }

  @Test func aJobRunByThreeWorkersReportsWhatOneMachineDoes() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let server = try PostgresServer()
    defer { server.remove() }
    let spec = try Self.job(tmp)
    let expected = try await Self.localReport(tmp, spec: spec)
    let queue = try await PostgresTaskQueue.open(try SharedLocation(server.url), logger: Self.logger)
    let (report, counts, summary) = try await Self.sharedRun(tmp, spec: spec, queue: queue, workers: 3, delayMs: 20)
    #expect(report == expected)
    #expect(summary.failed == 0)
    #expect(counts.map(\.done).reduce(0, +) == summary.executed, "each task done once")
    #expect(counts.filter { $0.done > 0 }.count >= 2, "the work was spread: \(counts.map(\.done))")
  }

  @Test func workersWaitOutADatabaseRestartAndFinish() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let server = try PostgresServer()
    defer { server.remove() }
    let spec = try Self.job(tmp)
    let expected = try await Self.localReport(tmp, spec: spec)
    let queue = try await PostgresTaskQueue.open(try SharedLocation(server.url), logger: Self.logger)
    let (report, _, summary) = try await Self.sharedRun(tmp, spec: spec, queue: queue, workers: 2, delayMs: 150) {
      try await Task.sleep(nanoseconds: 600_000_000)
      try server.stop()
      try await Task.sleep(nanoseconds: 1_500_000_000)
      try server.start()
    }
    #expect(report == expected)
    #expect(summary.failed == 0)
  }
}
