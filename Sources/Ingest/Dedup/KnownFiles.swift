import Foundation
import GRDB
import Storage

/// A known-file list (de-NIST): files whose SHA-1 or MD5 is on it are skipped at ingest
/// as "known file (NSRL)".
///
/// Read from NSRL's RDS in any of its forms: the RDSv3 SQLite publication (its `FILE`
/// view or `METADATA` table, columns `sha1` and `md5`; any table or view named `FILE`
/// with such columns), RDSv2's `NSRLFile.txt` (`"SHA-1","MD5",…` with a header row), or a
/// plain list of one SHA-1 or MD5 per line.
public final class KnownFiles: Sendable {
  /// Hashes from a text list, lower-cased hex.
  private let hashes: Set<String>
  /// An RDS SQLite database, queried per file (an RDS has far too many rows to load).
  private let database: DatabaseQueue?
  /// The table or view queried and its hash columns.
  private let table: String
  private let columns: [String]
  /// The reason recorded for a skipped file.
  public static let reason = "known file (NSRL)"

  /// Opens the list at `path`.
  ///
  /// - Throws: `IngestError.knownFileListUnreadable` when it is neither an RDS SQLite file
  ///   with a `FILE` table (or view) holding `sha1`/`md5` columns nor a text list of hashes.
  public init(path: String) throws {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw IngestError.knownFileListUnreadable(path: path, reason: "it cannot be read")
    }
    if data.starts(with: Array("SQLite format 3\u{0}".utf8)) {
      var config = Configuration()
      config.readonly = true
      let queue: DatabaseQueue
      do { queue = try DatabaseQueue(path: path, configuration: config) } catch {
        throw IngestError.knownFileListUnreadable(path: path, reason: "\(error)")
      }
      let found: (String, [String])? = try? queue.read { db in
        let names = try String.fetchAll(
          db, sql: "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY type DESC")
        for wanted in ["file", "metadata"] {
          guard let name = names.first(where: { $0.lowercased() == wanted }) else { continue }
          let cols = try Row.fetchAll(db, sql: "PRAGMA table_info(\(name.quotedDatabaseIdentifier))").map {
            $0["name"] as String
          }
          let hashCols = cols.filter { ["sha1", "sha-1", "md5"].contains($0.lowercased()) }
          if !hashCols.isEmpty { return (name, hashCols) }
        }
        return nil
      }
      guard let (table, columns) = found else {
        throw IngestError.knownFileListUnreadable(
          path: path, reason: "an SQLite file without an RDS FILE table (or METADATA) with sha1 or md5 columns")
      }
      hashes = []
      database = queue
      self.table = table
      self.columns = columns
      return
    }
    guard let text = String(data: data, encoding: .utf8) else {
      throw IngestError.knownFileListUnreadable(path: path, reason: "it is neither SQLite nor UTF-8 text")
    }
    var out = Set<String>()
    for line in text.split(whereSeparator: \.isNewline) {
      for field in line.split(separator: ",").prefix(2) {
        let h = field.trimmingCharacters(in: CharacterSet(charactersIn: "\" \t")).lowercased()
        if h.count == 40 || h.count == 32, h.allSatisfy(\.isHexDigit) { out.insert(h) }
      }
    }
    hashes = out
    database = nil
    table = ""
    columns = []
  }

  /// Whether `bytes` (a file's contents) are on the list by SHA-1 or MD5.
  public func contains(_ bytes: Data) -> Bool {
    let sha1 = Hashing.sha1(bytes)
    let md5 = Hashing.md5(bytes)
    guard let database else { return hashes.contains(sha1) || hashes.contains(md5) }
    // RDS writes upper-case hex; both cases are asked so that an index on the column is used.
    let where_ = columns.map { "\($0.quotedDatabaseIdentifier) IN (?, ?, ?, ?)" }.joined(separator: " OR ")
    let args = columns.flatMap { _ in [sha1, sha1.uppercased(), md5, md5.uppercased()] }
    let hit = try? database.read { db in
      try Bool.fetchOne(
        db, sql: "SELECT EXISTS (SELECT 1 FROM \(table.quotedDatabaseIdentifier) WHERE \(where_))",
        arguments: StatementArguments(args))
    }
    return hit ?? false
  }
}
