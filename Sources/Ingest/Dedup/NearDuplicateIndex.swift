import Foundation
import GRDB
import Storage

/// Keeps the `near_duplicate` table: groups of current documents (files, and the
/// attachments of current mail) whose SimHash fingerprints lie within
/// `SimHash.maxDistance` bits.
struct NearDuplicateIndex {
  let workspace: Workspace

  /// Regroups the documents of all sources that are `ok`, in one transaction.
  /// Documents stored before fingerprints existed have none and stay ungrouped
  /// until they are extracted again.
  func rebuild() async throws {
    try await workspace.db.write { db in
      let rows = try Row.fetchAll(
        db,
        sql: """
          SELECT f.documentHash, f.simhash FROM document_simhash f
          WHERE f.words >= ? AND (
            f.documentHash IN (SELECT contentHash FROM source WHERE status = 'ok')
            OR f.documentHash IN (
              SELECT a.documentHash FROM email_attachment a
              JOIN source s ON s.contentHash = a.parentHash WHERE s.status = 'ok'))
          ORDER BY f.documentHash
          """, arguments: [SimHash.minWords])
      let items = rows.map { (id: $0["documentHash"] as String, hash: UInt64(bitPattern: $0["simhash"] as Int64)) }
      let fingerprints = Dictionary(items.map { ($0.id, $0.hash) }, uniquingKeysWith: { a, _ in a })
      try db.execute(sql: "DELETE FROM near_duplicate")
      for group in NearDuplicates.groups(items) {
        let first = group[0]
        for member in group {
          let distance = SimHash.distance(fingerprints[first] ?? 0, fingerprints[member] ?? 0)
          try db.execute(
            sql: "INSERT INTO near_duplicate (documentHash, groupId, distance) VALUES (?, ?, ?)",
            arguments: [member, first, distance])
        }
      }
    }
  }
}

/// Exact and near-duplicate groups among the current sources.
public struct DuplicateReport: Codable, Sendable, Equatable {
  /// Files with identical bytes: stored once, cited at each path.
  public struct ExactGroup: Codable, Sendable, Equatable {
    public var documentHash: String
    public var paths: [String]
  }

  /// Documents whose text is nearly the same.
  public struct NearGroup: Codable, Sendable, Equatable {
    public var documents: [Member]
  }

  /// One document of a near-duplicate group.
  public struct Member: Codable, Sendable, Equatable {
    public var documentHash: String
    public var paths: [String]
    /// Differing fingerprint bits from the group's first document.
    public var distance: Int
  }

  public var exact: [ExactGroup]
  public var near: [NearGroup]
}

extension Corpus {
  /// The exact and near-duplicate groups of the files last ingested and not gone.
  public func duplicates() throws -> DuplicateReport {
    try workspace.db.read { db in
      var pathsByHash: [String: [String]] = [:]
      for row in try Row.fetchAll(
        db,
        sql:
          "SELECT contentHash, displayPath FROM source WHERE status = 'ok' AND contentHash IS NOT NULL ORDER BY displayPath"
      ) {
        pathsByHash[row["contentHash"], default: []].append(row["displayPath"])
      }
      // Attachments are cited at their message's path plus their suffix, as their sections are.
      var attachmentPaths: [String: [String]] = [:]
      for row in try Row.fetchAll(
        db,
        sql: """
          SELECT a.documentHash, s.displayPath || a.suffix AS path FROM email_attachment a
          JOIN source s ON s.contentHash = a.parentHash WHERE s.status = 'ok' ORDER BY path
          """)
      {
        attachmentPaths[row["documentHash"], default: []].append(row["path"])
      }
      let exact = pathsByHash.filter { $0.value.count > 1 }
        .map { DuplicateReport.ExactGroup(documentHash: $0.key, paths: $0.value) }
        .sorted { $0.paths[0] < $1.paths[0] }
      var groups: [String: [DuplicateReport.Member]] = [:]
      for row in try Row.fetchAll(db, sql: "SELECT documentHash, groupId, distance FROM near_duplicate") {
        let hash: String = row["documentHash"]
        groups[row["groupId"], default: []].append(
          DuplicateReport.Member(
            documentHash: hash, paths: (pathsByHash[hash] ?? []) + (attachmentPaths[hash] ?? []),
            distance: row["distance"]))
      }
      let near = groups.values.map { members in
        DuplicateReport.NearGroup(
          documents: members.sorted { ($0.distance, $0.paths.first ?? "") < ($1.distance, $1.paths.first ?? "") })
      }.filter { $0.documents.count > 1 }
        .sorted { ($0.documents[0].paths.first ?? "") < ($1.documents[0].paths.first ?? "") }
      return DuplicateReport(exact: exact, near: near)
    }
  }
}
