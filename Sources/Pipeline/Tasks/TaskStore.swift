import Foundation
import GRDB
import Storage

/// Persists a job's task graph. Every state change is one transaction, so a
/// crash at any moment leaves each task either as it was or as it became.
public struct TaskStore: Sendable {
  let workspace: Workspace

  public init(workspace: Workspace) { self.workspace = workspace }

  /// Stable id of a task from its identity.
  public static func taskID(job: String, kind: TaskKind, level: Int, inputHash: String) -> String {
    Hashing.sha256(parts: [job, kind.rawValue, String(level), inputHash])
  }

  /// Makes `tasks` the current tasks of their kind and level in `job`: new ones are
  /// inserted as pending, existing ones (same inputs) keep their state and output,
  /// and the job's other tasks at that level stop being current.
  public func install(job: String, kind: TaskKind, level: Int, tasks: [TaskRecord]) throws {
    try workspace.db.write { db in
      try db.execute(
        sql: "UPDATE task SET current = 0 WHERE job = ? AND kind = ? AND level = ?",
        arguments: [job, kind, level])
      for task in tasks {
        if var existing = try TaskRecord.fetchOne(db, key: task.id) {
          existing.current = true
          existing.ordinal = task.ordinal
          try existing.update(db)
        } else {
          try task.insert(db)
        }
      }
    }
  }

  /// Drops levels of `kind` above `level` from the current graph (their inputs changed).
  public func retireLevels(job: String, kind: TaskKind = .reduce, above level: Int) throws {
    try workspace.db.write { db in
      try db.execute(
        sql: "UPDATE task SET current = 0 WHERE job = ? AND kind = ? AND level > ?",
        arguments: [job, kind, level])
    }
  }

  /// The task with `id`, current or not.
  public func task(id: String) throws -> TaskRecord? {
    try workspace.db.read { db in try TaskRecord.fetchOne(db, key: id) }
  }

  /// Returns tasks a dead run left leased to pending; the caller holds the job lock.
  @discardableResult
  public func recoverLeases(job: String) throws -> Int {
    try workspace.db.write { db in
      try db.execute(
        sql:
          "UPDATE task SET state = 'pending', leaseOwner = NULL, leaseUntil = NULL WHERE job = ? AND state = 'leased'",
        arguments: [job])
      return db.changesCount
    }
  }

  /// The job's current tasks, in graph order.
  public func currentTasks(job: String) throws -> [TaskRecord] {
    try workspace.db.read { db in
      try TaskRecord.filter(Column("job") == job && Column("current") == true)
        .order(Column("level"), Column("ordinal")).fetchAll(db)
    }
  }

  /// Current tasks of one level.
  public func tasks(job: String, kind: TaskKind, level: Int) throws -> [TaskRecord] {
    try workspace.db.read { db in
      try TaskRecord.filter(
        Column("job") == job && Column("current") == true && Column("kind") == kind && Column("level") == level
      ).order(Column("ordinal")).fetchAll(db)
    }
  }

  /// Marks `id` leased to this process.
  public func lease(_ id: String, owner: String, seconds: Double) throws {
    try workspace.db.write { db in
      let now = Date().timeIntervalSince1970
      // Cached statements: per-task bookkeeping is on the hot path (see BENCHMARKS.md).
      try db.cachedStatement(
        sql: """
          UPDATE task SET state = 'leased', attempts = attempts + 1, leaseOwner = ?, leaseUntil = ?,
          startedAt = ? WHERE id = ?
          """
      ).execute(arguments: [owner, now + seconds, now, id])
    }
  }

  /// Records a task's output.
  public func complete(
    _ id: String, output: String, promptTokens: Int, outputTokens: Int, engine: String, model: String,
    durationMs: Double
  ) throws {
    try workspace.db.write { db in
      try db.cachedStatement(
        sql: """
          UPDATE task SET state = 'done', output = ?, error = NULL, promptTokens = ?, outputTokens = ?,
          engine = ?, model = ?, leaseOwner = NULL, leaseUntil = NULL, finishedAt = ?, durationMs = ?
          WHERE id = ?
          """
      ).execute(
        arguments: [output, promptTokens, outputTokens, engine, model, Date().timeIntervalSince1970, durationMs, id])
    }
  }

  /// Records a failed attempt: back to pending while attempts remain, else failed.
  ///
  /// - Parameter output: The engine's text when the attempt produced one that
  ///   was rejected (invalid structured output); kept for `report` and `status`.
  public func fail(_ id: String, error: String, final: Bool, output: String? = nil) throws {
    try workspace.db.write { db in
      try db.execute(
        sql: """
          UPDATE task SET state = ?, error = ?, output = COALESCE(?, output), leaseOwner = NULL, leaseUntil = NULL,
          finishedAt = ? WHERE id = ?
          """,
        arguments: [final ? "failed" : "pending", error, output, Date().timeIntervalSince1970, id])
    }
  }

  /// Gives an interrupted task back, without counting the attempt.
  public func release(_ id: String) throws {
    try workspace.db.write { db in
      try db.execute(
        sql:
          "UPDATE task SET state = 'pending', attempts = max(0, attempts - 1), leaseOwner = NULL, leaseUntil = NULL WHERE id = ?",
        arguments: [id])
    }
  }

  /// Gives failed tasks a fresh set of attempts (a new run retries them).
  public func resetFailed(job: String) throws {
    try workspace.db.write { db in
      try db.execute(
        sql: "UPDATE task SET state = 'pending', attempts = 0 WHERE job = ? AND current = 1 AND state = 'failed'",
        arguments: [job])
    }
  }

  /// Jobs that have run in this workspace.
  public func jobNames() throws -> [String] {
    try workspace.db.read { db in try String.fetchAll(db, sql: "SELECT DISTINCT job FROM task ORDER BY job") }
  }
}
