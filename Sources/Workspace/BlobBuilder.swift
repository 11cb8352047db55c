import Crypto
import Foundation

/// A blob made in numbered pieces on several threads, compressed and hashed
/// as the pieces come, so that the whole uncompressed blob is never held in
/// memory (for a large log that was as much memory again as the log, and
/// the kernel's cost of handing out that memory was a fifth of ingest time).
///
/// Each piece becomes a zstd frame of its own, compressed on the thread that
/// made the piece; a blob file is the frames one after the other, which
/// `Zstd.decompress` (and the `zstd` tool) read as one stream. The blob's
/// name is still the SHA-256 of the uncompressed bytes, so the pieces are
/// hashed in order: `add` waits until the piece before has been added.
///
/// The blob is `prefix`, the non-empty pieces joined by `separator`, then
/// `suffix` (a JSON array: "[", ",", "]"); those get small frames of their own.
package final class BlobBuilder: @unchecked Sendable {  // state under `condition`
  private let level: Int32
  private let separator: Data
  private let suffix: Data
  private let condition = NSCondition()
  private var hasher = SHA256()
  private var next = 0
  private var finished = false
  private var nonEmpty = false
  private var frames: [Data] = []
  private var failure: (any Error)?

  /// - Parameters:
  ///   - level: The zstd level of every frame.
  ///   - prefix: Bytes before the first piece.
  ///   - separator: Bytes between two non-empty pieces.
  ///   - suffix: Bytes after the last piece.
  package init(level: Int32, prefix: Data = Data(), separator: Data = Data(), suffix: Data = Data()) {
    self.level = level
    self.separator = separator
    self.suffix = suffix
    append(prefix)
  }

  /// Hashes `data` and appends its frame (under `condition`, or in `init`).
  private func append(_ data: Data) {
    guard !data.isEmpty else { return }
    hasher.update(data: data)
    do {
      frames.append(try data.withUnsafeBytes { try Zstd.compress($0, level: level) })
    } catch {
      failure = failure ?? error
    }
  }

  /// Compresses and hashes piece `index` (0, 1, 2, … with none left out).
  ///
  /// Waits until piece `index - 1` was added: call it for consecutive
  /// indices from threads that each finish one piece before taking the next
  /// (`DispatchQueue.concurrentPerform` does), or it waits forever.
  ///
  /// - Throws: `WorkspaceError.compression`.
  package func add(_ bytes: UnsafeRawBufferPointer, index: Int) throws {
    // Compressed before waiting: the threads compress at the same time.
    let frame = bytes.isEmpty ? .success(Data()) : Result { try Zstd.compress(bytes, level: level) }
    condition.lock()
    defer { condition.unlock() }
    while next != index { condition.wait() }
    next += 1
    condition.broadcast()
    guard !bytes.isEmpty else { return }
    if nonEmpty { append(separator) }
    nonEmpty = true
    hasher.update(bufferPointer: bytes)
    switch frame {
    case .success(let data): frames.append(data)
    case .failure(let error): failure = failure ?? error
    }
    _ = try frame.get()
  }

  /// The blob: its name and its frames. Call it once, after the last `add`.
  ///
  /// - Throws: The first compression error of any piece.
  package func finish() throws -> PreparedBlob {
    condition.lock()
    defer { condition.unlock() }
    precondition(!finished, "BlobBuilder.finish called twice")
    finished = true
    append(suffix)
    if let failure { throw failure }
    let hash = hasher.finalize().map { String(format: "%02x", $0) }.joined()
    return PreparedBlob(hash: hash, frames: frames)
  }
}

/// A blob compressed and named, not yet stored (`BlobBuilder`).
package struct PreparedBlob: Sendable {
  /// The hex SHA-256 of the uncompressed bytes.
  package var hash: String
  /// The zstd frames whose concatenation is the blob file.
  package var frames: [Data]
}

extension BlobStore {
  /// Stores `blob` unless a blob of that name exists.
  ///
  /// - Returns: The blob's name.
  /// - Throws: File-system errors; nothing half-written remains.
  @discardableResult
  package func put(_ blob: PreparedBlob) throws -> String {
    let url = location(of: blob.hash)
    if FileManager.default.fileExists(atPath: url.path) { return blob.hash }
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    var file = Data(capacity: blob.frames.reduce(0) { $0 + $1.count })
    for frame in blob.frames { file.append(frame) }
    try AtomicFile.write(file, to: url)
    return blob.hash
  }
}
