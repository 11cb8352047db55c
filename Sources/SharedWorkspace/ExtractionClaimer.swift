import Foundation
import Inference
import Ingest
import Logging
import Synchronization

/// A worker's extraction lanes on a shared workspace: each claims one file at a time,
/// extracts it in its own isolated child (kept from file to file) into the shared store's
/// workspace, and records its outcome. It runs beside the worker's `QueueWorker`, under the
/// same worker id, whose heartbeat keeps its leases alive.
public final class ExtractionClaimer: Sendable {
  let queue: PostgresTaskQueue
  /// The worker id the leases are held under (its `QueueWorker`'s).
  let worker: String
  let extraction: ExtractionWorker
  /// The shared store: the workspace the files' documents are stored in.
  let store: URL
  let lanes: Int
  let leaseSeconds: Double
  let pollSeconds: Double
  let logger: Logger
  private let counts = Mutex((done: 0, failed: 0))

  /// Lanes extracting with `extraction`'s children into the workspace at `store`.
  public init(
    queue: PostgresTaskQueue, worker: String, extraction: ExtractionWorker, store: URL, lanes: Int,
    leaseSeconds: Double, pollSeconds: Double = 0.5, logger: Logger
  ) {
    self.queue = queue
    self.worker = worker
    self.extraction = extraction
    self.store = store
    self.lanes = max(1, lanes)
    self.leaseSeconds = leaseSeconds
    self.pollSeconds = pollSeconds
    self.logger = logger
  }

  /// Files extracted so far, and how many of them failed.
  public var done: (done: Int, failed: Int) { counts.withLock { $0 } }

  /// Extracts claimed files until `stop` says so (asked whenever nothing is claimable), or
  /// until interrupted (the file in hand is finished and recorded first).
  public func run(until stop: @escaping @Sendable () async -> Bool) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
      for _ in 0..<lanes {
        group.addTask { try await self.lane(until: stop) }
      }
      try await group.waitForAll()
    }
  }

  private func lane(until stop: @escaping @Sendable () async -> Bool) async throws {
    let box = LaneBox()
    defer { box.lane?.stop() }
    var idle = 0.02
    while !Interrupt.isRequested && !Task.isCancelled {
      let mark = queue.mark(.claimable)
      guard let claimed = try await queue.claimExtraction(worker: worker, limit: 1, leaseSeconds: leaseSeconds).first
      else {
        if await stop() { return }
        try await queue.wait(for: .claimable, after: mark, timeout: idle)
        idle = min(idle * 2, pollSeconds)
        continue
      }
      idle = 0.02
      if box.lane?.settings != claimed.settings {
        box.lane?.stop()
        box.lane = IsolatedExtraction(worker: extraction, workspaceRoot: store, settings: claimed.settings)
      }
      let outcome = await box.extract(claimed.file, size: claimed.size)
      if try await queue.completeExtraction(claimed.id, worker: worker, outcome: outcome) {
        counts.withLock {
          $0.done += 1
          if case .failed = outcome { $0.failed += 1 }
        }
      } else {
        logger.warning(
          "\(claimed.file.displayPath): lease lost before its extraction was recorded; another worker has it")
      }
    }
  }

  /// One lane's extraction, run on a thread of its own (a child's answers are waited for
  /// with blocking reads, which must not hold a thread of the concurrency pool).
  private final class LaneBox: @unchecked Sendable {
    var lane: IsolatedExtraction?

    func extract(_ file: DiscoveredFile, size: Int) async -> ExtractionOutcome {
      guard let lane else { return .failed("no extraction lane") }
      return await withCheckedContinuation { done in
        Thread.detachNewThread {
          done.resume(returning: lane.extract([(file, size)])[file.path] ?? .failed("extraction did not finish"))
        }
      }
    }
  }
}
