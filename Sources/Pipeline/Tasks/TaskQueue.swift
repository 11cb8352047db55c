import Foundation
import Inference

/// A job's tasks as workers on several machines share them: the seam between the
/// job coordinator (`JobRunner`) and the database the workers meet in.
///
/// A claim is a lease: a worker claims pending tasks (or tasks whose lease
/// expired: their worker died), keeps its leases alive with `heartbeat`, and
/// completes or fails each one. Only the holder of a lease may complete it, so a
/// worker that was presumed dead cannot overwrite the work of the one that took
/// its task over. Times are the database's clock, not the workers'.
///
/// The embedded SQLite workspace does not go through this protocol: a job on one
/// machine runs its tasks in process through `TaskStore`, as it always has.
/// `SharedWorkspace.PostgresTaskQueue` implements it on PostgreSQL.
public protocol TaskQueue: Sendable {
  /// Records the job a coordinator started, so workers can choose its engine.
  func startJob(_ job: SharedJob) async throws
  /// Marks the job's run `run` finished: workers stop looking for its tasks. A run that is no
  /// longer the job's current one (the job was started again since) is left as it is, so a
  /// straggler of an earlier run cannot stop a new run of the same job; nil: whichever run is current.
  func finishJob(_ name: String, run: String?, status: String) async throws
  /// Jobs being run, oldest first.
  func runningJobs() async throws -> [SharedJob]
  /// A job's status as `startJob`/`finishJob` left it (`running`, `done`, `budget`…); nil when
  /// unknown, or when its current run is not `run` (nil: whichever run is current).
  func jobStatus(_ name: String, run: String?) async throws -> String?
  /// Makes `tasks` claimable. A task already known (same id) keeps its state and output.
  func publish(_ tasks: [QueuedTask]) async throws
  /// Claims up to `limit` tasks of a job run with `modelKey`, leased to `worker` for `leaseSeconds`.
  func claim(worker: String, modelKey: String, limit: Int, leaseSeconds: Double) async throws -> [QueuedTask]
  /// Extends every lease `worker` holds, and records it as alive.
  func heartbeat(_ worker: WorkerInfo, leaseSeconds: Double) async throws
  /// Records a task's output. Returns false when `worker` no longer held its lease.
  @discardableResult
  func complete(_ id: String, worker: String, result: TaskResult) async throws -> Bool
  /// Records a task's output, as `complete` does, and claims up to `limit` more tasks of
  /// `modelKey` for `worker`, as `claim` does, in one round trip: a busy worker's next task
  /// costs no round trip of its own.
  func complete(
    _ id: String, worker: String, result: TaskResult, claimingNext limit: Int, modelKey: String, leaseSeconds: Double
  ) async throws -> (recorded: Bool, next: [QueuedTask])
  /// Records the outputs of several tasks, as `complete` does for each, and claims up to
  /// `limit` more tasks of `modelKey`, as `claim` does, in one round trip: a worker whose
  /// tasks take milliseconds pays one round trip (and one commit) per batch, not per task.
  ///
  /// - Returns: The ids whose outputs were recorded (those whose lease `worker` still held),
  ///   and the tasks claimed.
  func complete(
    _ results: [(id: String, result: TaskResult)], worker: String, claimingNext limit: Int, modelKey: String,
    leaseSeconds: Double
  ) async throws -> (recorded: Set<String>, next: [QueuedTask])
  /// Records a failed attempt: back to pending unless `final`.
  func fail(_ id: String, worker: String, error: String, final: Bool, output: String?) async throws
  /// Gives a claimed task back without counting the attempt (the worker is stopping).
  func release(_ id: String, worker: String) async throws
  /// The state of the tasks `ids` (unknown ids are left out).
  func outcomes(ids: [String]) async throws -> [TaskOutcome]
  /// The workers seen, with their claims and what they did.
  func workers() async throws -> [WorkerStatus]
  /// How many `event`s the queue has announced so far: take it before looking at the
  /// queue, then `wait` from it, and nothing announced in between is missed.
  func mark(_ event: QueueEvent) -> UInt64
  /// Returns when an `event` later than `mark` is announced, or after `timeout` seconds
  /// (a queue that announces nothing just sleeps: its users poll).
  func wait(for event: QueueEvent, after mark: UInt64, timeout: Double) async throws
}

/// What a queue announces to the processes waiting on it.
public enum QueueEvent: Sendable {
  /// Tasks became claimable (published, or given back).
  case claimable
  /// Tasks finished (done, or failed for good).
  case outcome
}

extension TaskQueue {
  /// Marks whichever run of the job is current finished (`finishJob(_:run:status:)`).
  public func finishJob(_ name: String, status: String) async throws {
    try await finishJob(name, run: nil, status: status)
  }

  /// The status of whichever run of the job is current (`jobStatus(_:run:)`).
  public func jobStatus(_ name: String) async throws -> String? { try await jobStatus(name, run: nil) }

  public func complete(
    _ id: String, worker: String, result: TaskResult, claimingNext limit: Int, modelKey: String, leaseSeconds: Double
  ) async throws -> (recorded: Bool, next: [QueuedTask]) {
    let recorded = try await complete(id, worker: worker, result: result)
    return (recorded, try await claim(worker: worker, modelKey: modelKey, limit: limit, leaseSeconds: leaseSeconds))
  }

  public func complete(
    _ results: [(id: String, result: TaskResult)], worker: String, claimingNext limit: Int, modelKey: String,
    leaseSeconds: Double
  ) async throws -> (recorded: Set<String>, next: [QueuedTask]) {
    var recorded = Set<String>()
    for (id, result) in results where try await complete(id, worker: worker, result: result) {
      recorded.insert(id)
    }
    let next =
      limit > 0 ? try await claim(worker: worker, modelKey: modelKey, limit: limit, leaseSeconds: leaseSeconds) : []
    return (recorded, next)
  }

  public func mark(_ event: QueueEvent) -> UInt64 { 0 }

  public func wait(for event: QueueEvent, after mark: UInt64, timeout: Double) async throws {
    try await Task.sleep(nanoseconds: UInt64(max(0, timeout) * 1e9))
  }
}

/// A job as the queue knows it: enough for a worker to choose the same engine.
public struct SharedJob: Sendable, Codable, Hashable {
  public var name: String
  /// The key every task output of this job depends on (model file and settings).
  public var modelKey: String
  /// The job file's text, and the directory its relative paths start from.
  public var specText: String
  public var baseDirectory: String
  /// This run of the job: a new id each time a coordinator starts it, so that what a worker
  /// does for one run (stopping it at its budget) never lands on a later run of the same job.
  public var run: String

  /// A job; `run` defaults to a new id (a coordinator starting a run).
  public init(
    name: String, modelKey: String, specText: String, baseDirectory: String, run: String = UUID().uuidString
  ) {
    self.run = run
    self.name = name
    self.modelKey = modelKey
    self.specText = specText
    self.baseDirectory = baseDirectory
  }
}

/// A task as workers see it: everything needed to run it, with no corpus.
public struct QueuedTask: Sendable, Codable, Hashable {
  public var id: String
  public var job: String
  public var kind: TaskKind
  public var level: Int
  public var ordinal: Int
  public var modelKey: String
  public var request: GenerationRequest
  /// Attempts so far, this claim included.
  public var attempts: Int

  public init(
    id: String, job: String, kind: TaskKind, level: Int, ordinal: Int, modelKey: String, request: GenerationRequest,
    attempts: Int = 0
  ) {
    self.id = id
    self.job = job
    self.kind = kind
    self.level = level
    self.ordinal = ordinal
    self.modelKey = modelKey
    self.request = request
    self.attempts = attempts
  }
}

/// What a worker made of a task.
public struct TaskResult: Sendable, Hashable {
  public var output: String
  public var promptTokens: Int
  public var outputTokens: Int
  public var cachedTokens: Int
  public var engine: String
  public var model: String
  public var durationMs: Double

  public init(
    output: String, promptTokens: Int, outputTokens: Int, cachedTokens: Int, engine: String, model: String,
    durationMs: Double
  ) {
    self.output = output
    self.promptTokens = promptTokens
    self.outputTokens = outputTokens
    self.cachedTokens = cachedTokens
    self.engine = engine
    self.model = model
    self.durationMs = durationMs
  }
}

/// A task's state in the queue.
public struct TaskOutcome: Sendable, Hashable {
  public var id: String
  public var state: TaskRecord.State
  public var attempts: Int
  public var worker: String?
  public var result: TaskResult?
  public var error: String?
  /// A rejected output kept beside its error.
  public var output: String?

  public init(
    id: String, state: TaskRecord.State, attempts: Int, worker: String?, result: TaskResult?, error: String?,
    output: String?
  ) {
    self.id = id
    self.state = state
    self.attempts = attempts
    self.worker = worker
    self.result = result
    self.error = error
    self.output = output
  }
}

/// Who a worker is.
public struct WorkerInfo: Sendable, Hashable {
  /// Unique per process: host, pid and a random part.
  public var id: String
  public var host: String
  public var pid: Int

  public init(id: String, host: String, pid: Int) {
    self.id = id
    self.host = host
    self.pid = pid
  }

  /// This process as a worker.
  public static func thisProcess() -> WorkerInfo {
    let host = ProcessInfo.processInfo.hostName
    let pid = Int(ProcessInfo.processInfo.processIdentifier)
    return WorkerInfo(id: "\(host)-\(pid)-\(UInt16.random(in: 0...UInt16.max))", host: host, pid: pid)
  }
}

/// A worker as `longctx status` shows it.
public struct WorkerStatus: Sendable, Hashable, Codable {
  public var id: String
  public var host: String
  public var pid: Int
  public var startedAt: Double
  public var heartbeatAt: Double
  /// Seconds since its last heartbeat, by the database's clock.
  public var silentFor: Double
  /// Tasks it holds now.
  public var claims: Int
  public var done: Int
  public var failed: Int
  public var outputTokens: Int

  public init(
    id: String, host: String, pid: Int, startedAt: Double, heartbeatAt: Double, silentFor: Double, claims: Int,
    done: Int, failed: Int, outputTokens: Int
  ) {
    self.id = id
    self.host = host
    self.pid = pid
    self.startedAt = startedAt
    self.heartbeatAt = heartbeatAt
    self.silentFor = silentFor
    self.claims = claims
    self.done = done
    self.failed = failed
    self.outputTokens = outputTokens
  }

  /// Tasks done per minute since it started.
  public var tasksPerMinute: Double {
    let minutes = (heartbeatAt - startedAt) / 60
    return minutes > 0 ? Double(done) / minutes : 0
  }
}
