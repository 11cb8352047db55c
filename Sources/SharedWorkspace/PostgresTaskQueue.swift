import Foundation
import Inference
import Logging
import Pipeline
import PostgresNIO

/// The shared tables of a job's tasks: the same `task` and `job` as the SQLite workspace
/// (same columns, same meaning), plus what workers need without the corpus (each task's
/// request and model key) and the `worker` table `longctx status` reads.
public enum TaskQueueSchema: SharedSchema {
  public static let migrations: [(name: String, statements: [String])] = [
    (
      "pg-v1-task-queue",
      [
        """
        CREATE TABLE job (
          name text PRIMARY KEY, modelKey text NOT NULL, specText text NOT NULL, baseDirectory text NOT NULL,
          status text NOT NULL, updatedAt double precision NOT NULL)
        """,
        """
        CREATE TABLE task (
          id text PRIMARY KEY, job text NOT NULL, kind text NOT NULL, level bigint NOT NULL, ordinal bigint NOT NULL,
          modelKey text NOT NULL, request text NOT NULL,
          state text NOT NULL, attempts bigint NOT NULL DEFAULT 0,
          promptTokens bigint, outputTokens bigint, cachedTokens bigint, output text, error text,
          engine text, model text, leaseOwner text, leaseUntil double precision, doneBy text,
          startedAt double precision, finishedAt double precision, durationMs double precision)
        """,
        // Claims read only pending tasks, or leased ones past their expiry: partial indexes, so done
        // tasks (most of a long job) cost a claim nothing.
        "CREATE INDEX task_pending ON task (modelKey, level, ordinal) WHERE state = 'pending'",
        "CREATE INDEX task_expiry ON task (modelKey, leaseUntil) WHERE state = 'leased'",
        "CREATE INDEX task_lease ON task (leaseOwner) WHERE state = 'leased'",
        "CREATE INDEX task_job ON task (job)",
        """
        CREATE TABLE worker (
          id text PRIMARY KEY, host text NOT NULL, pid bigint NOT NULL, startedAt double precision NOT NULL,
          heartbeatAt double precision NOT NULL, done bigint NOT NULL DEFAULT 0, failed bigint NOT NULL DEFAULT 0,
          outputTokens bigint NOT NULL DEFAULT 0)
        """,
      ]
    ),
    // Each start of a job is a run with its own id: a status change names the run it is for.
    ("pg-v2-job-run", ["ALTER TABLE job ADD COLUMN run text NOT NULL DEFAULT ''"]),
    // The files a run's ingest gives its workers to extract (`PostgresTaskQueue+Extraction.swift`).
    (
      "pg-v3-extract-file",
      [
        """
        CREATE TABLE extract_file (
          id text PRIMARY KEY, job text NOT NULL, run text NOT NULL, ordinal bigint NOT NULL, path text NOT NULL,
          file text NOT NULL, size bigint NOT NULL, settings text NOT NULL,
          state text NOT NULL, attempts bigint NOT NULL DEFAULT 0, leaseOwner text, leaseUntil double precision,
          outcome text, doneBy text, collected boolean NOT NULL DEFAULT false,
          startedAt double precision, finishedAt double precision)
        """,
        "CREATE INDEX extract_file_pending ON extract_file (run, ordinal) WHERE state = 'pending'",
        "CREATE INDEX extract_file_expiry ON extract_file (leaseUntil) WHERE state = 'leased'",
        "CREATE INDEX extract_file_lease ON extract_file (leaseOwner) WHERE state = 'leased'",
        "CREATE INDEX extract_file_collect ON extract_file (run) WHERE state = 'done' AND NOT collected",
        "CREATE INDEX extract_file_job ON extract_file (job)",
      ]
    ),
  ]
}

/// `TaskQueue` on PostgreSQL: claims with `FOR UPDATE SKIP LOCKED`, leases timed by the
/// database's clock, every call retried across a server restart (`SharedDatabase.withRetry`).
public final class PostgresTaskQueue: TaskQueue {
  let database: SharedDatabase
  let logger: Logger
  let notifications: QueueNotifications
  /// The database's clock, in seconds since 1970.
  static let now = "extract(epoch from clock_timestamp())::float8"

  public init(database: SharedDatabase) {
    self.database = database
    self.logger = database.logger
    notifications = QueueNotifications(database: database)
  }

  /// Connects to `location` and migrates the task tables.
  public static func open(_ location: SharedLocation, logger: Logger, reconnectTimeout: Double = 300) async throws
    -> PostgresTaskQueue
  {
    PostgresTaskQueue(
      database: try await SharedDatabase(
        location, schemas: [TaskQueueSchema.self], reconnectTimeout: reconnectTimeout, logger: logger))
  }

  /// Closes the connections.
  public func close() {
    notifications.stop()
    database.close()
  }

  public func mark(_ event: QueueEvent) -> UInt64 { notifications.mark(event) }

  public func wait(for event: QueueEvent, after mark: UInt64, timeout: Double) async throws {
    await notifications.wait(for: event, after: mark, timeout: timeout)
  }

  /// The channel `event` is announced on (a bound parameter of `pg_notify`).
  private static func channel(_ event: QueueEvent) -> String { QueueNotifications.channel(event) }

  public func startJob(_ job: SharedJob) async throws {
    try await database.withRetry("startJob") { client in
      try await client.query(
        """
        INSERT INTO job (name, modelKey, specText, baseDirectory, status, updatedAt, run)
        VALUES (\(job.name), \(job.modelKey), \(job.specText), \(job.baseDirectory), 'running', \(unescaped: Self.now),
          \(job.run))
        ON CONFLICT (name) DO UPDATE SET modelKey = excluded.modelKey, specText = excluded.specText,
        baseDirectory = excluded.baseDirectory, status = 'running', updatedAt = excluded.updatedAt, run = excluded.run
        """, logger: logger)
    }
  }

  public func finishJob(_ name: String, run: String?, status: String) async throws {
    try await database.withRetry("finishJob") { client in
      try await client.query(
        """
        WITH finished AS (
          UPDATE job SET status = \(status), updatedAt = \(unescaped: Self.now)
          WHERE name = \(name) AND (\(run)::text IS NULL OR run = \(run)) RETURNING 1)
        SELECT pg_notify(\(Self.channel(.outcome)), '') FROM finished
        """, logger: logger)
    }
  }

  public func runningJobs() async throws -> [SharedJob] {
    try await database.withRetry("runningJobs") { client in
      var jobs: [SharedJob] = []
      let rows = try await client.query(
        "SELECT name, modelKey, specText, baseDirectory, run FROM job WHERE status = 'running' ORDER BY updatedAt",
        logger: logger)
      for try await (name, key, text, base, run) in rows.decode((String, String, String, String, String).self) {
        jobs.append(SharedJob(name: name, modelKey: key, specText: text, baseDirectory: base, run: run))
      }
      return jobs
    }
  }

  public func jobStatus(_ name: String, run: String?) async throws -> String? {
    try await database.withRetry("jobStatus") { client in
      var status: String?
      for try await value in try await client.query(
        "SELECT status FROM job WHERE name = \(name) AND (\(run)::text IS NULL OR run = \(run))", logger: logger
      ).decode(String.self) {
        status = value
      }
      return status
    }
  }

  public func publish(_ tasks: [QueuedTask]) async throws {
    guard !tasks.isEmpty else { return }
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    let requests = try tasks.map { String(decoding: try encoder.encode($0.request), as: UTF8.self) }
    // One statement per batch of tasks; a task already known keeps its state, except that a
    // failed one gets a fresh set of attempts (a new run retries failures, as on one machine).
    try await database.withRetry("publish") { client in
      try await client.query(
        """
        WITH published AS (
        INSERT INTO task (id, job, kind, level, ordinal, modelKey, request, state, attempts)
        SELECT u.id, u.job, u.kind, u.level, u.ordinal, u.modelKey, u.request, 'pending', 0
        FROM unnest(\(tasks.map(\.id))::text[], \(tasks.map(\.job))::text[], \(tasks.map(\.kind.rawValue))::text[],
          \(tasks.map(\.level))::bigint[], \(tasks.map(\.ordinal))::bigint[], \(tasks.map(\.modelKey))::text[],
          \(requests)::text[]) AS u(id, job, kind, level, ordinal, modelKey, request)
        ON CONFLICT (id) DO UPDATE SET state = 'pending', attempts = 0, error = NULL
        WHERE task.state = 'failed'
        RETURNING 1)
        SELECT pg_notify(\(Self.channel(.claimable)), '') FROM (SELECT 1 FROM published LIMIT 1) AS first
        """, logger: logger)
    }
  }

  public func claim(worker: String, modelKey: String, limit: Int, leaseSeconds: Double) async throws -> [QueuedTask] {
    try await complete([], worker: worker, claimingNext: limit, modelKey: modelKey, leaseSeconds: leaseSeconds).next
  }

  /// A claimed task from its row: id, job, kind, level, ordinal, model key, request (JSON), attempts.
  private static func task(_ row: (String, String, String, Int, Int, String, String, Int)) throws -> QueuedTask {
    let (id, job, kind, level, ordinal, key, request, attempts) = row
    return QueuedTask(
      id: id, job: job, kind: TaskKind(rawValue: kind) ?? .map, level: level, ordinal: ordinal, modelKey: key,
      request: try JSONDecoder().decode(GenerationRequest.self, from: Data(request.utf8)), attempts: attempts)
  }

  public func complete(
    _ id: String, worker: String, result: TaskResult, claimingNext limit: Int, modelKey: String, leaseSeconds: Double
  ) async throws -> (recorded: Bool, next: [QueuedTask]) {
    let (recorded, next) = try await complete(
      [(id, result)], worker: worker, claimingNext: limit, modelKey: modelKey, leaseSeconds: leaseSeconds)
    return (recorded.contains(id), next)
  }

  public func complete(
    _ results: [(id: String, result: TaskResult)], worker: String, claimingNext limit: Int, modelKey: String,
    leaseSeconds: Double
  ) async throws -> (recorded: Set<String>, next: [QueuedTask]) {
    guard !results.isEmpty || limit > 0 else { return ([], []) }
    let statement = CompleteAndClaim(
      results: results, worker: worker, modelKey: modelKey, limit: max(0, limit), leaseSeconds: leaseSeconds)
    return try await database.withRetry("complete") { client in
      var recorded = Set<String>()
      var next: [QueuedTask] = []
      for try await (row, id, job, kind, level, ordinal, key, request, attempts) in try await client.execute(
        statement, logger: logger)
      {
        switch row {
        case "done":
          if let id { recorded.insert(id) }
        case "claimed":
          if let id, let job, let kind, let level, let ordinal, let key, let request, let attempts {
            next.append(try Self.task((id, job, kind, level, ordinal, key, request, attempts)))
          }
        default: break
        }
      }
      let missing = results.map { $0.id }.filter { !recorded.contains($0) }
      if !missing.isEmpty {
        // A retry after a lost connection: the first attempt may have committed.
        let check = try await client.query(
          "SELECT id FROM task WHERE id = ANY(\(missing)::text[]) AND state = 'done' AND doneBy = \(worker)",
          logger: logger)
        for try await id in check.decode(String.self) { recorded.insert(id) }
      }
      return (recorded, next.sorted { ($0.level, $0.ordinal) < ($1.level, $1.ordinal) })
    }
  }

  /// The completion of several tasks and the claim of the next ones in one prepared statement
  /// (parsed and planned once per connection, not once per call). `claim` is this statement
  /// completing nothing. The completed tasks are never claimed back here, even if their leases
  /// ran out meanwhile. The outcome is announced (NOTIFY) only when the statement claims
  /// nothing: a worker that claimed its next task is busy and will complete again soon, and a
  /// coordinator waiting for a level polls meanwhile (every 0.1 s at most); the level's last
  /// completions claim nothing, so the wait at the end of a level is the NOTIFY's.
  private struct CompleteAndClaim: PostgresPreparedStatement {
    static let sql = """
      WITH input AS (
        SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::text[], $7::text[],
          $8::float8[]) AS u(id, output, promptTokens, outputTokens, cachedTokens, engine, model, durationMs)),
      done AS (
        UPDATE task SET state = 'done', output = input.output, error = NULL, promptTokens = input.promptTokens,
          outputTokens = input.outputTokens, cachedTokens = input.cachedTokens, engine = input.engine,
          model = input.model, durationMs = input.durationMs, doneBy = $9, leaseOwner = NULL, leaseUntil = NULL,
          finishedAt = \(PostgresTaskQueue.now)
        FROM input WHERE task.id = input.id AND task.state = 'leased' AND task.leaseOwner = $9
        RETURNING task.id, task.outputTokens),
      counted AS (
        UPDATE worker SET done = done + (SELECT count(*) FROM done),
          outputTokens = worker.outputTokens + (SELECT coalesce(sum(outputTokens), 0) FROM done)
        WHERE id = $9 AND EXISTS (SELECT 1 FROM done) RETURNING 1),
      pending AS (
        SELECT id FROM task WHERE modelKey = $10 AND state = 'pending'
        ORDER BY level, ordinal LIMIT $11 FOR UPDATE SKIP LOCKED),
      expired AS (
        SELECT id FROM task WHERE modelKey = $10 AND state = 'leased' AND leaseUntil < \(PostgresTaskQueue.now)
          AND id <> ALL($1::text[])
        ORDER BY leaseUntil LIMIT $11 FOR UPDATE SKIP LOCKED),
      claimed AS (
        UPDATE task SET state = 'leased', attempts = attempts + 1, leaseOwner = $9,
          leaseUntil = \(PostgresTaskQueue.now) + $12, startedAt = \(PostgresTaskQueue.now)
        WHERE id IN (SELECT id FROM pending UNION ALL SELECT id FROM expired LIMIT $11)
        RETURNING id, job, kind, level, ordinal, modelKey, request, attempts)
      SELECT 'done', id, NULL::text, NULL::text, NULL::bigint, NULL::bigint, NULL::text, NULL::text, NULL::bigint
      FROM done
      UNION ALL
      SELECT 'claimed', id, job, kind, level, ordinal, modelKey, request, attempts FROM claimed
      UNION ALL
      SELECT 'announced', CASE WHEN EXISTS (SELECT 1 FROM done) AND NOT EXISTS (SELECT 1 FROM claimed)
        THEN (SELECT '' FROM (SELECT pg_notify('\(QueueNotifications.channel(.outcome))', '')) AS n) END,
        NULL, NULL, NULL, NULL, NULL, NULL, NULL
      """
    typealias Row = (String, String?, String?, String?, Int?, Int?, String?, String?, Int?)

    let results: [(id: String, result: TaskResult)]
    let worker: String
    let modelKey: String
    let limit: Int
    let leaseSeconds: Double

    func makeBindings() throws -> PostgresBindings {
      var bindings = PostgresBindings(capacity: 12)
      bindings.append(results.map { $0.id })
      bindings.append(results.map { $0.result.output })
      bindings.append(results.map { $0.result.promptTokens })
      bindings.append(results.map { $0.result.outputTokens })
      bindings.append(results.map { $0.result.cachedTokens })
      bindings.append(results.map { $0.result.engine })
      bindings.append(results.map { $0.result.model })
      bindings.append(results.map { $0.result.durationMs })
      bindings.append(worker)
      bindings.append(modelKey)
      bindings.append(limit)
      bindings.append(leaseSeconds)
      return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
  }

  public func heartbeat(_ worker: WorkerInfo, leaseSeconds: Double) async throws {
    try await database.withRetry("heartbeat") { client in
      try await client.query(
        """
        INSERT INTO worker (id, host, pid, startedAt, heartbeatAt)
        VALUES (\(worker.id), \(worker.host), \(worker.pid), \(unescaped: Self.now), \(unescaped: Self.now))
        ON CONFLICT (id) DO UPDATE SET heartbeatAt = excluded.heartbeatAt
        """, logger: logger)
      try await client.query(
        """
        UPDATE task SET leaseUntil = \(unescaped: Self.now) + \(leaseSeconds)
        WHERE leaseOwner = \(worker.id) AND state = 'leased'
        """, logger: logger)
      try await client.query(
        """
        UPDATE extract_file SET leaseUntil = \(unescaped: Self.now) + \(leaseSeconds)
        WHERE leaseOwner = \(worker.id) AND state = 'leased'
        """, logger: logger)
    }
  }

  /// `complete(_:worker:result:claimingNext:…)` claiming nothing: one statement writes a completion.
  @discardableResult
  public func complete(_ id: String, worker: String, result: TaskResult) async throws -> Bool {
    try await complete(id, worker: worker, result: result, claimingNext: 0, modelKey: "", leaseSeconds: 0).recorded
  }

  public func fail(_ id: String, worker: String, error: String, final: Bool, output: String?) async throws {
    try await database.withRetry("fail") { client in
      // A retry is claimable again; a final failure is an outcome.
      try await client.query(
        """
        WITH failed AS (
          UPDATE task SET state = \(final ? "failed" : "pending"), error = \(error),
            output = COALESCE(\(output), output), leaseOwner = NULL, leaseUntil = NULL,
            finishedAt = \(unescaped: Self.now)
          WHERE id = \(id) AND state = 'leased' AND leaseOwner = \(worker) RETURNING 1)
        SELECT pg_notify(\(Self.channel(final ? .outcome : .claimable)), '') FROM failed
        """, logger: logger)
      if final {
        try await client.query("UPDATE worker SET failed = failed + 1 WHERE id = \(worker)", logger: logger)
      }
    }
  }

  public func release(_ id: String, worker: String) async throws {
    try await database.withRetry("release") { client in
      try await client.query(
        """
        WITH released AS (
          UPDATE task SET state = 'pending', attempts = greatest(0, attempts - 1), leaseOwner = NULL,
            leaseUntil = NULL
          WHERE id = \(id) AND state = 'leased' AND leaseOwner = \(worker) RETURNING 1)
        SELECT pg_notify(\(Self.channel(.claimable)), '') FROM released
        """, logger: logger)
    }
  }

  public func outcomes(ids: [String]) async throws -> [TaskOutcome] {
    guard !ids.isEmpty else { return [] }
    return try await database.withRetry("outcomes") { client in
      let rows = try await client.query(
        """
        SELECT id, state, attempts, coalesce(doneBy, leaseOwner), output, error, promptTokens, outputTokens,
          cachedTokens, engine, model, durationMs
        FROM task WHERE id = ANY(\(ids)::text[])
        """, logger: logger)
      var outcomes: [TaskOutcome] = []
      for try await (id, state, attempts, worker, output, error, prompt, out, cached, engine, model, ms) in rows.decode(
        (String, String, Int, String?, String?, String?, Int?, Int?, Int?, String?, String?, Double?).self)
      {
        let state = TaskRecord.State(rawValue: state) ?? .pending
        let result =
          state == .done
          ? TaskResult(
            output: output ?? "", promptTokens: prompt ?? 0, outputTokens: out ?? 0, cachedTokens: cached ?? 0,
            engine: engine ?? "", model: model ?? "", durationMs: ms ?? 0) : nil
        outcomes.append(
          TaskOutcome(
            id: id, state: state, attempts: attempts, worker: worker, result: result, error: error, output: output))
      }
      return outcomes
    }
  }

  public func workers() async throws -> [WorkerStatus] {
    try await database.withRetry("workers") { client in
      let rows = try await client.query(
        """
        SELECT w.id, w.host, w.pid, w.startedAt, w.heartbeatAt, \(unescaped: Self.now) - w.heartbeatAt,
          (SELECT count(*) FROM task t WHERE t.leaseOwner = w.id AND t.state = 'leased')
            + (SELECT count(*) FROM extract_file f WHERE f.leaseOwner = w.id AND f.state = 'leased'), w.done, w.failed,
          w.outputTokens
        FROM worker w ORDER BY w.startedAt
        """, logger: logger)
      var workers: [WorkerStatus] = []
      for try await (id, host, pid, started, beat, silent, claims, done, failed, tokens) in rows.decode(
        (String, String, Int, Double, Double, Double, Int, Int, Int, Int).self)
      {
        workers.append(
          WorkerStatus(
            id: id, host: host, pid: pid, startedAt: started, heartbeatAt: beat, silentFor: silent, claims: claims,
            done: done, failed: failed, outputTokens: tokens))
      }
      return workers
    }
  }
}
