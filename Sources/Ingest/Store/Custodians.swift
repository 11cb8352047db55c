import Foundation
import GRDB
import Storage

/// Who a source belongs to (discovery's custodian), per source path.
public enum Custodians {
  /// Sets `custodian` for every current source under `roots` (absolute paths of files or
  /// directories). Returns a warning per source whose custodian changes, and one when the
  /// name matches an existing custodian but for case, spacing or word order (a second spelling).
  @discardableResult
  public static func assign(_ workspace: Workspace, roots: [String], custodian: String) throws -> [String] {
    let name = custodian.trimmingCharacters(in: .whitespaces)
    return try workspace.db.write { db in
      var warnings: [String] = []
      let existing = try String.fetchAll(db, sql: "SELECT DISTINCT custodian FROM source_custodian")
      for other in existing where other != name && normalised(other) == normalised(name) {
        warnings.append("custodian \"\(name)\" looks like \"\(other)\" spelled another way; they are kept apart")
      }
      let rows = try Row.fetchAll(db, sql: "SELECT path, displayPath FROM source WHERE status != 'gone'")
      for row in rows {
        let path: String = row["path"]
        guard roots.contains(where: { path == $0 || path.hasPrefix($0.hasSuffix("/") ? $0 : $0 + "/") }) else {
          continue
        }
        let before = try String.fetchOne(
          db, sql: "SELECT custodian FROM source_custodian WHERE path = ?", arguments: [path])
        if let before, before != name {
          warnings.append("\(row["displayPath"] as String): custodian changed from \"\(before)\" to \"\(name)\"")
        }
        try db.execute(
          sql: "INSERT OR REPLACE INTO source_custodian (path, custodian) VALUES (?, ?)", arguments: [path, name])
      }
      let now = Date().timeIntervalSince1970
      for w in warnings {
        try IngestStore.recordException(db, path: "custodian \(name)", severity: .warning, reason: w, at: now)
      }
      return warnings
    }
  }

  /// Custodian by cited path, for current sources that have one.
  public static func byDisplayPath(_ workspace: Workspace) throws -> [String: String] {
    try workspace.db.read { db in
      var out: [String: String] = [:]
      for row in try Row.fetchAll(
        db, sql: "SELECT s.displayPath, c.custodian FROM source s JOIN source_custodian c ON c.path = s.path")
      {
        out[row["displayPath"]] = row["custodian"]
      }
      return out
    }
  }

  /// A name's letters, lower-cased and sorted by word: "Smith, John" and "john  smith" agree.
  static func normalised(_ name: String) -> String {
    name.lowercased().split { !$0.isLetter }.map(String.init).sorted().joined(separator: " ")
  }
}
