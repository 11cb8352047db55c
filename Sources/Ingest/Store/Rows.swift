import Foundation
import GRDB
import Storage

/// A row of `source`: one input file as last seen.
struct SourceRow: Codable, FetchableRecord, PersistableRecord {
  static let databaseTableName = "source"
  var path: String
  var displayPath: String
  var size: Int
  var mtime: Double
  var contentHash: String?
  var kind: String
  var status: Status
  var reason: String?
  var seenAt: Double

  /// What the last ingest made of the file.
  enum Status: String, Codable {
    case ok, failed, skipped, gone
  }
}

/// A row of `document`: extracted text of one distinct file content.
struct DocumentRow: Codable, FetchableRecord, PersistableRecord {
  static let databaseTableName = "document"
  var hash: String
  var kind: String
  var title: String?
  var metadata: String
  var sectionsBlob: String
  var sectionCount: Int
  var pageCount: Int?
  var charCount: Int
  var extractor: String
}
