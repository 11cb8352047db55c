import Foundation
import Logging
import Storage

/// One checkpoint as listed: its key, sizes and last use.
public struct CheckpointEntry: Sendable, Hashable, Codable {
  /// The model identity the state belongs to.
  public var model: String
  /// Tokens in the prefix.
  public var tokens: Int
  /// SHA-256 of the prefix tokens.
  public var prefixHash: String
  /// Bytes of the engine's raw sequence state.
  public var rawBytes: Int
  /// Bytes of the file on disk.
  public var compressedBytes: Int
  /// Last save or restore (the file's modification time).
  public var lastUsed: Date
  /// The file.
  public var path: String

  /// Raw bytes per compressed byte.
  public var ratio: Double { compressedBytes > 0 ? Double(rawBytes) / Double(compressedBytes) : 0 }
}

/// A loaded, verified checkpoint.
public struct Checkpoint: Sendable {
  /// The prefix the state was computed from.
  public var tokens: [Int32]
  /// The engine's raw sequence state.
  public var state: Data
  /// The file it came from.
  public var entry: CheckpointEntry
}

/// What `verify()` found.
public struct CheckpointVerification: Sendable, Codable {
  /// Checkpoints that read back intact.
  public var intact: [CheckpointEntry]
  /// Files that were corrupt and have been deleted, with the reason.
  public var removed: [Removal]

  /// A deleted file.
  public struct Removal: Sendable, Codable, Hashable {
    public var path: String
    public var reason: String
  }
}

/// What `gc` removed.
public struct CheckpointCollection: Sendable, Codable {
  public var removed: [CheckpointEntry]
  public var bytesBefore: Int
  public var bytesAfter: Int
}

/// Errors of the checkpoint store that the caller must see (corruption is not
/// one: a corrupt checkpoint is deleted and reported as a miss).
public enum CheckpointError: Error, LocalizedError, Equatable {
  case stateTooLarge(bytes: Int, limit: Int)
  case writeFailed(path: String, reason: String)

  public var errorDescription: String? {
    switch self {
    case .stateTooLarge(let bytes, let limit):
      "A KV checkpoint of at least \(bytes) bytes exceeds the store's bound of \(limit) bytes; raise the bound or lower the prefix length."
    case .writeFailed(let path, let reason): "Cannot write the KV checkpoint \(path): \(reason)."
    }
  }
}

/// KV-cache checkpoints on disk, content-addressed by (model identity, token
/// prefix), zstd-compressed, verified on load, bounded in size with
/// least-recently-used eviction.
///
/// Layout: `kv/<first 16 hex of SHA-256(model identity)>/<tokens>-<SHA-256 of
/// the tokens>.lckv`. Everything a lookup needs (model, length, prefix hash)
/// is in the path, and the last use is the file's modification time, touched
/// on every restore. So there is no index to keep consistent: files are
/// written by rename and never changed in place, a crash leaves at most a
/// stray temporary file (removed by `gc`), and several processes can share one
/// directory without a lock.
public final class CheckpointStore: Sendable {
  /// The `kv/` directory.
  public let directory: URL
  /// The bound on the total bytes of all checkpoints; `save` evicts to it.
  public let maxBytes: Int
  /// The zstd level for new checkpoints.
  public let compressionLevel: Int32
  /// zstd worker threads (0 = compress on the calling thread).
  public let compressionThreads: Int32
  /// The file format new checkpoints are written in: 3 (prefix-delta: the
  /// cells of the full-attention caches in chunks shared between prefixes,
  /// see `CheckpointManifest`; a state it cannot cut is written as 2),
  /// 2 (`KVCodec`, frames, the whole state) or 1 (one zstd frame; kept for
  /// comparison). All are read.
  public let formatVersion: Int
  /// Tokens per chunk of a prefix-delta checkpoint (chunks are cut at
  /// multiples of it, and where a stored prefix the new one extends ends).
  public let chunkTokens: Int
  let logger: Logger

  static let fileExtension = "lckv"

  /// Opens (creating) the store in `directory`.
  ///
  /// - Parameters:
  ///   - directory: Usually `Workspace.kvDirectory`.
  ///   - maxBytes: The bound on the store's size (default 8 GiB).
  ///   - compressionLevel: zstd level for new checkpoints (1 is fast and
  ///     compresses KV state nearly as well as higher levels; see BENCHMARKS).
  ///   - compressionThreads: zstd worker threads (format 1 only; format 2
  ///     encodes frames on all cores).
  ///   - logger: Receives warnings about corrupt files and evictions.
  public convenience init(
    directory: URL, maxBytes: Int = 8 << 30, compressionLevel: Int32 = 1, compressionThreads: Int32 = 0,
    logger: Logger = Logger(label: "longctx.kv")
  ) {
    self.init(
      directory: directory, maxBytes: maxBytes, compressionLevel: compressionLevel,
      compressionThreads: compressionThreads, formatVersion: 3, logger: logger)
  }

  /// Opens the store writing checkpoints in `formatVersion` (1, 2 or 3),
  /// format 3 in chunks of `chunkTokens`.
  public init(
    directory: URL, maxBytes: Int = 8 << 30, compressionLevel: Int32 = 1, compressionThreads: Int32 = 0,
    formatVersion: Int, chunkTokens: Int = 256, logger: Logger = Logger(label: "longctx.kv")
  ) {
    self.formatVersion = formatVersion
    self.chunkTokens = max(1, chunkTokens)
    self.directory = directory
    self.maxBytes = maxBytes
    self.compressionLevel = compressionLevel
    self.compressionThreads = compressionThreads
    self.logger = logger
  }

  // MARK: - Keys

  /// The directory of one model's checkpoints.
  func modelDirectory(_ model: String) -> URL {
    directory.appendingPathComponent(String(Hashing.sha256(model).prefix(16)), isDirectory: true)
  }

  func location(model: String, count: Int, hash: String) -> URL {
    modelDirectory(model).appendingPathComponent("\(count)-\(hash).\(Self.fileExtension)")
  }

  /// (token count, prefix hash) parsed from a checkpoint file name.
  static func key(fromFileName name: String) -> (count: Int, hash: String)? {
    guard name.hasSuffix("." + fileExtension), !name.hasPrefix(".") else { return nil }
    let stem = name.dropLast(fileExtension.count + 1)
    let parts = stem.split(separator: "-", maxSplits: 1)
    guard parts.count == 2, let count = Int(parts[0]), parts[1].count == 64 else { return nil }
    return (count, String(parts[1]))
  }

  // MARK: - Save and restore

  /// Whether a checkpoint for exactly `tokens` exists (a cheap check before
  /// copying a large state out of the engine).
  public func contains(model: String, tokens: [Int32]) -> Bool {
    let url = location(model: model, count: tokens.count, hash: Hashing.sha256(tokens: tokens))
    return FileManager.default.fileExists(atPath: url.path)
  }

  /// Stores `state` as the checkpoint of `tokens` for `model`, then evicts
  /// least-recently-used checkpoints down to `maxBytes`.
  ///
  /// - Parameters:
  ///   - model: The model identity (everything the state's validity depends on).
  ///   - tokens: The prefix the state was computed from.
  ///   - state: The engine's raw sequence state.
  /// - Returns: The new entry.
  /// - Throws: `CheckpointError`; nothing half-written remains.
  @discardableResult
  public func save(model: String, tokens: [Int32], state: Data) throws -> CheckpointEntry {
    if formatVersion >= 3,
      let entry = try saveDelta(
        model: model, tokens: tokens, rawSize: state.count,
        read: { offset, dst in state.copyBytes(to: dst, from: offset..<(offset + dst.count)) })
    {
      return entry
    }
    if formatVersion >= 2 {
      var at = 0
      return try save(model: model, tokens: tokens, rawSize: state.count, layout: KVCodec.layout(of: state)) { dst in
        state.copyBytes(to: dst, from: at..<(at + dst.count))
        at += dst.count
      }
    }
    let hash = Hashing.sha256(tokens: tokens)
    let url = location(model: model, count: tokens.count, hash: hash)
    let header = CheckpointHeader(
      version: 1, identity: model, tokens: tokens, rawSize: state.count,
      rawSHA256: Data(hexString: Hashing.sha256(state)))
    var file = header.encoded()
    do {
      try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
      file.reserveCapacity(file.count + state.count / 2)
      try Zstd.compressStream(state, level: compressionLevel, threads: compressionThreads) { file.append($0) }
    } catch {
      throw CheckpointError.writeFailed(path: url.path, reason: error.userDescription)
    }
    guard file.count <= maxBytes else { throw CheckpointError.stateTooLarge(bytes: file.count, limit: maxBytes) }
    do {
      try AtomicFile.write(file, to: url)
    } catch {
      throw CheckpointError.writeFailed(path: url.path, reason: error.userDescription)
    }
    let entry = CheckpointEntry(
      model: model, tokens: tokens.count, prefixHash: hash, rawBytes: state.count,
      compressedBytes: file.count, lastUsed: Date(), path: url.path)
    logger.debug(
      "saved KV checkpoint",
      metadata: ["kv.tokens": "\(tokens.count)", "kv.raw": "\(state.count)", "kv.bytes": "\(file.count)"])
    _ = gc(maxBytes: maxBytes, keeping: url.path)
    return entry
  }

  /// Stores a state of `rawSize` bytes that `source` hands over in order
  /// (format 2), in bounded memory: a few frames at a time, written to a
  /// temporary file that is renamed into place. A file that would exceed the
  /// store's bound is refused as soon as it does (`stateTooLarge`) rather
  /// than evicting everything else for it.
  ///
  /// - Parameters:
  ///   - layout: The state's segments (`KVCodec.layout`); their lengths sum to `rawSize`.
  ///   - source: Fills each buffer with the next bytes of the state.
  @discardableResult
  package func save(
    model: String, tokens: [Int32], rawSize: Int, layout: [KVCodec.Segment], frameBytes: Int = KVCodec.frameBytes,
    source: (UnsafeMutableRawBufferPointer) throws -> Void
  ) throws -> CheckpointEntry {
    precondition(layout.reduce(0) { $0 + $1.length } == rawSize, "the layout does not cover the state")
    let hash = Hashing.sha256(tokens: tokens)
    let url = location(model: model, count: tokens.count, hash: hash)
    let header = CheckpointHeader(
      version: 2, identity: model, tokens: tokens, rawSize: rawSize, rawSHA256: Data(count: 32))
    let tmp = url.deletingLastPathComponent()
      .appendingPathComponent(".\(url.lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp")
    let size: Int
    do {
      try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
      guard FileManager.default.createFile(atPath: tmp.path, contents: nil) else {
        throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: tmp.path])
      }
      defer { try? FileManager.default.removeItem(at: tmp) }
      let handle = try FileHandle(forWritingTo: tmp)
      do {
        size = try KVCodec.write(
          to: handle, header: header, layout: layout, level: compressionLevel, maxBytes: maxBytes,
          frameBytes: frameBytes, source: source)
        try handle.synchronize()
        try handle.close()
      } catch {
        try? handle.close()
        throw error
      }
      if rename(tmp.path, url.path) != 0 {
        throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
      }
    } catch let error as CheckpointError {
      throw error
    } catch {
      throw CheckpointError.writeFailed(path: url.path, reason: error.userDescription)
    }
    let entry = CheckpointEntry(
      model: model, tokens: tokens.count, prefixHash: hash, rawBytes: rawSize,
      compressedBytes: size, lastUsed: Date(), path: url.path)
    logger.debug(
      "saved KV checkpoint",
      metadata: ["kv.tokens": "\(tokens.count)", "kv.raw": "\(rawSize)", "kv.bytes": "\(size)"])
    _ = gc(maxBytes: maxBytes, keeping: url.path)
    return entry
  }

  /// Streams the verified raw state of the checkpoint file at `url` to `sink`
  /// in order, in bounded memory for format 2 (format 1 is decoded whole).
  /// Nothing reaches `sink` before the frame index and its hash are
  /// verified; each piece is verified before it is handed over.
  ///
  /// - Returns: The file's header tokens.
  /// - Throws: `CheckpointCorruption`, or what `sink` throws.
  @discardableResult
  package func read(_ url: URL, sink: (Data) throws -> Void) throws -> [Int32] {
    let handle = try FileHandle(forReadingFrom: url)
    defer { try? handle.close() }
    let header = try readHeader(url)
    let fileSize = Int(try handle.seekToEnd())
    if header.version >= 3 {
      let checkpoint = try decodeDelta(url, expecting: nil)
      try sink(checkpoint.state)
      return checkpoint.tokens
    }
    guard header.version >= 2 else {
      let checkpoint = try Self.decode(try Data(contentsOf: url), url: url, expecting: nil)
      try sink(checkpoint.state)
      return checkpoint.tokens
    }
    try KVCodec.read(
      handle, header: header, payloadOffset: header.encoded().count, fileSize: fileSize, sink: sink)
    return header.tokens
  }

  /// Loads the checkpoint of the longest prefix of `tokens` stored for `model`.
  ///
  /// A corrupt or truncated file is deleted with a warning and the next
  /// shorter candidate is tried; nil means no usable checkpoint (recompute).
  ///
  /// - Parameters:
  ///   - model: The model identity.
  ///   - tokens: The prompt.
  ///   - minimum: Ignore prefixes shorter than this.
  ///   - maximum: Ignore prefixes longer than this.
  public func longestPrefix(
    model: String, of tokens: [Int32], minimum: Int = 1, maximum: Int = .max
  ) -> Checkpoint? {
    let dir = modelDirectory(model)
    let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
    let upper = min(maximum, tokens.count)
    let keys = names.compactMap(Self.key(fromFileName:)).filter { $0.count >= minimum && $0.count <= upper }
    guard !keys.isEmpty else { return nil }
    let hashes = Hashing.sha256(tokenPrefixesOf: tokens, lengths: Set(keys.map(\.count)))
    let matches = keys.filter { hashes[$0.count] == $0.hash }.sorted { $0.count > $1.count }
    for key in matches {
      let url = dir.appendingPathComponent("\(key.count)-\(key.hash).\(Self.fileExtension)")
      if let checkpoint = load(url, expecting: (model, key.count, key.hash)) {
        guard Array(tokens.prefix(key.count)) == checkpoint.tokens else { continue }  // a SHA-256 collision
        return checkpoint
      }
    }
    return nil
  }

  /// The stored prefixes of `tokens` for `model`, longest first, as read from
  /// their headers (nothing decoded yet): the engine picks, by `rawBytes`,
  /// whether to load one whole (`load(_:)`) or stream it (`stream(_:sink:)`).
  /// A file whose header is corrupt is deleted and skipped.
  package func prefixCandidates(
    model: String, of tokens: [Int32], minimum: Int = 1, maximum: Int = .max
  ) -> [CheckpointEntry] {
    let dir = modelDirectory(model)
    let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
    let upper = min(maximum, tokens.count)
    let keys = names.compactMap(Self.key(fromFileName:)).filter { $0.count >= minimum && $0.count <= upper }
    guard !keys.isEmpty else { return [] }
    let hashes = Hashing.sha256(tokenPrefixesOf: tokens, lengths: Set(keys.map(\.count)))
    let matches = keys.filter { hashes[$0.count] == $0.hash }.sorted { $0.count > $1.count }
    var result: [CheckpointEntry] = []
    for key in matches {
      let url = dir.appendingPathComponent("\(key.count)-\(key.hash).\(Self.fileExtension)")
      let header: CheckpointHeader
      do {
        header = try readHeader(url)
      } catch let error as CheckpointCorruption {
        discard(url, reason: error)
        continue
      } catch {
        continue  // vanished or unreadable: a miss
      }
      // A header of another model under this hash, or a SHA-256 collision.
      guard header.identity == model, header.tokens == Array(tokens.prefix(key.count)) else { continue }
      let size = (try? url.resourceValues(forKeys: [.fileSizeKey]).fileSize) ?? 0
      result.append(
        CheckpointEntry(
          model: model, tokens: key.count, prefixHash: key.hash, rawBytes: header.rawSize,
          compressedBytes: size, lastUsed: Date(), path: url.path))
    }
    return result
  }

  /// Loads and verifies `candidate` whole (see `prefixCandidates`); nil when
  /// it is gone or corrupt (then deleted).
  package func load(_ candidate: CheckpointEntry) -> Checkpoint? {
    load(
      URL(fileURLWithPath: candidate.path),
      expecting: (candidate.model, candidate.tokens, candidate.prefixHash))
  }

  /// Streams `candidate`'s verified raw state to `sink` in bounded memory
  /// (see `read(_:sink:)`), and marks it used.
  ///
  /// - Returns: false when the file is gone, or corrupt (then deleted with a
  ///   warning); whatever `sink` received must then be discarded.
  /// - Throws: Only what `sink` throws.
  package func stream(_ candidate: CheckpointEntry, sink: (Data) throws -> Void) throws -> Bool {
    let url = URL(fileURLWithPath: candidate.path)
    guard FileManager.default.isReadableFile(atPath: url.path) else { return false }
    struct SinkFailure: Error { var error: Error }
    do {
      let header = try readHeader(url)
      guard header.identity == candidate.model, header.tokens.count == candidate.tokens,
        Hashing.sha256(tokens: header.tokens) == candidate.prefixHash
      else { throw CheckpointCorruption.keyMismatch }
      try read(url) { piece in
        do { try sink(piece) } catch { throw SinkFailure(error: error) }
      }
    } catch let failure as SinkFailure {
      throw failure.error
    } catch let error as CheckpointCorruption {
      discard(url, reason: error)
      return false
    } catch let error as ChunkCorruption {
      discardDelta(url, error: error)
      return false
    } catch {
      logger.debug("cannot read KV checkpoint", metadata: ["kv.path": "\(url.path)"])
      return false
    }
    try? FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: url.path)
    return true
  }

  /// Reads and verifies one file; deletes it when corrupt.
  func load(_ url: URL, expecting key: (model: String, count: Int, hash: String)?) -> Checkpoint? {
    let data: Data
    do {
      data = try Data(contentsOf: url)
    } catch {
      // Vanished (evicted by another process) or unreadable: a miss, not corruption.
      logger.debug("cannot read KV checkpoint", metadata: ["kv.path": "\(url.path)"])
      return nil
    }
    do {
      let checkpoint = try decodeAny(data, url: url, expecting: key)
      try? FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: url.path)
      return checkpoint
    } catch {
      discardDelta(url, error: error)
      return nil
    }
  }

  /// Parses and fully verifies a checkpoint file of any version (format 3
  /// reads its chunks from this store).
  package func decodeAny(
    _ data: Data, url: URL, expecting key: (model: String, count: Int, hash: String)?
  ) throws -> Checkpoint {
    if data.count >= 6, data[data.startIndex + 4] == 3, data[data.startIndex + 5] == 0 {
      var checkpoint = try decodeDelta(url, expecting: key)
      checkpoint.entry.compressedBytes = data.count
      return checkpoint
    }
    return try Self.decode(data, url: url, expecting: key)
  }

  /// Parses and fully verifies a checkpoint file's bytes (used by `load` and
  /// by the benchmark).
  package static func decode(
    _ data: Data, url: URL, expecting expected: (model: String, count: Int, hash: String)?
  ) throws(CheckpointCorruption) -> Checkpoint {
    let length = try CheckpointHeader.length(fromPrefix: data)
    // The header only: `decode` rebases its input with a copy, which for the
    // whole file was a state-sized copy (and its page faults) on every restore.
    let header = try CheckpointHeader.decode(data.prefix(length))
    let fileKey = key(fromFileName: url.lastPathComponent)
    guard header.tokens.count == fileKey?.count, Hashing.sha256(tokens: header.tokens) == fileKey?.hash else {
      throw .keyMismatch
    }
    if let expected, expected.model != header.identity || expected.count != header.tokens.count {
      throw .keyMismatch
    }
    let state: Data
    if header.version >= 2 {
      state = try KVCodec.decodePayload(data.dropFirst(length), rawSize: header.rawSize, treeHash: header.rawSHA256)
    } else {
      do {
        state = try Zstd.decompress(data.dropFirst(length), exactSize: header.rawSize)
      } catch {
        throw .payload(error.userDescription)
      }
      guard Data(hexString: Hashing.sha256(state)) == header.rawSHA256 else { throw .stateChecksum }
    }
    let entry = CheckpointEntry(
      model: header.identity, tokens: header.tokens.count, prefixHash: fileKey?.hash ?? "",
      rawBytes: header.rawSize, compressedBytes: data.count, lastUsed: Date(), path: url.path)
    return Checkpoint(tokens: header.tokens, state: state, entry: entry)
  }

  func discard(_ url: URL, reason: Error) {
    logger.warning(
      "discarding corrupt KV checkpoint; it will be recomputed",
      metadata: ["kv.path": "\(url.path)", "kv.reason": "\(reason)"])
    try? FileManager.default.removeItem(at: url)
  }

  // MARK: - Maintenance

  /// Every checkpoint (all models), newest use first, read from file headers.
  /// A prefix-delta checkpoint's `compressedBytes` count the chunks it needs
  /// (shared ones in each checkpoint that shares them).
  ///
  /// Files whose header is unreadable are listed nowhere; `verify()` removes them.
  public func list() -> [CheckpointEntry] {
    files().compactMap { file -> CheckpointEntry? in
      guard let key = Self.key(fromFileName: file.url.lastPathComponent),
        let header = try? readHeader(file.url)
      else { return nil }
      return CheckpointEntry(
        model: header.identity, tokens: header.tokens.count, prefixHash: key.hash, rawBytes: header.rawSize,
        compressedBytes: file.size + (header.version >= 3 ? chunkBytes(of: file.url) : 0), lastUsed: file.modified,
        path: file.url.path)
    }.sorted { $0.lastUsed > $1.lastUsed }
  }

  /// Reads every checkpoint back in full, deleting those that are corrupt.
  ///
  /// Verification does not count as a use: modification times are kept.
  public func verify() -> CheckpointVerification {
    var result = CheckpointVerification(intact: [], removed: [])
    for file in files() {
      do {
        guard let data = try? Data(contentsOf: file.url) else { throw CheckpointCorruption.truncated }
        let checkpoint = try decodeAny(data, url: file.url, expecting: nil)
        var entry = checkpoint.entry
        entry.lastUsed = file.modified
        entry.compressedBytes = file.size + chunkBytes(of: file.url)
        result.intact.append(entry)
      } catch {
        discardDelta(file.url, error: error)
        let reason = (error as? ChunkCorruption).map { "chunk \($0.url.lastPathComponent): \($0.reason)" } ?? "\(error)"
        result.removed.append(.init(path: file.url.path, reason: reason))
      }
    }
    return result
  }

  /// Deletes least-recently-used checkpoints until the store holds at most
  /// `maxBytes`, stray temporary files older than an hour, and chunks no
  /// checkpoint refers to that are older than an hour (a save writes its
  /// chunks before its own file). Chains stay whole: a chunk is deleted only
  /// with the last checkpoint that needs it, and its bytes count until then.
  ///
  /// - Parameters:
  ///   - maxBytes: The bound (default: the store's).
  ///   - keeping: A file never to evict (the one just written).
  @discardableResult
  public func gc(maxBytes: Int? = nil, keeping: String? = nil) -> CheckpointCollection {
    let bound = maxBytes ?? self.maxBytes
    let fm = FileManager.default
    let hourAgo = Date().addingTimeInterval(-3600)
    for stray in files(temporary: true) where stray.modified < hourAgo {
      try? fm.removeItem(at: stray.url)
    }
    let all = files().sorted { $0.modified < $1.modified }
    // Which chunks each checkpoint needs, and how many checkpoints need each chunk.
    var chunks: [String: FileInfo] = [:]
    for chunk in chunkFiles() { chunks[chunk.url.path] = chunk }
    var needs: [String: [String]] = [:]
    var users: [String: Int] = [:]
    for file in all {
      guard let manifest = try? readManifest(file.url) else { continue }
      let dir = file.url.deletingLastPathComponent().appendingPathComponent("chunks", isDirectory: true)
      let paths = Set(manifest.chunks.map { dir.appendingPathComponent($0.fileName).path })
      needs[file.url.path] = Array(paths)
      for path in paths { users[path, default: 0] += 1 }
    }
    for (path, chunk) in chunks where users[path] == nil && chunk.modified < hourAgo {
      if (try? fm.removeItem(at: chunk.url)) != nil { chunks[path] = nil }
    }
    let before = all.reduce(0) { $0 + $1.size } + chunks.values.reduce(0) { $0 + $1.size }
    var total = before
    var removed: [CheckpointEntry] = []
    for file in all where total > bound && file.url.path != keeping {
      let header = try? readHeader(file.url)
      guard (try? fm.removeItem(at: file.url)) != nil else { continue }
      total -= file.size
      var freed = 0
      for path in needs[file.url.path] ?? [] {
        users[path, default: 1] -= 1
        guard users[path] == 0, let chunk = chunks[path], (try? fm.removeItem(at: chunk.url)) != nil else { continue }
        freed += chunk.size
        chunks[path] = nil
      }
      total -= freed
      removed.append(
        CheckpointEntry(
          model: header?.identity ?? "?", tokens: header?.tokens.count ?? 0,
          prefixHash: Self.key(fromFileName: file.url.lastPathComponent)?.hash ?? "",
          rawBytes: header?.rawSize ?? 0, compressedBytes: file.size + freed, lastUsed: file.modified,
          path: file.url.path))
    }
    if !removed.isEmpty {
      logger.info(
        "evicted KV checkpoints", metadata: ["kv.count": "\(removed.count)", "kv.bytes": "\(before - total)"])
    }
    // Drop empty chunk and model directories.
    for dir in (try? fm.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)) ?? [] {
      let chunkDir = dir.appendingPathComponent("chunks", isDirectory: true)
      if (try? fm.contentsOfDirectory(atPath: chunkDir.path))?.isEmpty == true { try? fm.removeItem(at: chunkDir) }
      if (try? fm.contentsOfDirectory(atPath: dir.path))?.isEmpty == true { try? fm.removeItem(at: dir) }
    }
    return CheckpointCollection(removed: removed, bytesBefore: before, bytesAfter: total)
  }

  /// Bytes of the chunk files the format-3 checkpoint at `url` needs (0 for other formats).
  func chunkBytes(of url: URL) -> Int {
    guard let manifest = try? readManifest(url) else { return 0 }
    let dir = url.deletingLastPathComponent().appendingPathComponent("chunks", isDirectory: true)
    return Set(manifest.chunks.map(\.fileName)).reduce(0) { total, name in
      total + ((try? dir.appendingPathComponent(name).resourceValues(forKeys: [.fileSizeKey]).fileSize ?? 0) ?? 0)
    }
  }

  /// Every chunk file (all models).
  private func chunkFiles() -> [FileInfo] {
    let fm = FileManager.default
    let keys: [URLResourceKey] = [.fileSizeKey, .contentModificationDateKey, .isRegularFileKey]
    var result: [FileInfo] = []
    for dir in (try? fm.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)) ?? [] {
      let chunkDir = dir.appendingPathComponent("chunks", isDirectory: true)
      for url in (try? fm.contentsOfDirectory(at: chunkDir, includingPropertiesForKeys: keys)) ?? [] {
        let name = url.lastPathComponent
        let isChunk = name.hasSuffix("." + Self.chunkExtension) && !name.hasPrefix(".")
        let isTemporary = name.hasPrefix(".") && name.hasSuffix(".tmp")
        guard isChunk || isTemporary, let values = try? url.resourceValues(forKeys: Set(keys)),
          values.isRegularFile == true
        else { continue }
        result.append(
          FileInfo(url: url, size: values.fileSize ?? 0, modified: values.contentModificationDate ?? .distantPast))
      }
    }
    return result
  }

  private struct FileInfo {
    var url: URL
    var size: Int
    var modified: Date
  }

  private func files(temporary: Bool = false) -> [FileInfo] {
    let fm = FileManager.default
    let keys: [URLResourceKey] = [.fileSizeKey, .contentModificationDateKey, .isRegularFileKey]
    var result: [FileInfo] = []
    for dir in (try? fm.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)) ?? [] {
      for url in (try? fm.contentsOfDirectory(at: dir, includingPropertiesForKeys: keys)) ?? [] {
        let name = url.lastPathComponent
        let isCheckpoint = Self.key(fromFileName: name) != nil
        let isTemporary = name.hasPrefix(".") && name.hasSuffix(".tmp")
        guard temporary ? isTemporary : isCheckpoint,
          let values = try? url.resourceValues(forKeys: Set(keys)), values.isRegularFile == true
        else { continue }
        result.append(
          FileInfo(url: url, size: values.fileSize ?? 0, modified: values.contentModificationDate ?? .distantPast))
      }
    }
    return result
  }

  func readHeader(_ url: URL) throws -> CheckpointHeader {
    let handle = try FileHandle(forReadingFrom: url)
    defer { try? handle.close() }
    let prefix = try handle.read(upToCount: CheckpointHeader.fixedPrefix) ?? Data()
    let length = try CheckpointHeader.length(fromPrefix: prefix)
    let rest = try handle.read(upToCount: length - prefix.count) ?? Data()
    return try CheckpointHeader.decode(prefix + rest)
  }
}

extension Data {
  /// Bytes from lowercase hex.
  init(hexString hex: String) {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(hex.utf8.count / 2)
    var high: UInt8?
    for c in hex.utf8 {
      let v: UInt8 = c >= 97 ? c - 87 : c - 48
      if let h = high {
        bytes.append(h << 4 | v)
        high = nil
      } else {
        high = v
      }
    }
    self.init(bytes)
  }
}
