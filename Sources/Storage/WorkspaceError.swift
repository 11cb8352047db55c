import Foundation

/// Errors of the workspace: its directory, database, blobs and lock.
public enum WorkspaceError: Error, LocalizedError, Equatable {
  case compression(String)
  case decompressionLimit(limit: Int)
  case cannotCreate(path: String, reason: String)
  /// The workspace's database exists but is not a database, or is corrupt.
  case damaged(path: String, reason: String)
  case blobMissing(hash: String)
  case blobCorrupt(hash: String)
  case locked(path: String, holder: String)

  public var errorDescription: String? {
    switch self {
    case .compression(let message): "zstd failed: \(message)."
    case .decompressionLimit(let limit):
      "Decompressed data exceeds the limit of \(limit) bytes; stopped to protect the disk."
    case .cannotCreate(let path, let reason):
      "Cannot create the workspace at \(path): \(reason). Choose another --workspace."
    case .damaged(let path, let reason):
      "The workspace database \(path) is damaged: \(reason). Restore it from a backup, or move it away and run again to rebuild the workspace."
    case .blobMissing(let hash): "Blob \(hash) is missing from the workspace; re-run ingest."
    case .blobCorrupt(let hash): "Blob \(hash) is corrupt; re-run ingest to rebuild it."
    case .locked(let path, let holder):
      "Another longctx run holds the lock \(path) (\(holder)); wait for it to finish."
    }
  }
}
