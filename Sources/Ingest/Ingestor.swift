import Foundation
import GRDB
import Logging
import Workspace

/// Options of one ingest run.
public struct IngestOptions: Sendable {
  /// Extract every file as this kind instead of detecting it.
  public var kind: DocumentKind?
  /// The password for encrypted PDFs.
  public var password: String?
  /// Every password the user gave (`--password-file`, one per line), tried in
  /// order on encrypted archives, archive members and Office files; `password` is the first.
  public var passwords: [String] = []
  /// The directory that relative inputs and display paths are taken from.
  public var base: URL
  /// How many files to extract at once.
  public var concurrency: Int
  /// Extract every file in child processes (a crash, hang or runaway
  /// allocation on one file is that file's recorded failure); `nil`
  /// extracts in this process.
  public var worker: ExtractionWorker?
  /// Replace secrets with `[REDACTED:kind]` (and record each); off keeps the
  /// extracted text faithful to the file, as productions need.
  public var redact = true
  /// Which scanned pages and images are read with OCR (`--ocr`, the job's `ocr:`).
  public var ocr = OCRSettings()
  /// A known-file list (`--denist`, the job's `ingest.denist` or `production.denist`):
  /// files on it are skipped as "known file (NSRL)" and counted in `knownFiles`.
  public var denist: String?
  /// Pages of the file in hand not to OCR (they crashed an isolated worker).
  var skippedOCRPages: Set<Int> = []

  public init(kind: DocumentKind? = nil, password: String? = nil, base: URL, concurrency: Int? = nil) {
    self.kind = kind
    self.password = password
    self.base = base
    self.concurrency = concurrency ?? max(1, ProcessInfo.processInfo.activeProcessorCount)
  }
}

/// What one ingest run did.
public struct IngestSummary: Codable, Sendable {
  public var seen = 0
  public var new = 0
  public var changed = 0
  public var unchanged = 0
  public var failed = 0
  public var skipped = 0
  public var gone = 0
  public var pages = 0
  public var bytes = 0
  public var seconds = 0.0
  /// How many files were run through an extractor (not unchanged, not duplicates).
  public var extracted = 0
  /// Unchanged files extracted again because their document was made by an
  /// older extractor version (also counted as unchanged, and in `extracted`).
  public var reextracted = 0
  /// Files skipped as known files (NSRL, `denist`); also counted in `skipped`.
  public var knownFiles = 0
  /// The usable files, in source order: display path and document hash.
  public var files: [IngestedFile] = []
  /// Failures and skips of this run, one line each.
  public var exceptions: [IngestException] = []
}

/// A file that has a document in the workspace.
public struct IngestedFile: Codable, Sendable, Hashable {
  public var displayPath: String
  public var documentHash: String

  public init(displayPath: String, documentHash: String) {
    self.displayPath = displayPath
    self.documentHash = documentHash
  }
}

/// A file that failed, was skipped, or extracted with a warning.
public struct IngestException: Codable, Sendable, Hashable {
  public var path: String
  public var severity: Severity
  public var reason: String

  public init(path: String, severity: Severity, reason: String) {
    self.path = path
    self.severity = severity
    self.reason = reason
  }

  /// How bad it is; stored and printed as its raw value.
  public enum Severity: String, Codable, Sendable, Hashable {
    /// Its extractor failed: no document.
    case failed
    /// Not extracted on purpose (binary, vendored, too large, …).
    case skipped
    /// Extracted, with something a reviewer should know.
    case warning
  }
}

/// Turns input paths into documents in the workspace, incrementally.
public struct Ingestor: Sendable {
  let workspace: Workspace
  let logger: Logger

  public init(workspace: Workspace, logger: Logger) {
    self.workspace = workspace
    self.logger = logger
  }

  /// Ingests `inputs`: unchanged files cost a stat, changed and new ones are
  /// extracted on all cores, failures are recorded and the batch goes on.
  ///
  /// - Throws: `IngestError.pathNotFound` for a missing input, before anything is written.
  public func ingest(inputs: [String], options: IngestOptions) async throws -> IngestSummary {
    let clock = ContinuousClock.now
    // The workspace itself is never input (it may sit inside an input directory).
    let workspaceRoot = workspace.root.standardizedFileURL.resolvingSymlinksInPath().path + "/"
    let discovered = try Discovery.discover(inputs: inputs, base: options.base, forcedKind: options.kind)
      .filter { !URL(fileURLWithPath: $0.path).resolvingSymlinksInPath().path.hasPrefix(workspaceRoot) }
    var summary = IngestSummary()
    summary.seen = discovered.count
    let known: [String: SourceRow] = try await workspace.db.read { db in
      let rows = try SourceRow.fetchAll(db)
      return Dictionary(rows.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
    }
    let stale = try await Self.staleDocuments(workspace, redact: options.redact, ocr: options.ocr)

    // Decide what needs work; only changed and new files are read, and unchanged ones
    // whose document an older extractor version made.
    var work: [(DiscoveredFile, SourceRow?)] = []
    var sizes: [String: Int] = [:]
    var results: [String: Outcome] = [:]
    var outdated = Set<String>()
    let knownFiles = try options.denist.map { try KnownFiles(path: $0) }
    for file in discovered {
      if let reason = file.skipReason {
        results[file.path] = .skipped(reason)
        continue
      }
      if let knownFiles, let bytes = FileManager.default.contents(atPath: file.path), knownFiles.contains(bytes) {
        results[file.path] = .skipped(KnownFiles.reason)
        summary.knownFiles += 1
        continue
      }
      let attrs = try? FileManager.default.attributesOfItem(atPath: file.path)
      let size = (attrs?[.size] as? NSNumber)?.intValue ?? 0
      let mtime = (attrs?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
      // A file now detected as another kind (`inbox.mbox.txt` once read as text) is extracted again.
      if let row = known[file.path], row.status == .ok, row.size == size, row.mtime == mtime,
        let hash = row.contentHash, row.kind == file.kind?.rawValue
      {
        if !stale.contains(hash) {
          results[file.path] = .unchanged(hash)
          continue
        }
        outdated.insert(file.path)
      }
      work.append((file, known[file.path]))
      sizes[file.path] = size
    }

    let extracted = await extractAll(work.map(\.0), sizes: sizes, options: options)
    // Files that count as unchanged though extracted again (their warnings and pages stay).
    var reextractedPaths = Set<String>()
    for (file, previous) in work {
      results[file.path] = extracted[file.path] ?? .failed("extraction did not finish")
      let sameBytes: Bool
      if case .stored(let hash, _, _, _, _) = results[file.path] {
        sameBytes = previous?.contentHash == hash
      } else {
        sameBytes = false
      }
      if outdated.contains(file.path), let old = previous?.contentHash {
        if case .failed(let reason) = results[file.path] {
          // The earlier extraction stays in use: an upgrade must not lose a file that worked.
          results[file.path] = .stored(
            old, 0, 0,
            ["not extracted again by the current extractor version (\(reason)); the earlier extraction is kept"],
            false)
          reextractedPaths.insert(file.path)
          continue
        }
        if sameBytes {
          if case .stored(_, _, _, _, true) = results[file.path] { summary.reextracted += 1 }
          reextractedPaths.insert(file.path)
          continue
        }
      }
      if case .stored(let hash, _, _, _, _) = results[file.path], sameBytes {
        results[file.path] = .unchanged(hash)
      } else if case .stored = results[file.path] {
        if previous == nil { summary.new += 1 } else { summary.changed += 1 }
      }
    }

    let now = Date().timeIntervalSince1970
    let roots = inputs.map {
      ($0.hasPrefix("/") ? URL(fileURLWithPath: $0) : options.base.appendingPathComponent($0)).standardizedFileURL.path
    }
    let seenPaths = Set(discovered.map(\.path))
    let goneRows = known.values.filter { row in
      row.status != .gone && !seenPaths.contains(row.path)
        && roots.contains { row.path == $0 || row.path.hasPrefix($0 + "/") }
    }
    summary.gone = goneRows.count

    // One transaction: a crash leaves the previous ingest's state intact.
    let outcomes = results
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
      for var row in goneRows {
        row.status = .gone
        row.seenAt = now
        try row.update(db)
      }
    }

    try await NearDuplicateIndex(workspace: workspace).rebuild()
    // Children (attachments, archive members, messages of a store) follow their parent
    // in `files`, so jobs plan and cite them.
    let attachments = try await familyLinks()
    func appendFile(_ displayPath: String, _ hash: String, depth: Int = 0) {
      summary.files.append(IngestedFile(displayPath: displayPath, documentHash: hash))
      guard depth <= Self.maxFamilyDepth else { return }
      for link in attachments[hash] ?? [] {
        appendFile(displayPath + link.suffix, link.documentHash, depth: depth + 1)
      }
    }

    for file in discovered {
      switch results[file.path] {
      case .unchanged(let hash)?:
        summary.unchanged += 1
        appendFile(file.displayPath, hash)
      case .stored(let hash, let pages, let bytes, let warnings, let fresh)?:
        if fresh { summary.extracted += 1 }
        if reextractedPaths.contains(file.path) { summary.unchanged += 1 }
        summary.pages += pages
        summary.bytes += bytes
        appendFile(file.displayPath, hash)
        for w in warnings {
          summary.exceptions.append(IngestException(path: file.displayPath, severity: .warning, reason: w))
        }
      case .failed(let reason)?:
        summary.failed += 1
        summary.exceptions.append(IngestException(path: file.displayPath, severity: .failed, reason: reason))
        logger.warning("ingest failed", metadata: ["file": "\(file.displayPath)", "reason": "\(reason)"])
      case .skipped(let reason)?:
        summary.skipped += 1
        summary.exceptions.append(IngestException(path: file.displayPath, severity: .skipped, reason: reason))
      case nil:
        break
      }
    }
    let elapsed = ContinuousClock.now - clock
    summary.seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    return summary
  }

  // MARK: - Extraction

  enum Outcome: Sendable, Codable {
    case unchanged(String)
    case stored(String, Int, Int, [String], Bool)  // hash, pages, bytes, warnings, extracted now
    case failed(String)
    case skipped(String)
  }

  private func extractAll(_ files: [DiscoveredFile], sizes: [String: Int], options: IngestOptions) async
    -> [String: Outcome]
  {
    if let worker = options.worker {
      return await extractIsolated(files, sizes: files.map { sizes[$0.path] ?? 0 }, worker: worker, options: options)
    }
    var out: [String: Outcome] = [:]
    await withTaskGroup(of: (String, Outcome).self) { group in
      var iterator = files.makeIterator()
      func addNext() -> Bool {
        guard let file = iterator.next() else { return false }
        group.addTask { (file.path, self.extractOne(file, options: options)) }
        return true
      }
      for _ in 0..<options.concurrency where !addNext() { break }
      for await (path, outcome) in group {
        out[path] = outcome
        _ = addNext()
      }
    }
    return out
  }

  func extractOne(_ file: DiscoveredFile, options: IngestOptions) -> Outcome {
    guard let kind = file.kind else { return .skipped(file.skipReason ?? "unknown kind") }
    var copyPath: String?
    do {
      // A log is read once: hashed, then extracted from the same bytes.
      let (logBytes, logMapping) = kind == .log ? try Decompression.readMapped(path: file.path) : (nil, nil)
      let hash: String
      var extracted: Result<EncodedDocument, any Error>?
      if let logBytes, logMapping != nil {
        (hash, extracted) = hashWhileExtracting(logBytes, file, redact: options.redact)
      } else {
        hash = try logBytes.map { Hashing.sha256($0) } ?? Hashing.sha256(fileAt: URL(fileURLWithPath: file.path))
      }
      if logMapping?.truncated == true { throw IngestError.truncatedWhileReading(path: file.path) }
      let size = (try? FileManager.default.attributesOfItem(atPath: file.path)[.size] as? NSNumber)??.intValue ?? 0
      // An exact duplicate: stored once, linked (unless its extraction is out of date).
      if try hasCurrentDocument(hash, redact: options.redact, ocr: options.ocr, kind: kind) {
        return .stored(hash, 0, size, [], false)
      }
      var doc: EncodedDocument
      var links: [AttachmentLink] = []
      // A compressed PDF, mailbox or text (`manual.pdf.gz`) is read from a decompressed copy.
      let copy = kind == .log ? nil : try Decompression.materializeIfCompressed(path: file.path)
      defer { if let copy { try? FileManager.default.removeItem(at: copy.deletingLastPathComponent()) } }
      copyPath = copy?.path
      let source = copy?.path ?? file.path
      if kind == .log {
        doc =
          try extracted?.get()
          ?? LogExtractor(redact: options.redact).extractEncoded(
            raw: logBytes ?? Decompression.readRaw(path: file.path), path: file.path, displayPath: file.displayPath)
        if logMapping?.truncated == true { throw IngestError.truncatedWhileReading(path: file.path) }
      } else {
        if kind == .image && options.ocr.mode == .off {
          return .skipped("image file not read: OCR is off (--ocr off)")
        }
        guard let extractor = Extractors.extractor(for: kind) else {
          return .skipped("\(kind.rawValue) files are not read yet")
        }
        let input = ExtractionInput(
          path: source, displayPath: file.displayPath, options: options, ocrCache: OCRCache.of(workspace))
        let extraction = try extractor.extract(input)
        doc = extraction.encoded
        // Children first: the parent's row and its links then go in one transaction.
        var warnings: [String] = []
        links = storeChildren(
          extraction.children, displayPath: file.displayPath, options: options, depth: 1, warnings: &warnings)
        doc.warnings += warnings
      }
      try store(doc, hash: hash, options: options, links: links)
      return .stored(hash, doc.pageCount ?? 0, size, doc.warnings, true)
    } catch {
      // Reasons cite the path as the user gave it, not the absolute (or decompressed copy's) path.
      var reason = error.userDescription
      if let copyPath { reason = reason.replacingOccurrences(of: copyPath, with: file.displayPath) }
      // A display path that holds the path (`../../x/a.doc` holds `/x/a.doc`), already cited, stays as it is.
      if file.displayPath.contains(file.path) && reason.contains(file.displayPath) { return .failed(reason) }
      return .failed(reason.replacingOccurrences(of: file.path, with: file.displayPath))
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

  /// Hashes a large log's bytes while extracting them: the hash is one
  /// core's sequential work, the log pass keeps every core busy, so side by
  /// side they take less time than one after the other. The extraction is
  /// wasted when a document with that hash exists already (rare).
  private func hashWhileExtracting(_ bytes: Data, _ file: DiscoveredFile, redact: Bool) -> (
    String, Result<EncodedDocument, any Error>
  ) {
    let (doc, hash) = alongside({ Hashing.sha256(bytes) }) {
      Result {
        try LogExtractor(redact: redact).extractEncoded(raw: bytes, path: file.path, displayPath: file.displayPath)
      }
    }
    return (hash, doc)
  }

  /// Writes `doc`'s blob, its row, its fingerprint and its attachment links.
  func store(_ doc: EncodedDocument, hash: String, options: IngestOptions, links: [AttachmentLink] = []) throws {
    // Large blobs (big logs) get zstd's fastest level on all cores: level 3
    // alone cost more CPU than the whole log pass.
    let large = doc.sectionsJSON.count > 8 << 20
    let blob =
      try doc.blob.map { try workspace.blobs.put($0) }
      ?? workspace.blobs.put(doc.sectionsJSON, level: large ? 1 : 3, threads: large ? Int32(options.concurrency) : 0)
    let linesBlob = try doc.templates.map { try workspace.blobs.put($0.encodedLines, level: 3) }
    let row = DocumentRow(
      hash: hash, kind: doc.kind.rawValue, title: doc.title,
      metadata: String(decoding: try JSONEncoder().encode(doc.metadata), as: UTF8.self),
      sectionsBlob: blob, sectionCount: doc.sectionCount, pageCount: doc.pageCount,
      charCount: doc.charCount, extractor: doc.kind.stamp(doc.extractor, redact: options.redact, ocr: options.ocr))
    try workspace.db.write { db in
      try row.save(db)
      try db.execute(
        sql: "INSERT OR REPLACE INTO document_simhash (documentHash, simhash, words) VALUES (?, ?, ?)",
        arguments: [hash, Int64(bitPattern: doc.fingerprint.hash), doc.fingerprint.words])
      try db.execute(sql: "DELETE FROM email_attachment WHERE parentHash = ?", arguments: [hash])
      for (ordinal, link) in links.enumerated() {
        try db.execute(
          sql: """
            INSERT INTO email_attachment (parentHash, ordinal, suffix, documentHash, fileName, contentType)
            VALUES (?, ?, ?, ?, ?, ?)
            """,
          arguments: [hash, ordinal, link.suffix, link.documentHash, link.fileName, link.contentType])
      }
      if let templates = doc.templates, let linesBlob {
        try LogTemplateStore.record(
          db, documentHash: hash, index: templates, linesBlob: linesBlob, at: Date().timeIntervalSince1970)
      }
    }
  }
}
