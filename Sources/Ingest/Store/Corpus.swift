import Foundation
import GRDB
import Workspace

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
