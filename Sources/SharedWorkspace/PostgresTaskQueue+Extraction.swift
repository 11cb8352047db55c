import Foundation
import Inference
import Ingest
import Logging
import Pipeline
import PostgresNIO

/// A file of a run's ingest as a worker claims it: enough to extract it with no corpus.
public struct ClaimedFile: Sendable, Hashable {
  public var id: String
  public var job: String
  public var file: DiscoveredFile
  public var size: Int
  public var settings: ExtractionSettings
  /// Claims so far, this one included.
  public var attempts: Int
}

/// Files to extract as leases, beside the tasks (`extract_file`, migration `pg-v3-extract-file`):
/// the same claims (`FOR UPDATE SKIP LOCKED`, the database's clock), the same heartbeat (a
/// worker's one heartbeat extends its task and file leases alike) and the same NOTIFY channels.
extension PostgresTaskQueue {
  /// Claims of one file before it counts as failed: each ended with its worker dead (a file
  /// that kills an extraction child is that child's failure, recorded at its first claim).
  public static let maxExtractionClaims = 3

  /// Makes `files` (with their sizes) of run `run` of job `job` claimable, extracted with
  /// `settings`; forgets the files of the job's earlier runs.
  public func publishExtraction(
    job: String, run: String, files: [(DiscoveredFile, Int)], settings: ExtractionSettings
  ) async throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    let settingsText = String(decoding: try encoder.encode(settings), as: UTF8.self)
    let encoded = try files.map { String(decoding: try encoder.encode($0.0), as: UTF8.self) }
    try await database.withRetry("publishExtraction") { client in
      try await client.query("DELETE FROM extract_file WHERE job = \(job) AND run <> \(run)", logger: logger)
      // Batches of 5,000 keep each statement's parameters small.
      for start in stride(from: 0, to: files.count, by: 5000) {
        let slice = start..<min(files.count, start + 5000)
        let paths = slice.map { files[$0].0.path }
        try await client.query(
          """
          WITH published AS (
          INSERT INTO extract_file (id, job, run, ordinal, path, file, size, settings, state)
          SELECT \(run) || '/' || u.path, \(job), \(run), u.ordinal, u.path, u.file, u.size, \(settingsText), 'pending'
          FROM unnest(\(paths)::text[], \(slice.map { encoded[$0] })::text[], \(slice.map { files[$0].1 })::bigint[],
            \(Array(slice))::bigint[]) AS u(path, file, size, ordinal)
          ON CONFLICT (id) DO NOTHING
          RETURNING 1)
          SELECT pg_notify(\(QueueNotifications.channel(.claimable)), '') FROM (SELECT 1 FROM published LIMIT 1) AS first
          """, logger: logger)
      }
    }
  }

  /// Claims up to `limit` files of running jobs (pending ones, or ones whose lease expired:
  /// their worker died), leased to `worker` for `leaseSeconds`. A file claimed
  /// `maxExtractionClaims` times whose lease expired again is failed instead.
  public func claimExtraction(worker: String, limit: Int, leaseSeconds: Double) async throws -> [ClaimedFile] {
    let given = String(
      decoding: try JSONEncoder().encode(
        ExtractionOutcome.failed(
          "its extraction was claimed \(Self.maxExtractionClaims) times and each worker died before it finished")),
      as: UTF8.self)
    return try await database.withRetry("claimExtraction") { client in
      try await client.query(
        """
        WITH given AS (
          UPDATE extract_file SET state = 'done', outcome = \(given), leaseOwner = NULL, leaseUntil = NULL,
            finishedAt = \(unescaped: Self.now)
          WHERE state = 'leased' AND leaseUntil < \(unescaped: Self.now) AND attempts >= \(Self.maxExtractionClaims)
          RETURNING 1)
        SELECT pg_notify(\(QueueNotifications.channel(.outcome)), '') FROM (SELECT 1 FROM given LIMIT 1) AS first
        """, logger: logger)
      let rows = try await client.query(
        """
        WITH running AS (SELECT run FROM job WHERE status = 'running'),
        candidates AS (
          SELECT id FROM extract_file
          WHERE run IN (SELECT run FROM running)
            AND (state = 'pending' OR (state = 'leased' AND leaseUntil < \(unescaped: Self.now)))
          ORDER BY state = 'leased' DESC, ordinal LIMIT \(limit) FOR UPDATE SKIP LOCKED)
        UPDATE extract_file SET state = 'leased', attempts = attempts + 1, leaseOwner = \(worker),
          leaseUntil = \(unescaped: Self.now) + \(leaseSeconds), startedAt = \(unescaped: Self.now)
        WHERE id IN (SELECT id FROM candidates)
        RETURNING id, job, file, size, settings, attempts
        """, logger: logger)
      var claimed: [ClaimedFile] = []
      let decoder = JSONDecoder()
      for try await (id, job, file, size, settings, attempts) in rows.decode(
        (String, String, String, Int, String, Int).self)
      {
        claimed.append(
          ClaimedFile(
            id: id, job: job, file: try decoder.decode(DiscoveredFile.self, from: Data(file.utf8)), size: size,
            settings: try decoder.decode(ExtractionSettings.self, from: Data(settings.utf8)), attempts: attempts))
      }
      return claimed
    }
  }

  /// Records a file's outcome. Returns false when `worker` no longer held its lease.
  @discardableResult
  public func completeExtraction(_ id: String, worker: String, outcome: ExtractionOutcome) async throws -> Bool {
    let text = String(decoding: try JSONEncoder().encode(outcome), as: UTF8.self)
    return try await database.withRetry("completeExtraction") { client in
      var recorded = false
      let rows = try await client.query(
        """
        WITH done AS (
          UPDATE extract_file SET state = 'done', outcome = \(text), doneBy = \(worker), leaseOwner = NULL,
            leaseUntil = NULL, finishedAt = \(unescaped: Self.now)
          WHERE id = \(id) AND state = 'leased' AND leaseOwner = \(worker) RETURNING 1)
        SELECT pg_notify(\(QueueNotifications.channel(.outcome)), '') FROM done
        """, logger: logger)
      for try await _ in rows { recorded = true }
      if !recorded {
        // A retry after a lost connection: the first attempt may have committed.
        let check = try await client.query(
          "SELECT 1 FROM extract_file WHERE id = \(id) AND state = 'done' AND doneBy = \(worker)", logger: logger)
        for try await _ in check { recorded = true }
      }
      return recorded
    }
  }

  /// Gives a claimed file back without counting the claim (the worker is stopping).
  public func releaseExtraction(_ id: String, worker: String) async throws {
    try await database.withRetry("releaseExtraction") { client in
      try await client.query(
        """
        WITH released AS (
          UPDATE extract_file SET state = 'pending', attempts = greatest(0, attempts - 1), leaseOwner = NULL,
            leaseUntil = NULL
          WHERE id = \(id) AND state = 'leased' AND leaseOwner = \(worker) RETURNING 1)
        SELECT pg_notify(\(QueueNotifications.channel(.claimable)), '') FROM released
        """, logger: logger)
    }
  }

  /// The outcomes of run `run`'s files finished since the last call (each returned once: the
  /// run's one coordinator collects them).
  public func collectExtraction(run: String) async throws -> [String: ExtractionOutcome] {
    try await database.withRetry("collectExtraction") { client in
      let rows = try await client.query(
        """
        UPDATE extract_file SET collected = true
        WHERE run = \(run) AND state = 'done' AND NOT collected
        RETURNING path, outcome
        """, logger: logger)
      var out: [String: ExtractionOutcome] = [:]
      let decoder = JSONDecoder()
      for try await (path, outcome) in rows.decode((String, String?).self) {
        out[path] =
          (outcome.flatMap { try? decoder.decode(ExtractionOutcome.self, from: Data($0.utf8)) })
          ?? .failed("its worker recorded no readable outcome")
      }
      return out
    }
  }

  /// Each file of run `run` by path: its state, the worker that holds or did it, and its claims
  /// so far (tests, and `status`).
  public func extractionClaims(run: String) async throws -> [String: (state: String, worker: String?, attempts: Int)] {
    try await database.withRetry("extractionClaims") { client in
      var out: [String: (state: String, worker: String?, attempts: Int)] = [:]
      for try await (path, state, worker, attempts) in try await client.query(
        "SELECT path, state, coalesce(doneBy, leaseOwner), attempts FROM extract_file WHERE run = \(run)",
        logger: logger
      ).decode((String, String, String?, Int).self) {
        out[path] = (state, worker, attempts)
      }
      return out
    }
  }
}

/// `Ingestor`'s extraction on a shared workspace: the coordinator publishes the files to
/// extract, whichever workers are free claim them, and their outcomes come back here to be
/// recorded as on one machine.
public struct PostgresSharedExtraction: SharedExtraction {
  let queue: PostgresTaskQueue
  let job: String
  let run: String

  /// Files of run `run` of job `job` on `queue`.
  public init(queue: PostgresTaskQueue, job: String, run: String) {
    self.queue = queue
    self.job = job
    self.run = run
  }

  public func extract(_ files: [DiscoveredFile], sizes: [Int], options: IngestOptions) async throws
    -> [String: ExtractionOutcome]
  {
    try await queue.publishExtraction(
      job: job, run: run, files: Array(zip(files, sizes)), settings: ExtractionSettings(options))
    var waiting = Set(files.map(\.path))
    var out: [String: ExtractionOutcome] = [:]
    var poll = 0.01
    while !waiting.isEmpty {
      if Interrupt.isRequested { throw EngineError.interrupted }
      let mark = queue.mark(.outcome)
      let collected = try await queue.collectExtraction(run: run)
      for (path, outcome) in collected where waiting.remove(path) != nil { out[path] = outcome }
      if !waiting.isEmpty {
        poll = collected.isEmpty ? min(poll * 2, 0.1) : 0.01
        try await queue.wait(for: .outcome, after: mark, timeout: poll)
      }
    }
    return out
  }
}
