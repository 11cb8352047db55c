import GRDB
import Workspace

/// The tables Ingest owns: sources, documents, ingest exceptions,
/// near-duplicate fingerprints and groups, and mail attachments.
///
/// The migration names are the ones every workspace since the first release
/// recorded; `token_count`, once part of `v1-corpus`, is Segmenter's.
public enum IngestSchema: WorkspaceSchema {
  public static func registerMigrations(in migrator: inout DatabaseMigrator) {
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
    migrator.registerMigration("v-ocr-cache") { db in
      // OCR results by the hash of the pixels read, languages and engine (issue 18).
      try db.create(table: "ocr_cache") { t in
        t.primaryKey("key", .text)
        t.column("text", .text).notNull()
        t.column("confidence", .double).notNull()
        t.column("words", .integer).notNull()
        t.column("at", .double).notNull()
      }
    }
  }
}
