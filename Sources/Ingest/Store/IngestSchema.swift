import GRDB
import Storage

/// The tables Ingest owns: sources, documents, ingest exceptions,
/// near-duplicate fingerprints and groups, mail attachments, and log templates.
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
    migrator.registerMigration("v4-log-templates") { db in
      // Workspace-wide log templates (issue 17); ids are stable, a merged one points at its survivor.
      try db.create(table: "log_template") { t in
        t.autoIncrementedPrimaryKey("id")
        t.column("text", .text).notNull().indexed()
        t.column("tokenCount", .integer).notNull().indexed()
        t.column("createdAt", .double).notNull()  // when the workspace first saw it
        t.column("mergedInto", .integer)  // the template that took it over, if any
      }
      // Each log document's templates (local id = its index in the document's miner output).
      try db.create(table: "log_document_template") { t in
        t.column("documentHash", .text).notNull()
        t.column("localId", .integer).notNull()
        t.column("templateId", .integer).notNull().indexed()
        t.column("count", .integer).notNull()
        t.column("firstLine", .integer).notNull()
        t.column("lastLine", .integer).notNull()
        t.column("firstTime", .double)
        t.column("lastTime", .double)
        t.column("examples", .text).notNull()  // JSON array of line numbers
        t.primaryKey(["documentHash", "localId"])
      }
      // Each log document's per-line local template ids (a blob of little-endian Int32, −1 = continuation).
      try db.create(table: "log_document_lines") { t in
        t.primaryKey("documentHash", .text)
        t.column("layout", .text).notNull()
        t.column("linesBlob", .text).notNull()
        t.column("lineCount", .integer).notNull()
        t.column("saturated", .boolean).notNull()
      }
    }
    migrator.registerMigration("v5-custodians") { db in
      // Who each source belongs to, for discovery productions (issue 19).
      try db.create(table: "source_custodian") { t in
        t.primaryKey("path", .text)  // the source's absolute path
        t.column("custodian", .text).notNull()
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
    migrator.registerMigration("v-log-template-refinement") { db in
      // LLM answers for log templates (issue 31, item 4), by the miner's template and what the
      // answer depends on (the model and the prompt's version): a template is asked about once.
      try db.create(table: "log_template_refinement") { t in
        t.column("scope", .text).notNull()
        t.column("template", .text).notNull()
        t.column("answer", .text).notNull()  // the model's template; "" for none
        t.column("at", .double).notNull()
        t.primaryKey(["scope", "template"])
      }
    }
  }
}
