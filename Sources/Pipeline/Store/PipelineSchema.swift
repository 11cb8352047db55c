import Foundation
import GRDB
import Ingest
import Segmenter
import Storage

/// The tables Pipeline owns: plans, jobs, tasks, and incremental runs with
/// their per-source watermarks.
public enum PipelineSchema: WorkspaceSchema {
  public static func registerMigrations(in migrator: inout DatabaseMigrator) {
    migrator.registerMigration("v1-jobs") { db in
      try db.create(table: "plan") { t in
        t.primaryKey("id", .text)
        t.column("job", .text).notNull().indexed()
        t.column("budget", .integer).notNull()
        t.column("vocabulary", .text).notNull()
        t.column("windowsBlob", .text).notNull()
        t.column("summary", .text).notNull()  // JSON
        t.column("createdAt", .double).notNull()
      }
      try db.create(table: "job") { t in
        t.primaryKey("name", .text)
        t.column("specHash", .text).notNull()
        t.column("planId", .text)
        t.column("status", .text).notNull()
        t.column("updatedAt", .double).notNull()
      }
      try db.create(table: "task") { t in
        t.primaryKey("id", .text)
        t.column("job", .text).notNull()
        t.column("kind", .text).notNull()  // map, reduce
        t.column("level", .integer).notNull()
        t.column("ordinal", .integer).notNull()
        t.column("current", .boolean).notNull()
        t.column("state", .text).notNull()  // pending, leased, done, failed
        t.column("attempts", .integer).notNull()
        t.column("inputHash", .text).notNull()
        t.column("locators", .text).notNull()  // JSON array of locator strings
        t.column("promptTokens", .integer)
        t.column("outputTokens", .integer)
        t.column("output", .text)
        t.column("error", .text)
        t.column("engine", .text)
        t.column("model", .text)
        t.column("leaseOwner", .text)
        t.column("leaseUntil", .double)
        t.column("startedAt", .double)
        t.column("finishedAt", .double)
        t.column("durationMs", .double)
      }
      try db.create(index: "task_job_state", on: "task", columns: ["job", "current", "state"])
    }
    // Incremental (cron) runs of a job: one row per run, and per run the
    // watermark of every source it saw (how many lines, and a hash of them),
    // with the range of lines that were new in that run.
    migrator.registerMigration("v2-runs") { db in
      try db.create(table: "run") { t in
        t.autoIncrementedPrimaryKey("id")
        t.column("job", .text).notNull().indexed()
        t.column("status", .text).notNull()  // running, done, finished-with-failures, interrupted
        t.column("startedAt", .double).notNull()
        t.column("finishedAt", .double)
        t.column("previousRun", .integer)  // the completed run this one continues from
        t.column("newLines", .integer).notNull().defaults(to: 0)
        t.column("windows", .integer).notNull().defaults(to: 0)
        t.column("executed", .integer).notNull().defaults(to: 0)
        t.column("periodTask", .text)  // the period's final task
        t.column("rollingTask", .text)  // the rolling summary's task after this run
        t.column("rollingInputs", .text)  // JSON array of task ids the rolling task reduced
        t.column("periodReport", .text)
        t.column("rollingReport", .text)
      }
      try db.create(table: "run_source") { t in
        t.column("run", .integer).notNull().references("run", onDelete: .cascade)
        t.column("path", .text).notNull()  // display path
        t.column("documentHash", .text).notNull()
        t.column("lines", .integer).notNull()  // watermark: lines seen; 0 for documents without lines
        t.column("prefixHash", .text).notNull()  // hash of those lines (or the document hash)
        t.column("firstNew", .integer)  // first new line in this run; NULL: nothing new
        t.column("lastNew", .integer)
        t.primaryKey(["run", "path"])
      }
    }
    migrator.registerMigration("v3-run-templates") { db in
      // Events per log template in each incremental run's new lines (issue 17): the history
      // "rose/fell tenfold" compares against.
      try db.create(table: "run_template") { t in
        t.column("run", .integer).notNull().references("run", onDelete: .cascade)
        t.column("templateId", .integer).notNull()
        t.column("count", .integer).notNull()
        t.primaryKey(["run", "templateId"])
      }
    }
    migrator.registerMigration("v4-productions") { db in
      // Bates numbers given per job and document (issue 19): producing again keeps them.
      try db.create(table: "production_bates") { t in
        t.column("job", .text).notNull()
        t.column("documentKey", .text).notNull()  // cited path, "|", document hash
        t.column("begin", .integer).notNull()
        t.column("pages", .integer).notNull()
        t.primaryKey(["job", "documentKey"])
      }
    }
    migrator.registerMigration("v5-job-source") { db in
      // The job file `run` ran, as the shared workspace's `job` table holds it (issue 29): its
      // text and the directory its relative paths resolve against, so that `report NAME` gives
      // the report `run` wrote (the coding table, the cost, the job's own exceptions). NULL in
      // rows written before: their report needs the job file.
      try db.alter(table: "job") { t in
        t.add(column: "specText", .text)
        t.add(column: "baseDirectory", .text)
      }
    }
  }

  /// Every module's schema, in dependency order: what a longctx workspace holds.
  public static let all: [any WorkspaceSchema.Type] = [
    IngestSchema.self, SegmenterSchema.self, PipelineSchema.self, LimitsSchema.self,
  ]
}

extension Workspace {
  /// Opens the workspace at `root` with every module's tables
  /// (`PipelineSchema.all`).
  public convenience init(root: URL) throws {
    try self.init(root: root, schemas: PipelineSchema.all)
  }
}
