import Foundation
import GRDB
import Ingest
import Pipeline
import Segmenter
import Testing
import Workspace
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
    // Nothing was created twice or altered: the migration moving token_count to
    // Segmenter found its table there, and later migrations only add tables.
    let after = try schema(ws)
    #expect(Set(before).isSubset(of: Set(after)))
    let added = Set(after).subtracting(before)
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
        "v6-text-embedding",
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
}
