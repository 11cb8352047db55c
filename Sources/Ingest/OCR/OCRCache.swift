import Foundation
import GRDB
import Storage

/// OCR results kept in the workspace (`ocr_cache`), keyed by the hash of
/// the pixels read, the languages and the engine's version: a page read once
/// is not read again, when its file is ingested again after a change or an
/// extractor upgrade, nor when the same page turns up in another file.
struct OCRCache: Sendable {
  let db: DatabasePool

  private init(db: DatabasePool) { self.db = db }

  /// The cache of `workspace`, or nil when `LONGCTX_OCR_CACHE=off` (benchmarks
  /// of the OCR itself read copies of the same page).
  static func of(_ workspace: Workspace) -> OCRCache? {
    ProcessInfo.processInfo.environment["LONGCTX_OCR_CACHE"] == "off" ? nil : OCRCache(db: workspace.db)
  }

  /// The key of `image` read in `languages` by the current engine.
  static func key(_ image: OCRImage, languages: String) -> String? {
    image.contentHash.map { Hashing.sha256(parts: [$0, languages, TesseractEngine.version]) }
  }

  /// The stored result for `key`, if any (a read error is a miss).
  func lookup(_ key: String) -> OCRText? {
    try? db.read { db in
      try Row.fetchOne(db, sql: "SELECT text, confidence, words FROM ocr_cache WHERE key = ?", arguments: [key])
        .map { OCRText(text: $0["text"], confidence: $0["confidence"], words: $0["words"]) }
    }
  }

  /// Keeps `result` under `key` (a write error only costs a later OCR).
  func store(_ key: String, _ result: OCRText) {
    try? db.write { db in
      try db.execute(
        sql: "INSERT OR REPLACE INTO ocr_cache (key, text, confidence, words, at) VALUES (?, ?, ?, ?, ?)",
        arguments: [key, result.text, result.confidence, result.words, Date().timeIntervalSince1970])
    }
  }
}
