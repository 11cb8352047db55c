import Foundation
import GRDB
import Storage

/// Reads what ingest stored.
public struct Corpus: Sendable {
  public let workspace: Workspace

  public init(workspace: Workspace) { self.workspace = workspace }

  /// The sections of document `hash`, re-pointed at `displayPath` (a
  /// duplicate's bytes are stored once but cited at each of its paths).
  public func sections(ofDocument hash: String, displayPath: String) throws -> [Section] {
    guard let row = try workspace.db.read({ db in try DocumentRow.fetchOne(db, key: hash) }) else {
      throw WorkspaceError.blobMissing(hash: hash)
    }
    let data = try workspace.blobs.get(row.sectionsBlob)
    var sections = try JSONDecoder().decode([Section].self, from: data)
    for i in sections.indices { sections[i].locator.path = displayPath }
    return sections
  }

  /// The metadata ingest recorded for document `hash` (title, author, created, pages…).
  public func metadata(ofDocument hash: String) throws -> [String: String] {
    let json = try workspace.db.read { db in
      try String.fetchOne(db, sql: "SELECT metadata FROM document WHERE hash = ?", arguments: [hash])
    }
    guard let json else { throw WorkspaceError.blobMissing(hash: hash) }
    return (try? JSONDecoder().decode([String: String].self, from: Data(json.utf8))) ?? [:]
  }

  /// Pages of document `hash` (PDFs), `nil` for kinds without pages.
  public func pageCount(ofDocument hash: String) throws -> Int? {
    try workspace.db.read { db in
      try Int.fetchOne(db, sql: "SELECT pageCount FROM document WHERE hash = ?", arguments: [hash])
    }
  }

  /// The absolute path of the current source cited as `displayPath`.
  public func absolutePath(ofDisplayPath displayPath: String) throws -> String? {
    try workspace.db.read { db in
      try String.fetchOne(
        db, sql: "SELECT path FROM source WHERE displayPath = ? AND status = 'ok'", arguments: [displayPath])
    }
  }

  /// The absolute path of the source with `displayPath` whatever its status (a file that
  /// failed to extract still has its row), or nil.
  public func anyPath(ofDisplayPath displayPath: String) throws -> String? {
    try workspace.db.read { db in
      try String.fetchOne(db, sql: "SELECT path FROM source WHERE displayPath = ? LIMIT 1", arguments: [displayPath])
    }
  }

  /// Pages (sections) of `documents` whose text came from OCR, and their mean word confidence.
  public struct OCRSummary: Sendable, Codable, Equatable {
    public var pages = 0
    public var meanConfidence: Double?
    public var lowConfidencePages = 0

    /// One line for `plan` and `status`: pages, mean confidence, how many fell below the threshold.
    public var sentence: String {
      "\(pages) page\(pages == 1 ? "" : "s") read by OCR, mean word confidence \(String(format: "%.0f", meanConfidence ?? 0)), \(lowConfidencePages) below \(Int(OCRSettings.lowConfidence))"
    }
  }

  /// The OCR summary of documents `hashes` (each counted once).
  public func ocrSummary(documents hashes: some Sequence<String>) throws -> OCRSummary {
    var out = OCRSummary()
    var sum = 0.0
    for hash in Set(hashes) {
      guard let row = try workspace.db.read({ db in try DocumentRow.fetchOne(db, key: hash) }),
        row.kind == DocumentKind.pdf.rawValue || row.kind == DocumentKind.image.rawValue
          || row.kind == DocumentKind.email.rawValue
      else { continue }
      let sections = try JSONDecoder().decode([Section].self, from: try workspace.blobs.get(row.sectionsBlob))
      for s in sections {
        guard let ocr = s.ocr else { continue }
        out.pages += 1
        sum += ocr.confidence
        if ocr.confidence < OCRSettings.lowConfidence { out.lowConfidencePages += 1 }
      }
    }
    if out.pages > 0 { out.meanConfidence = sum / Double(out.pages) }
    return out
  }

  /// The kind of document `hash`.
  public func kind(ofDocument hash: String) throws -> DocumentKind? {
    try workspace.db.read { db in
      try String.fetchOne(db, sql: "SELECT kind FROM document WHERE hash = ?", arguments: [hash])
    }.flatMap(DocumentKind.init(rawValue:))
  }

  /// Every recorded failure, skip and warning, newest first.
  public func exceptions() throws -> [IngestException] {
    try workspace.db.read { db in
      try Row.fetchAll(db, sql: "SELECT path, severity, reason FROM ingest_exception ORDER BY at DESC, path")
        .map {
          IngestException(
            path: $0["path"], severity: IngestException.Severity(rawValue: $0["severity"]) ?? .warning,
            reason: $0["reason"])
        }
    }
  }
}
