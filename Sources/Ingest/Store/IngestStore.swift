import Foundation
import GRDB
import Storage

/// Ingest's reads and writes of its tables for one run: sources, documents
/// with their fingerprints and families, exceptions. (`Corpus` reads what
/// ingest stored for the rest of longctx.)
struct IngestStore: Sendable {
  let workspace: Workspace

  /// Every source row recorded so far, by absolute path.
  func sources() async throws -> [String: SourceRow] {
    try await workspace.db.read { db in
      let rows = try SourceRow.fetchAll(db)
      return Dictionary(rows.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
    }
  }

  /// Records one run's outcome of every discovered file and marks `gone`
  /// sources, in one transaction: a crash leaves the previous ingest's state intact.
  func record(
    _ discovered: [DiscoveredFile], outcomes: [String: ExtractionOutcome], gone: [SourceRow], at now: Double
  ) async throws {
    try await workspace.db.write { db in
      for file in discovered {
        guard let outcome = outcomes[file.path] else { continue }
        let attrs = try? FileManager.default.attributesOfItem(atPath: file.path)
        var row = SourceRow(
          path: file.path, displayPath: file.displayPath,
          size: (attrs?[.size] as? NSNumber)?.intValue ?? 0,
          mtime: (attrs?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0,
          contentHash: nil, kind: file.kind?.rawValue ?? "unknown", status: .ok, reason: nil, seenAt: now)
        try db.execute(sql: "DELETE FROM ingest_exception WHERE path = ?", arguments: [file.displayPath])
        switch outcome {
        case .unchanged(let hash):
          row.contentHash = hash
        case .stored(let hash, _, _, let warnings, _):
          row.contentHash = hash
          for w in warnings {
            try Self.recordException(db, path: file.displayPath, severity: .warning, reason: w, at: now)
          }
        case .failed(let reason):
          row.status = .failed
          row.reason = reason
          try Self.recordException(db, path: file.displayPath, severity: .failed, reason: reason, at: now)
        case .skipped(let reason):
          row.status = .skipped
          row.reason = reason
          try Self.recordException(db, path: file.displayPath, severity: .skipped, reason: reason, at: now)
        }
        try row.save(db)
      }
      for var row in gone {
        row.status = .gone
        row.seenAt = now
        try row.update(db)
      }
    }
  }

  /// Records one failure, skip or warning of a file (`report exceptions`).
  static func recordException(
    _ db: Database, path: String, severity: IngestException.Severity, reason: String, at time: Double
  ) throws {
    try db.execute(
      sql: "INSERT INTO ingest_exception (path, severity, reason, at) VALUES (?, ?, ?, ?)",
      arguments: [path, severity.rawValue, reason, time])
  }

  /// Document hashes whose sections came from an extractor version other than
  /// the current one for their kind: extracted again even when their files are unchanged.
  static func staleDocuments(_ workspace: Workspace, redact: Bool = true, ocr: OCRSettings = OCRSettings()) async throws
    -> Set<String>
  {
    try await workspace.db.read { db in
      var stale = Set<String>()
      var present = Set<String>()
      let rows = try Row.fetchCursor(db, sql: "SELECT hash, kind, extractor FROM document")
      while let row = try rows.next() {
        let hash: String = row["hash"]
        present.insert(hash)
        if !DocumentKind.isCurrent(kind: row["kind"], extractor: row["extractor"], redact: redact, ocr: ocr) {
          stale.insert(hash)
        }
      }
      // A mailbox whose attachment is out of date (or missing) is extracted again, which
      // redoes the attachment; `hasCurrentDocument` says the same of it.
      let links = try Row.fetchCursor(db, sql: "SELECT parentHash, documentHash FROM email_attachment")
      var parents = Set<String>()
      while let link = try links.next() {
        let child: String = link["documentHash"]
        if stale.contains(child) || !present.contains(child) { parents.insert(link["parentHash"]) }
      }
      return stale.union(parents)
    }
  }

  /// A document `hash` exists, and it and its attachments come from the current extractor
  /// version for their kinds.
  func hasCurrentDocument(
    _ hash: String, redact: Bool = true, ocr: OCRSettings = OCRSettings(), kind: DocumentKind? = nil
  ) throws -> Bool {
    try workspace.db.read { db in
      let rows = try Row.fetchAll(
        db,
        sql: """
          SELECT kind, extractor FROM document WHERE hash = ?
          UNION ALL
          SELECT d.kind, d.extractor FROM email_attachment a JOIN document d ON d.hash = a.documentHash
          WHERE a.parentHash = ?
          """,
        arguments: [hash, hash])
      // No rows: no document. An attachment link whose document is missing counts as out of date too.
      let linked =
        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM email_attachment WHERE parentHash = ?", arguments: [hash]) ?? 0
      if let kind, let first = rows.first, (first["kind"] as String?) != kind.rawValue { return false }
      return rows.count == linked + 1
        && rows.allSatisfy {
          DocumentKind.isCurrent(kind: $0["kind"], extractor: $0["extractor"], redact: redact, ocr: ocr)
        }
    }
  }

  /// Writes `doc`'s blob, its row, its fingerprint and its family links (a batch of one).
  func store(_ doc: EncodedDocument, hash: String, options: IngestOptions, links: [AttachmentLink] = []) throws {
    let batch = FamilyBatch(workspace)
    try prepare(doc, hash: hash, options: options, links: links, into: batch)
    try commit(batch)
  }

  /// Adds `doc` to `batch`: its blobs written (durable at the batch's commit), its row kept for it.
  func prepare(
    _ doc: EncodedDocument, hash: String, options: IngestOptions, links: [AttachmentLink], into batch: FamilyBatch
  ) throws {
    // Large blobs (big logs) get zstd's fastest level on all cores (level 3
    // alone cost more CPU than the whole log pass), synced on their own.
    let large = doc.sectionsJSON.count > 8 << 20
    let blob =
      try doc.blob.map { try workspace.blobs.put($0) }
      ?? (large
        ? workspace.blobs.put(doc.sectionsJSON, level: 1, threads: Int32(options.concurrency))
        : batch.blobs.put(doc.sectionsJSON, level: 3))
    let linesBlob = try doc.templates.map { try batch.blobs.put($0.encodedLines, level: 3) }
    batch.append(try StoredDocument(doc, hash: hash, blob: blob, linesBlob: linesBlob, links: links, options: options))
  }

  /// Makes `batch`'s blobs durable (one batched sync) and then writes its documents in one transaction.
  /// `beforeRows` runs between the two (tests inject a crash there).
  func commit(_ batch: FamilyBatch, beforeRows: () -> Void = {}) throws {
    guard !batch.isEmpty else { return }
    try batch.blobs.commit()
    beforeRows()
    let documents = batch.documents
    if !documents.isEmpty {
      try workspace.db.write { db in
        for stored in documents { try stored.write(db) }
      }
    }
    batch.committed()
  }

  /// Every family link of the workspace: each parent's children, in order.
  func familyLinks() async throws -> [String: [AttachmentLink]] {
    try await workspace.db.read { db in
      var out: [String: [AttachmentLink]] = [:]
      let rows = try Row.fetchCursor(
        db,
        sql:
          "SELECT parentHash, suffix, documentHash, fileName, contentType FROM email_attachment ORDER BY parentHash, ordinal"
      )
      while let row = try rows.next() {
        out[row["parentHash"] as String, default: []].append(
          AttachmentLink(
            suffix: row["suffix"], documentHash: row["documentHash"], fileName: row["fileName"],
            contentType: row["contentType"]))
      }
      return out
    }
  }
}

/// One document's rows as ingest writes them: the document, its fingerprint,
/// its family links and a log's templates.
struct StoredDocument: Sendable {
  var row: DocumentRow
  var hash: String
  var fingerprint: (hash: UInt64, words: Int)
  var links: [AttachmentLink]
  var templates: LogTemplateIndex?
  var linesBlob: String?

  init(
    _ doc: EncodedDocument, hash: String, blob: String, linesBlob: String?, links: [AttachmentLink],
    options: IngestOptions
  ) throws {
    row = DocumentRow(
      hash: hash, kind: doc.kind.rawValue, title: doc.title,
      metadata: String(decoding: try JSONEncoder().encode(doc.metadata), as: UTF8.self),
      sectionsBlob: blob, sectionCount: doc.sectionCount, pageCount: doc.pageCount,
      charCount: doc.charCount, extractor: doc.kind.stamp(doc.extractor, redact: options.redact, ocr: options.ocr))
    self.hash = hash
    fingerprint = doc.fingerprint
    self.links = links
    templates = doc.templates
    self.linesBlob = linesBlob
  }

  func write(_ db: Database) throws {
    try row.save(db)
    try db.execute(
      sql: "INSERT OR REPLACE INTO document_simhash (documentHash, simhash, words) VALUES (?, ?, ?)",
      arguments: [hash, Int64(bitPattern: fingerprint.hash), fingerprint.words])
    try db.execute(sql: "DELETE FROM email_attachment WHERE parentHash = ?", arguments: [hash])
    for (ordinal, link) in links.enumerated() {
      try db.execute(
        sql: """
          INSERT INTO email_attachment (parentHash, ordinal, suffix, documentHash, fileName, contentType)
          VALUES (?, ?, ?, ?, ?, ?)
          """,
        arguments: [hash, ordinal, link.suffix, link.documentHash, link.fileName, link.contentType])
    }
    if let templates, let linesBlob {
      try LogTemplateStore.record(
        db, documentHash: hash, index: templates, linesBlob: linesBlob, at: Date().timeIntervalSince1970)
    }
  }
}
