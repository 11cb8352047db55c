import GRDB

extension Workspace {
  /// The schema's history. Migrations are never edited once shipped; add a new one.
  static var migrator: DatabaseMigrator {
    var migrator = DatabaseMigrator()
    migrator.registerMigration("v1-corpus") { db in
      try db.create(table: "source") { t in
        t.primaryKey("path", .text)  // absolute path of the file
        t.column("displayPath", .text).notNull()  // path as cited in reports
        t.column("size", .integer).notNull()
        t.column("mtime", .double).notNull()
        t.column("contentHash", .text)
        t.column("kind", .text).notNull()
        t.column("status", .text).notNull()  // ok, failed, skipped, gone
        t.column("reason", .text)
        t.column("seenAt", .double).notNull()
      }
      try db.create(table: "document") { t in
        t.primaryKey("hash", .text)  // sha256 of the source bytes
        t.column("kind", .text).notNull()
        t.column("title", .text)
        t.column("metadata", .text).notNull()  // JSON object
        t.column("sectionsBlob", .text).notNull()
        t.column("sectionCount", .integer).notNull()
        t.column("pageCount", .integer)
        t.column("charCount", .integer).notNull()
        t.column("extractor", .text).notNull()
      }
      try db.create(table: "ingest_exception") { t in
        t.autoIncrementedPrimaryKey("id")
        t.column("path", .text).notNull().indexed()
        t.column("severity", .text).notNull()  // failed, skipped, warning
        t.column("reason", .text).notNull()
        t.column("at", .double).notNull()
      }
      try db.create(table: "token_count") { t in
        t.column("textHash", .text).notNull()
        t.column("vocabulary", .text).notNull()
        t.column("tokens", .integer).notNull()
        t.primaryKey(["textHash", "vocabulary"])
      }
    }
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
    migrator.registerMigration("v2-near-duplicates") { db in
      // One SimHash fingerprint per document (ingest issue 3).
      try db.create(table: "document_simhash") { t in
        t.primaryKey("documentHash", .text)
        t.column("simhash", .integer).notNull()  // the 64 bits as a signed integer
        t.column("words", .integer).notNull()
      }
      // Near-duplicate groups of the documents of current sources, rebuilt after each ingest.
      try db.create(table: "near_duplicate") { t in
        t.primaryKey("documentHash", .text)
        t.column("groupId", .text).notNull().indexed()  // the group's smallest document hash
        t.column("distance", .integer).notNull()  // bits from the group's first document
      }
    }
    migrator.registerMigration("v2-email-attachments") { db in
      // PDF and text attachments ingested as child documents of their mailbox (ingest issue 3).
      try db.create(table: "email_attachment") { t in
        t.column("parentHash", .text).notNull()  // the mailbox's document
        t.column("ordinal", .integer).notNull()
        t.column("suffix", .text).notNull()  // "#msg=<id>/attachment=<name>", appended to the mailbox's path
        t.column("documentHash", .text).notNull().indexed()  // the attachment's document
        t.column("fileName", .text).notNull()
        t.column("contentType", .text).notNull()
        t.primaryKey(["parentHash", "ordinal"])
      }
    }
    return migrator
  }
}
