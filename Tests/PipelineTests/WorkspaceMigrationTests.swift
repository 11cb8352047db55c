import Foundation
import GRDB
import Ingest
import Pipeline
import Segmenter
import Storage
import Testing
import _LongctxTestSupport

/// Workspaces made before the modules owned their tables (one migrator in
/// Workspace) open with the module schemas, rows intact.
@Suite struct WorkspaceMigrationTests {
  /// `sqlite3 state.sqlite .dump` of a workspace that commit 286e67c made by
  /// `longctx ingest Samples/logs Samples/mail`.
  static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Fixtures/workspace-before-module-schemas.sql")

  @Test func workspaceMadeBeforeModuleSchemasOpensWithItsRows() throws {
    let tmp = try TemporaryDirectory()
    let root = tmp.url.appendingPathComponent("ws")
    try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    do {
      let old = try DatabaseQueue(path: root.appendingPathComponent("state.sqlite").path)
      try old.writeWithoutTransaction { db in try db.execute(sql: try String(contentsOf: Self.fixture, encoding: .utf8))
      }
    }
    func schema(_ ws: Workspace) throws -> [String] {
      try ws.db.read { db in
        try String.fetchAll(
          db, sql: "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'grdb_%' ORDER BY name")
      }
    }
    let before = try DatabaseQueue(path: root.appendingPathComponent("state.sqlite").path).read { db in
      try String.fetchAll(
        db, sql: "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'grdb_%' ORDER BY name")
    }
    let ws = try Workspace(root: root)
    // Nothing was created twice or altered but `job`: the migration moving token_count to
    // Segmenter found its table there, later migrations add tables, and `v5-job-source` adds
    // the recorded job file to `job`.
    let after = try schema(ws)
    let oldJob =
      #"CREATE TABLE "job" ("name" TEXT PRIMARY KEY NOT NULL, "specHash" TEXT NOT NULL, "planId" TEXT, "status" TEXT NOT NULL, "updatedAt" DOUBLE NOT NULL"#
    #expect(before.contains(oldJob + ")"))
    #expect(after.contains(oldJob + #", "specText" TEXT, "baseDirectory" TEXT)"#))
    #expect(Set(before).subtracting([oldJob + ")"]).isSubset(of: Set(after)))
    let added = Set(after).subtracting(before).subtracting([oldJob + #", "specText" TEXT, "baseDirectory" TEXT)"#])
    #expect(
      added.allSatisfy {
        $0.hasPrefix("CREATE TABLE \"log_") || $0.hasPrefix("CREATE INDEX \"log_")
          || $0.hasPrefix("CREATE TABLE \"run_template\"")
          || $0.hasPrefix("CREATE TABLE \"source_custodian\"") || $0.hasPrefix("CREATE TABLE \"production_bates\"")
          || $0.hasPrefix("CREATE TABLE \"ocr_cache\"")
          || $0.hasPrefix("CREATE TABLE rate_limit") || $0.hasPrefix("CREATE TABLE budget_call")
          || $0.hasPrefix("CREATE INDEX budget_call_job") || $0.hasPrefix("CREATE TABLE \"text_embedding\"")
      },
      "\(added)")
    let applied = try ws.db.read { db in try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations") }
    #expect(
      Set(applied) == [
        "v1-corpus", "v1-jobs", "v2-runs", "v2-near-duplicates", "v2-email-attachments", "v3-token-count",
        "v4-log-templates", "v3-run-templates", "v5-custodians", "v4-productions", "v-ocr-cache", "v-limits-1",
        "v6-text-embedding", "v5-job-source", "v-log-template-refinement",
      ])
    let counts = try ws.db.read { db in
      (
        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM source") ?? -1,
        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM document") ?? -1
      )
    }
    #expect(counts.0 == 5 && counts.1 == 6)
    for table in [
      "source", "document", "ingest_exception", "document_simhash", "near_duplicate", "email_attachment",
      "token_count", "plan", "job", "task", "run", "run_source",
    ] {
      #expect(try schema(ws).contains { $0.hasPrefix("CREATE TABLE \"\(table)\"") }, "\(table)")
    }

    // A new workspace gets the same tables and columns as the migrated old one.
    let fresh = try Workspace(root: tmp.url.appendingPathComponent("fresh"))
    #expect(try schema(fresh) == after)
  }

  /// `sqlite3 state.sqlite .dump` of a workspace that commit 40e3809 (task locators stored
  /// as a JSON string) wrote with the fake engine: jobs `mixed` (map and reduce), `perdoc`
  /// (`map.per: document`) and `nightly` (incremental, two periods: a rolling summary)
  /// over a log, a text file with a path outside ASCII, HTML, a PDF, an mbox with an
  /// attachment, a DOCX, an XLSX, a PPTX and a PST.
  static let tasksFixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Fixtures/workspace-with-tasks-40e3809.sql")

  @Test func tasksWrittenBeforeLocatorsWereTypedReadTheSameAndRewriteByteForByte() throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let root = tmp.url.appendingPathComponent("ws")
    try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    do {
      let old = try DatabaseQueue(path: root.appendingPathComponent("state.sqlite").path)
      try old.writeWithoutTransaction { db in
        try db.execute(sql: try String(contentsOf: Self.tasksFixture, encoding: .utf8))
      }
    }
    let ws = try Workspace(root: root)
    func columns() throws -> [String: Data] {
      try ws.db.read { db in
        var out: [String: Data] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT id, CAST(locators AS BLOB) AS text FROM task") {
          out[row["id"]] = row["text"]
        }
        return out
      }
    }
    let before = try columns()
    #expect(before.count == 24)
    let tasks = try ws.db.read { db in try TaskRecord.order(Column("id")).fetchAll(db) }
    #expect(tasks.count == 24)

    // Each task's locators are its stored citations, each parsed (none kept as a whole-file path).
    for task in tasks {
      let stored = try JSONDecoder().decode([String].self, from: try #require(before[task.id]))
      #expect(task.locatorList == stored)
      #expect(task.locators.allSatisfy { Locator(citation: $0.description[...]) == $0 }, "\(task.id)")
    }
    let read = Set(tasks.flatMap(\.locators))
    let some = [
      Locator(path: "docs/app.log", lineStart: 1, lineEnd: 96), Locator(path: "docs/contract.pdf", page: 3),
      Locator(path: "docs/58067.docx", paragraph: 1, paragraphEnd: 6),
      Locator(path: "docs/page.html", paragraph: 1, paragraphEnd: 30),
      Locator(path: "docs/book.xlsx", sheet: "Report", cells: "A1:I4"), Locator(path: "docs/deck.pptx", slide: 9),
      Locator(path: "docs/notes/ünïcode & space.txt", lineStart: 1, lineEnd: 12),
      Locator(path: "docs/ops-team.mbox", message: "weekly-10.tf@harborfreight.example"),
      Locator(
        path: "docs/ops-team.mbox#msg=weekly-10.tf@harborfreight.example/attachment=late-shipments-w11.csv",
        lineStart: 1, lineEnd: 4),
    ]
    for locator in some { #expect(read.contains(locator), "\(locator)") }
    #expect(read.contains { $0.path == "docs/store.pst" && $0.folder == "Inbox/tmp" && $0.message != nil })

    // The rolling summary: the earlier summary's locators and the period's, each once, adjacent lines merged.
    let rolling = try #require(tasks.first { $0.kind == .rolling })
    #expect(
      rolling.locators == [
        Locator(path: "docs/app.log", lineStart: 1, lineEnd: 120),
        Locator(path: "docs/page.html", paragraph: 1, paragraphEnd: 30),
        Locator(path: "docs/app.log", lineStart: 121, lineEnd: 200),
      ])
    let earlier = try #require(tasks.first { $0.job == "nightly" && $0.kind == .reduce })
    let period = try #require(tasks.first { $0.job == "nightly" && $0.kind == .map && $0.current })
    #expect((earlier.locators + period.locators).uniqued().compacted() == rolling.locators)

    // Written back whole (as `TaskStore.install` rewrites a task it finds), every column keeps its bytes.
    try ws.db.write { db in for task in tasks { try task.update(db) } }
    #expect(try columns() == before)
    let maps = tasks.filter { $0.job == "perdoc" && $0.kind == .map }
    try TaskStore(workspace: ws).install(job: "perdoc", kind: .map, level: 0, tasks: maps)
    #expect(try columns() == before)
    // A new record of the same locators writes the same text.
    for task in tasks {
      var copy = TaskRecord(
        id: "copy-" + task.id, job: task.job, kind: task.kind, level: task.level, ordinal: task.ordinal,
        inputHash: task.inputHash, locators: task.locators)
      copy.current = false
      try ws.db.write { db in try copy.insert(db) }
    }
    let copies = try columns()
    for (id, bytes) in before { #expect(copies["copy-" + id] == bytes, "\(id)") }
  }
}
