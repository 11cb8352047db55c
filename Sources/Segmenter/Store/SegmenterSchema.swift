import GRDB
import Workspace

/// The table Segmenter owns: token counts per text and vocabulary.
public enum SegmenterSchema: WorkspaceSchema {
  public static func registerMigrations(in migrator: inout DatabaseMigrator) {
    // Created by Ingest's `v1-corpus` in workspaces made before the modules
    // owned their tables, hence `ifNotExists`.
    migrator.registerMigration("v3-token-count") { db in
      try db.create(table: "token_count", ifNotExists: true) { t in
        t.column("textHash", .text).notNull()
        t.column("vocabulary", .text).notNull()
        t.column("tokens", .integer).notNull()
        t.primaryKey(["textHash", "vocabulary"])
      }
    }
  }
}
