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
/// hashed in order: a piece that comes before its predecessor waits in
/// `pending`, and whichever thread finds the next piece there hashes it
/// (one at a time), so no thread sits idle waiting for another.
///
/// The blob is `prefix`, the non-empty pieces joined by `separator`, then
/// `suffix` (a JSON array: "[", ",", "]"); those get small frames of their own.
package final class BlobBuilder: @unchecked Sendable {  // state under `lock`; `hasher` only by the thread `hashing`
  private let level: Int32
  private var compressors: [Zstd.Compressor] = []  // idle ones, under `lock`
  private let separator: Data
  private let suffix: Data
  private let lock = NSLock()
  private var hasher = SHA256()
  private var hashing = false
  private var next = 0
  private var pending: [Int: (bytes: [UInt8], frame: Result<Data, any Error>)] = [:]
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
    appendFramed(prefix)
  }

  /// Hashes `data` and appends its frame (in `init`, `finish`, or by the hashing thread).
  private func appendFramed(_ data: Data) {
    guard !data.isEmpty else { return }
    hasher.update(data: data)
    do {
      frames.append(try compress(data))
    } catch {
      failure = failure ?? error
    }
  }

  /// One frame of `bytes`, with an idle compressor of the pool (contexts and
  /// their tables are reused, not made per frame).
  private func compress(_ bytes: some ContiguousBytes) throws -> Data {
    let idle = lock.withLock { compressors.popLast() }
    let compressor = try idle ?? Zstd.Compressor(level: level)
    defer { lock.withLock { compressors.append(compressor) } }
    return try bytes.withUnsafeBytes { try compressor.compress($0) }
  }

  /// Compresses piece `index` (0, 1, 2, … with none left out, each once)
  /// and hashes it and any pieces after it that are waiting, in order.
  ///
  /// - Parameters:
  ///   - piece: The piece's bytes; the builder keeps them until hashed.
  ///   - index: The piece's place.
  /// - Returns: Buffers the builder is done with (for reuse), perhaps none.
  package func add(_ piece: [UInt8], index: Int) -> [[UInt8]] {
    // Compressed before taking the lock: the threads compress at the same time.
    let frame = piece.isEmpty ? .success(Data()) : Result { try compress(piece) }
    var done: [[UInt8]] = []
    lock.lock()
    pending[index] = (piece, frame)
    if hashing {
      lock.unlock()
      return done
    }
    hashing = true
    while let item = pending.removeValue(forKey: next) {
      next += 1
      lock.unlock()
      // Only this thread touches `hasher` and `frames` while `hashing` is set.
      if !item.bytes.isEmpty {
        if nonEmpty { appendFramed(separator) }
        nonEmpty = true
        hasher.update(data: item.bytes)
        switch item.frame {
        case .success(let data): frames.append(data)
        case .failure(let error): failure = failure ?? error
        }
      }
      done.append(item.bytes)
      lock.lock()
    }
    hashing = false
    lock.unlock()
    return done
  }

  /// The blob: its name and its frames. Call it once, after every `add` returned.
  ///
  /// - Throws: The first compression error of any piece.
  package func finish() throws -> PreparedBlob {
    lock.withLock {
      precondition(
        !finished && !hashing && pending.isEmpty, "BlobBuilder.finish before every piece was added, or twice")
      finished = true
    }
    // Every `add` has returned: this thread alone touches `hasher` and `frames` now.
    appendFramed(suffix)
    if let failure { throw failure }
    let hash = Hashing.hex(hasher.finalize())
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
