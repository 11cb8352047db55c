import Foundation
import GRDB
import Storage

/// What a report needs to know of one stored document to check a citation
/// into it and to count what was read, without its text.
public struct CitableDocument: Sendable, Hashable {
  /// The document's hash (sha256 of the source bytes).
  public var hash: String
  public var kind: DocumentKind
  public var title: String?
  public var metadata: [String: String]
  /// PDF pages (from the document row), nil for other kinds.
  public var pageCount: Int?
  public var sectionCount: Int
  /// Characters of all section texts.
  public var charCount: Int
  /// The source file's size in bytes, where a source row holds the document (0 for attachments).
  public var bytes: Int
}

extension Corpus {
  /// Every path a citation can name, mapped to its document's hash: the
  /// display path of each source ingest read (status `ok`), and each of its
  /// mail attachments (`inbox.mbox#msg=<id>/attachment=report.pdf`).
  public func citablePaths() throws -> [String: String] {
    try workspace.db.read { db in
      var out: [String: String] = [:]
      let sources = try Row.fetchAll(
        db, sql: "SELECT displayPath, contentHash FROM source WHERE status = 'ok' AND contentHash IS NOT NULL")
      var pathsByHash: [String: [String]] = [:]
      for row in sources {
        let path: String = row["displayPath"]
        let hash: String = row["contentHash"]
        out[path] = hash
        pathsByHash[hash, default: []].append(path)
      }
      for row in try Row.fetchAll(db, sql: "SELECT parentHash, suffix, documentHash FROM email_attachment") {
        let parent: String = row["parentHash"]
        for path in pathsByHash[parent] ?? [] { out[path + (row["suffix"] as String)] = row["documentHash"] }
      }
      return out
    }
  }

  /// The stored facts of document `hash`, or nil when there is none.
  ///
  /// - Parameter hash: The document's hash.
  public func citableDocument(_ hash: String) throws -> CitableDocument? {
    try workspace.db.read { db in
      guard let row = try DocumentRow.fetchOne(db, key: hash) else { return nil }
      let meta = (try? JSONDecoder().decode([String: String].self, from: Data(row.metadata.utf8))) ?? [:]
      let bytes =
        try Int.fetchOne(db, sql: "SELECT MAX(size) FROM source WHERE contentHash = ?", arguments: [hash]) ?? 0
      return CitableDocument(
        hash: hash, kind: DocumentKind(rawValue: row.kind) ?? .text, title: row.title, metadata: meta,
        pageCount: row.pageCount, sectionCount: row.sectionCount, charCount: row.charCount, bytes: bytes)
    }
  }

  /// The absolute path and display path of every source under one of `roots`
  /// (absolute directories or files), with what the last ingest made of it.
  ///
  /// - Returns: `(displayPath, status, reason)` for each, in path order.
  public func sources(under roots: [String]) throws -> [(displayPath: String, status: String, reason: String?)] {
    try workspace.db.read { db in
      try Row.fetchAll(db, sql: "SELECT path, displayPath, status, reason FROM source ORDER BY path").compactMap {
        row -> (String, String, String?)? in
        let path: String = row["path"]
        guard roots.isEmpty || roots.contains(where: { path == $0 || path.hasPrefix($0 + "/") }) else { return nil }
        return (row["displayPath"], row["status"], row["reason"])
      }
    }
  }
}
