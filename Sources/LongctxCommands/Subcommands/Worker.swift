import ArgumentParser
import Foundation
import Inference
import Ingest
import Logging
import Pipeline
import SharedWorkspace
import Storage
import Synchronization

extension Longctx {
  /// `longctx worker --workspace postgres://…`
  struct Worker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract:
        "Claim and run the files to extract and the map and reduce tasks of jobs started on a shared workspace (postgres://…).",
      discussion: """
        Run the same binary on every machine, pointed at the same database and store. A worker \
        chooses each job's engine from the job file the coordinator (`longctx run JOB --workspace \
        postgres://…`)         recorded, claims tasks as leases kept alive by a heartbeat, and records their \
        outputs. It also claims the files a run's ingest gives out, one at a time, and extracts each \
        in an isolated child into the shared store's workspace (the inputs must be at the same paths \
        on every machine). A worker that dies loses its leases when they expire, and another worker \
        redoes only those tasks and files.
        """)

    @OptionGroup(title: "Global Options") var global: GlobalOptions

    @Option(help: "Tasks to run at once.") var concurrency = 1

    @Option(help: "Files to extract at once (default: one per core).")
    var extractConcurrency = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Seconds a claim lasts without a heartbeat (heartbeats come three times per lease).")
    var lease: Double = 30

    @Flag(help: "Exit when no job is running, instead of waiting for the next one.") var exitWhenIdle = false

    func validate() throws {
      if concurrency < 1 { throw ValidationError("'--concurrency' must be at least 1") }
      if extractConcurrency < 1 { throw ValidationError("'--extract-concurrency' must be at least 1") }
      if lease < 1 { throw ValidationError("'--lease' must be at least 1 second") }
    }

    func run() async throws {
      guard let location = try global.sharedLocation else {
        throw CommandFailure(
          code: ExitCodes.usage,
          message: "longctx: `worker` needs a shared workspace: --workspace postgres://user@host/db?store=/shared/dir")
      }
      Signals.install()
      let logger = global.logger("longctx.worker")
      let queue = try await PostgresTaskQueue.open(location, logger: logger)
      let worker = SharedRun.worker(
        queue: queue, ledger: try await PostgresLimitLedger(sharing: queue), store: location.store,
        concurrency: concurrency, lease: lease, logLevel: global.logLevel,
        logger: logger)
      if !global.quiet { printError("worker \(worker.info.id): waiting for tasks on \(location.url)") }
      let claimer = ExtractionClaimer(
        queue: queue, worker: worker.info.id, extraction: .thisExecutable(), store: location.store,
        lanes: extractConcurrency, leaseSeconds: lease, logger: logger)
      let counts: QueueWorker.Counts
      do {
        let stop: @Sendable () async -> Bool = { [exitWhenIdle] in
          guard exitWhenIdle else { return false }
          return (try? await queue.runningJobs().isEmpty) ?? false
        }
        async let extracting: Void = claimer.run(until: stop)
        counts = try await worker.run(until: stop)
        try await extracting
      } catch EngineError.interrupted {
        throw CommandFailure(
          code: ExitCodes.interrupted,
          message: "longctx: worker interrupted after \(worker.done.done) tasks; its claims were given back.")
      }
      if !global.quiet {
        let files = claimer.done
        print(
          "worker \(worker.info.id): \(counts.done) tasks done, \(counts.failed) failed; \(files.done) files extracted, \(files.failed) failed"
        )
      }
    }
  }
}

/// `ingest` on a shared workspace: an ingest recorded as a job without a model (its files
/// are claimed by the workers, no tasks), and this process's extraction lanes unless `--no-work`.
final class SharedIngest: Sendable {
  let queue: PostgresTaskQueue
  let job: SharedJob
  private let finished = Atomic<Bool>(false)
  private let workingTask = Mutex<Task<Void, Never>?>(nil)

  private init(queue: PostgresTaskQueue, job: SharedJob) {
    self.queue = queue
    self.job = job
  }

  /// The ingest's extraction, shared with the workers.
  var extraction: PostgresSharedExtraction { PostgresSharedExtraction(queue: queue, job: job.name, run: job.run) }

  /// Records the ingest on the shared workspace and starts this process's lanes; nil for a directory workspace.
  static func start(global: GlobalOptions, extraction: ExtractionWorker?, work: Bool) async throws -> SharedIngest? {
    guard let location = try global.sharedLocation, let extraction else { return nil }
    let logger = global.logger("longctx.ingest")
    let queue = try await PostgresTaskQueue.open(location, logger: logger)
    let info = WorkerInfo.thisProcess()
    // One job per ingest process: two ingests at once never take each other's files.
    let job = SharedJob(
      name: "ingest \(info.id)", modelKey: "", specText: "",
      baseDirectory: FileManager.default.currentDirectoryPath)
    try await queue.startJob(job)
    let shared = SharedIngest(queue: queue, job: job)
    guard work else { return shared }
    let worker = QueueWorker(queue: queue, info: info, logger: logger) { _ in
      throw CommandFailure(code: ExitCodes.usage, message: "an ingest has no tasks")
    }
    let claimer = ExtractionClaimer(
      queue: queue, worker: info.id, extraction: extraction, store: location.store,
      lanes: ProcessInfo.processInfo.activeProcessorCount, leaseSeconds: worker.leaseSeconds, logger: logger)
    let task = Task {
      do {
        let stop: @Sendable () async -> Bool = { shared.finished.load(ordering: .relaxed) }
        async let extracting: Void = claimer.run(until: stop)
        _ = try await worker.run(until: stop)
        try await extracting
      } catch {
        logger.warning("this process's extraction stopped: \(error.userDescription)")
      }
    }
    shared.workingTask.withLock { $0 = task }
    return shared
  }

  /// Marks the ingest finished and waits for this process's lanes to stop.
  func finish(status: String) async throws {
    finished.store(true, ordering: .relaxed)
    await workingTask.withLock { $0 }?.value
    try await queue.finishJob(job.name, run: job.run, status: status)
  }
}

/// `run` on a shared workspace: the job recorded for workers, and a worker in this process.
final class SharedRun: Sendable {
  let queue: PostgresTaskQueue
  /// The job's rate limits and budget, held for every worker.
  let ledger: PostgresLimitLedger
  /// The job's run this process started.
  let job: SharedJob
  /// The run's ingest, extracted by the workers (this process's too, unless `--no-work`).
  var extraction: PostgresSharedExtraction { PostgresSharedExtraction(queue: queue, job: job.name, run: job.run) }
  private let finished = Atomic<Bool>(false)
  private let workingTask = Mutex<Task<Void, Never>?>(nil)

  private init(
    queue: PostgresTaskQueue, ledger: PostgresLimitLedger, job: SharedJob,
    working: (@Sendable (SharedRun) -> Task<Void, Never>)?
  ) {
    self.queue = queue
    self.ledger = ledger
    self.job = job
    let task = working?(self)
    workingTask.withLock { $0 = task }
  }

  /// Records the job on the shared workspace and starts this process's worker; nil for a directory workspace.
  static func start(
    global: GlobalOptions, jobText text: String, spec: JobSpec, choice: EngineChoice, concurrency: Int, work: Bool
  ) async throws -> SharedRun? {
    guard let location = try global.sharedLocation else { return nil }
    let logger = global.logger("longctx.run")
    let queue = try await PostgresTaskQueue.open(location, logger: logger)
    let job = SharedJob(name: spec.name, modelKey: choice.modelKey, specText: text, baseDirectory: spec.baseDirectory)
    try await queue.startJob(job)
    let ledger = try await PostgresLimitLedger(sharing: queue)
    guard work else { return SharedRun(queue: queue, ledger: ledger, job: job, working: nil) }
    let worker = QueueWorker(
      queue: queue, options: QueueWorker.Options(concurrency: concurrency), ledger: ledger, logger: logger,
      choose: { _ in choice })
    let claimer = ExtractionClaimer(
      queue: queue, worker: worker.info.id, extraction: .thisExecutable(), store: location.store,
      lanes: ProcessInfo.processInfo.activeProcessorCount, leaseSeconds: worker.leaseSeconds, logger: logger)
    return SharedRun(queue: queue, ledger: ledger, job: job) { run in
      Task {
        do {
          let stop: @Sendable () async -> Bool = { run.finished.load(ordering: .relaxed) }
          async let extracting: Void = claimer.run(until: stop)
          _ = try await worker.run(until: stop)
          try await extracting
        } catch {
          logger.warning("this process's worker stopped: \(error.userDescription)")
        }
      }
    }
  }

  /// Marks the job finished and waits for this process's worker to stop.
  func finish(status: String) async throws {
    finished.store(true, ordering: .relaxed)
    await workingTask.withLock { $0 }?.value
    try await queue.finishJob(job.name, run: job.run, status: status)
  }

  /// A worker that chooses each job's engine from the job file recorded with it.
  static func worker(
    queue: PostgresTaskQueue, ledger: PostgresLimitLedger, store: URL, concurrency: Int, lease: Double,
    logLevel: Logger.Level, logger: Logger
  ) -> QueueWorker {
    QueueWorker(
      queue: queue, options: QueueWorker.Options(concurrency: concurrency, leaseSeconds: lease), ledger: ledger,
      logger: logger
    ) { job in
      let spec = try JobFile.parse(
        job.specText, path: job.baseDirectory + "/\(job.name).yaml", baseDirectory: job.baseDirectory)
      try EngineSetup.validate(spec)
      return try EngineSetup.choose(
        spec, kvDirectory: store.appendingPathComponent("kv", isDirectory: true), logLevel: logLevel,
        parallel: concurrency)
    }
  }
}
