import Foundation
import GRDB
import Ingest
import Storage

/// How a run (or a job's last run) ended; stored as its raw value.
public enum RunStatus: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
  case running
  case done
  case finishedWithFailures = "finished-with-failures"
  case interrupted
}

/// One run of an incremental job, a row of `run`.
public struct RunRecord: Codable, FetchableRecord, MutablePersistableRecord, Sendable, Hashable {
  public static let databaseTableName = "run"

  public var id: Int64?
  public var job: String
  /// `running`, `done`, `finished-with-failures` or `interrupted`.
  public var status: RunStatus
  public var startedAt: Double
  public var finishedAt: Double?
  /// The completed run whose watermarks this run started from.
  public var previousRun: Int64?
  /// Lines new in this run (sources with line locators).
  public var newLines: Int
  /// Windows the period was planned into.
  public var windows: Int
  /// Tasks the engine ran in this run.
  public var executed: Int
  /// The period's final task (its summary).
  public var periodTask: String?
  /// The rolling summary's task after this run.
  public var rollingTask: String?
  /// JSON array of the task ids the rolling summary was made from.
  public var rollingInputs: String?
  public var periodReport: String?
  public var rollingReport: String?

  public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

  /// The decoded `rollingInputs`.
  public var rollingInputList: [String] {
    rollingInputs.flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) } ?? []
  }
}

/// Persists incremental runs and the watermarks of their sources.
public struct RunStore: Sendable {
  let workspace: Workspace

  public init(workspace: Workspace) { self.workspace = workspace }

  /// Starts a run of `job`. A run still marked running was killed (the caller
  /// holds the job's lock): it is marked interrupted.
  func begin(job: String, previous: Int64?) throws -> RunRecord {
    try workspace.db.write { db in
      try db.execute(
        sql: "UPDATE run SET status = ? WHERE job = ? AND status = ?",
        arguments: [RunStatus.interrupted, job, RunStatus.running])
      var run = RunRecord(
        id: nil, job: job, status: .running, startedAt: Date().timeIntervalSince1970, previousRun: previous,
        newLines: 0, windows: 0, executed: 0)
      try run.insert(db)
      return run
    }
  }

  /// Records how `run` ended, the watermarks of its sources and its log template counts, in one transaction.
  func finish(_ run: RunRecord, sources: [SourceWatermark], templateCounts: [Int64: Int] = [:]) throws {
    try workspace.db.write { db in
      var run = run
      run.finishedAt = Date().timeIntervalSince1970
      try run.update(db)
      guard let id = run.id else { return }
      try db.execute(sql: "DELETE FROM run_template WHERE run = ?", arguments: [id])
      for (template, count) in templateCounts.sorted(by: { $0.key < $1.key }) {
        try db.execute(
          sql: "INSERT INTO run_template (run, templateId, count) VALUES (?, ?, ?)", arguments: [id, template, count])
      }
      for s in sources {
        try db.execute(
          sql: """
            INSERT OR REPLACE INTO run_source (run, path, documentHash, lines, prefixHash, firstNew, lastNew)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """,
          arguments: [id, s.path, s.documentHash, s.lines, s.prefixHash, s.firstNew, s.lastNew])
      }
    }
  }

  /// Marks `run` interrupted (SIGINT/SIGTERM); the next run starts from the same watermarks.
  func interrupt(_ run: RunRecord) throws {
    try workspace.db.write { db in
      try db.execute(
        sql: "UPDATE run SET status = ?, finishedAt = ? WHERE id = ?",
        arguments: [RunStatus.interrupted, Date().timeIntervalSince1970, run.id])
    }
  }

  /// The latest run of `job` that finished without failures.
  public func lastCompleted(job: String) throws -> RunRecord? {
    try workspace.db.read { db in
      try RunRecord.filter(Column("job") == job && Column("status") == RunStatus.done).order(Column("id").desc)
        .fetchOne(db)
    }
  }

  /// Template counts of `job`'s completed runs, newest first (ids resolved to the template they joined).
  func templateHistory(job: String, limit: Int) throws -> [[Int64: Int]] {
    try workspace.db.read { db in
      let resolve = try LogTemplateStore.resolver(db)
      let runs = try Int64.fetchAll(
        db, sql: "SELECT id FROM run WHERE job = ? AND status = ? ORDER BY id DESC LIMIT ?",
        arguments: [job, RunStatus.done, limit])
      return try runs.map { run in
        var counts: [Int64: Int] = [:]
        for row in try Row.fetchAll(
          db, sql: "SELECT templateId, count FROM run_template WHERE run = ?", arguments: [run])
        {
          counts[resolve(row["templateId"]), default: 0] += row["count"] as Int
        }
        return counts
      }
    }
  }

  /// Every run of `job`, oldest first.
  public func runs(job: String) throws -> [RunRecord] {
    try workspace.db.read { db in try RunRecord.filter(Column("job") == job).order(Column("id")).fetchAll(db) }
  }

  /// The watermarks `run` recorded, in source order.
  public func sources(run: Int64) throws -> [SourceWatermark] {
    try workspace.db.read { db in
      try Row.fetchAll(db, sql: "SELECT * FROM run_source WHERE run = ? ORDER BY rowid", arguments: [run]).map {
        SourceWatermark(
          path: $0["path"], documentHash: $0["documentHash"], lines: $0["lines"], prefixHash: $0["prefixHash"],
          firstNew: $0["firstNew"], lastNew: $0["lastNew"])
      }
    }
  }
}
