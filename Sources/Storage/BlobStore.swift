import Foundation

/// Content-addressed blobs: each stored once as `blobs/ab/abcdef….zst`,
/// written to a temporary file and renamed into place.
public struct BlobStore: Sendable {
  /// The `blobs/` directory.
  public let directory: URL

  /// Stores `data` and returns its SHA-256, the blob's name.
  ///
  /// - Parameters:
  ///   - data: The uncompressed bytes.
  ///   - level: The zstd level.
  ///   - threads: zstd worker threads (0: compress on the calling thread).
  /// - Returns: The hex SHA-256 of `data`.
  /// - Throws: File-system or compression errors; nothing half-written remains.
  @discardableResult
  public func put(_ data: Data, level: Int32 = 3, threads: Int32 = 0) throws -> String {
    if threads > 0 && data.count > 8 << 20 { return try putLarge(data, level: level, threads: threads) }
    let hash = Hashing.sha256(data)
    let url = location(of: hash)
    if FileManager.default.fileExists(atPath: url.path) { return hash }
    try FileManager.default.createDirectory(
      at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    let compressed = try Zstd.compress(data, level: level, threads: threads)
    try AtomicFile.write(compressed, to: url)
    return hash
  }

  /// `put` for large data: hashes while zstd compresses (on other threads),
  /// instead of one after the other; the compression is wasted only when the
  /// blob already exists.
  private func putLarge(_ data: Data, level: Int32, threads: Int32) throws -> String {
    final class Results: @unchecked Sendable {  // each slot written by one iteration, read after all end
      var hash = ""
      var compressed: Result<Data, any Error> = .success(Data())
    }
    let results = Results()
    DispatchQueue.concurrentPerform(iterations: 2) { i in
      if i == 0 {
        results.hash = Hashing.sha256(data)
      } else {
        results.compressed = Result { try Zstd.compress(data, level: level, threads: threads) }
      }
    }
    let url = location(of: results.hash)
    if FileManager.default.fileExists(atPath: url.path) { return results.hash }
    try FileManager.default.createDirectory(
      at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try AtomicFile.write(try results.compressed.get(), to: url)
    return results.hash
  }

  /// Reads blob `hash`, verifying that its bytes still hash to its name.
  ///
  /// - Throws: `WorkspaceError.blobMissing` or `.blobCorrupt`.
  public func get(_ hash: String) throws -> Data {
    let url = location(of: hash)
    guard let compressed = FileManager.default.contents(atPath: url.path) else {
      throw WorkspaceError.blobMissing(hash: hash)
    }
    guard let data = try? Zstd.decompress(compressed), Hashing.sha256(data) == hash else {
      throw WorkspaceError.blobCorrupt(hash: hash)
    }
    return data
  }

  func location(of hash: String) -> URL {
    directory.appendingPathComponent(String(hash.prefix(2)), isDirectory: true)
      .appendingPathComponent("\(hash).zst")
  }
}

/// Writes files so that a crash leaves either the old file or the new one.
package enum AtomicFile {
  /// Writes `data` to a temporary sibling, syncs it, and renames it to `url`.
  package static func write(_ data: Data, to url: URL) throws {
    let tmp = url.deletingLastPathComponent()
      .appendingPathComponent(".\(url.lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp")
    guard FileManager.default.createFile(atPath: tmp.path, contents: nil) else {
      throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: tmp.path])
    }
    do {
      let handle = try FileHandle(forWritingTo: tmp)
      try handle.write(contentsOf: data)
      try handle.synchronize()
      try handle.close()
      if rename(tmp.path, url.path) != 0 {
        throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
      }
    } catch {
      try? FileManager.default.removeItem(at: tmp)
      throw error
    }
  }
}
