import GRDB
import Storage

/// The tables Segmenter owns: token counts per text and vocabulary, embeddings per text and model.
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
    // Semantic priority: one embedding (Float16 little-endian) per text hash and embedding model.
    migrator.registerMigration("v6-text-embedding") { db in
      try db.create(table: "text_embedding", ifNotExists: true) { t in
        t.column("textHash", .text).notNull()
        t.column("model", .text).notNull()
        t.column("vector", .blob).notNull()
        t.primaryKey(["textHash", "model"])
      }
    }
  }
}
