import Foundation
import GRDB
import Testing

@testable import Storage

private enum Notes: WorkspaceSchema {
  static func registerMigrations(in migrator: inout DatabaseMigrator) {
    migrator.registerMigration("test-notes-v1") { db in
      try db.create(table: "note") { t in t.column("text", .text).notNull() }
    }
  }
}

private enum Tags: WorkspaceSchema {
  static func registerMigrations(in migrator: inout DatabaseMigrator) {
    migrator.registerMigration("test-tags-v1") { db in
      try db.create(table: "tag") { t in t.column("name", .text).notNull() }
    }
  }
}

@Suite struct WorkspaceSchemaTests {
  func tables(_ ws: Workspace) throws -> Set<String> {
    try ws.db.read { db in
      Set(
        try String.fetchAll(
          db,
          sql:
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'grdb_%' AND name NOT LIKE 'sqlite_%'"
        ))
    }
  }

  /// A module can open a workspace with its tables alone, and a process
  /// that knows more modules later adds theirs without touching what is there.
  @Test func modulesMigrateTheirOwnTablesInAnyCombination() throws {
    let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("ws-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: dir) }
    do {
      let ws = try Workspace(root: dir, schemas: [Notes.self])
      #expect(try tables(ws) == ["note"])
      try ws.db.write { db in try db.execute(sql: "INSERT INTO note (text) VALUES ('kept')") }
    }
    do {
      // Tags alone: the notes migration it does not know is left alone.
      let ws = try Workspace(root: dir, schemas: [Tags.self])
      #expect(try tables(ws) == ["note", "tag"])
    }
    let ws = try Workspace(root: dir, schemas: [Notes.self, Tags.self])
    #expect(try tables(ws) == ["note", "tag"])
    let notes = try ws.db.read { db in try String.fetchAll(db, sql: "SELECT text FROM note") }
    #expect(notes == ["kept"])
    let applied = try ws.db.read { db in
      try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier")
    }
    #expect(applied == ["test-notes-v1", "test-tags-v1"])
  }
}
