import Dispatch
import Foundation
import Storage

/// A chunk file that failed verification (deleted with the checkpoint that needed it).
struct ChunkCorruption: Error {
  var url: URL
  var reason: CheckpointCorruption
}

/// Prefix-delta checkpoints (format 3): see `CheckpointManifest`.
extension CheckpointStore {
  static let chunkExtension = "lckc"

  /// Where a model's chunks go.
  func chunkDirectory(_ model: String) -> URL {
    modelDirectory(model).appendingPathComponent("chunks", isDirectory: true)
  }

  // MARK: - Save

  /// Saves the state of `tokens` as a prefix-delta checkpoint: the cells of
  /// the full-attention caches in chunks shared with every other checkpoint
  /// of the same prefix (only the chunks not stored yet are written), the
  /// rest (headers, the sliding-window cache's last window) in the
  /// checkpoint's own file.
  ///
  /// - Parameters:
  ///   - rawSize: Bytes of the state.
  ///   - read: Fills the buffer with the state's bytes at an offset (any order).
  /// - Returns: The entry, or nil when the state has no stream this can cut
  ///   by position (then save it whole).
  /// - Throws: `CheckpointError`; chunks already written stay (they are
  ///   shared; `gc` removes unreferenced ones after an hour).
  package func saveDelta(
    model: String, tokens: [Int32], rawSize: Int, read: (Int, UnsafeMutableRawBufferPointer) throws -> Void
  ) throws -> CheckpointEntry? {
    let reader: (Int, Int) -> [UInt8] = { offset, count in
      let n = max(0, min(count, rawSize - offset))
      var bytes = [UInt8](repeating: 0, count: n)
      let ok = bytes.withUnsafeMutableBytes { (try? read(offset, $0)) != nil }
      return ok ? bytes : []
    }
    guard let map = KVStateMap.parse(size: rawSize, tokens: tokens.count, read: reader), map.isChunked,
      map.rawSize == rawSize
    else { return nil }
    let hash = Hashing.sha256(tokens: tokens)
    let url = location(model: model, count: tokens.count, hash: hash)
    let chunkDir = chunkDirectory(model)
    var stored = 0
    // Bytes the checkpoint needs (its chunks, shared or not, and its file), and the chunks this save wrote.
    var needed = 0
    var written: [URL] = []
    func refuse() throws -> Never {
      for url in written { try? FileManager.default.removeItem(at: url) }
      throw CheckpointError.stateTooLarge(bytes: needed, limit: maxBytes)
    }
    do {
      try FileManager.default.createDirectory(at: chunkDir, withIntermediateDirectories: true)
      // The longest stored delta checkpoint this prefix extends gives its cuts inside grid blocks.
      var parentChunks: [CheckpointManifest.Chunk] = []
      for candidate in prefixCandidates(model: model, of: tokens, maximum: tokens.count - 1) {
        guard let parent = try? readManifest(URL(fileURLWithPath: candidate.path)),
          parent.map.chunkSignature == map.chunkSignature
        else { continue }
        parentChunks = parent.chunks
        break
      }
      let parentByRange = Dictionary(
        parentChunks.map { ($0.start..<$0.end, $0) }, uniquingKeysWith: { first, _ in first })
      let offsets = map.offsets
      var chunks: [CheckpointManifest.Chunk] = []

      /// The chunk of cells `range` keyed `key` (salted when that key holds other bytes), written unless stored.
      func store(_ range: Range<Int>, key plain: Data, bytes: Data, tree: Data) throws -> CheckpointManifest.Chunk {
        // The parent's own chunk of these cells with these bytes (whatever key it was saved under).
        if let chunk = parentByRange[range], chunk.treeHash == tree,
          storedChunk(chunkDir, key: chunk.key, treeHash: tree) == true
        {
          needed += fileSize(chunkDir.appendingPathComponent(chunk.fileName))
          return chunk
        }
        var key = plain
        var reuse = storedChunk(chunkDir, key: key, treeHash: tree)
        if reuse == false {
          key = CheckpointManifest.salted(key, treeHash: tree)
          reuse = storedChunk(chunkDir, key: key, treeHash: tree)
        }
        let chunk = CheckpointManifest.Chunk(start: range.lowerBound, end: range.upperBound, key: key, treeHash: tree)
        let chunkURL = chunkDir.appendingPathComponent(chunk.fileName)
        if reuse == true {
          needed += fileSize(chunkURL)
          return chunk
        }
        let header = CheckpointHeader(
          version: 3, identity: model, tokens: Array(tokens[range]), rawSize: bytes.count, rawSHA256: tree)
        var file = header.encoded()
        file.append(try Self.encodeFrames(bytes, layout: map.chunkLayout(cells: range.count), level: compressionLevel))
        needed += file.count
        if needed > maxBytes { try refuse() }
        try AtomicFile.write(file, to: chunkURL)
        written.append(chunkURL)
        stored += file.count
        return chunk
      }

      // Grid block after block; `blockKey` is the key of the block before (the root for the first).
      var blockKey = CheckpointManifest.rootKey(model: model, signature: map.chunkSignature, chunkTokens: chunkTokens)
      for (block, pieces) in CheckpointManifest.plan(
        count: tokens.count, parent: parentChunks.map(\.end), chunkTokens: chunkTokens)
      {
        let wholeKey = CheckpointManifest.key(parent: blockKey, start: block.lowerBound, tokens: tokens[block])
        var done = false
        if pieces.count > 1 {
          // A block the parent cut, stored whole by another chain: that chunk, as it is.
          let bytes = try chunkBytes(map, offsets: offsets, range: block, read: read)
          let tree = Self.treeHash(bytes, layout: map.chunkLayout(cells: block.count))
          if storedChunk(chunkDir, key: wholeKey, treeHash: tree) == true {
            needed += fileSize(chunkDir.appendingPathComponent(Hashing.hex(wholeKey) + "." + Self.chunkExtension))
            chunks.append(
              CheckpointManifest.Chunk(start: block.lowerBound, end: block.upperBound, key: wholeKey, treeHash: tree))
            done = true
          }
        }
        if !done {
          for piece in pieces {
            let bytes = try chunkBytes(map, offsets: offsets, range: piece, read: read)
            let tree = Self.treeHash(bytes, layout: map.chunkLayout(cells: piece.count))
            let plain = CheckpointManifest.key(parent: blockKey, start: piece.lowerBound, tokens: tokens[piece])
            chunks.append(try store(piece, key: plain, bytes: bytes, tree: tree))
          }
        }
        blockKey = wholeKey
      }
      // The own bytes, in order.
      var own = Data(capacity: map.ownSize)
      for (i, piece) in map.pieces.enumerated() {
        guard case .own(let s) = piece else { continue }
        var part = Data(count: s.length)
        try part.withUnsafeMutableBytes { try read(offsets[i], $0) }
        own.append(part)
      }
      let ownLayout = map.ownLayout
      let manifest = CheckpointManifest(
        map: map, ownSize: own.count, ownTreeHash: Self.treeHash(own, layout: ownLayout), chunks: chunks)
      let index = manifest.encoded()
      let header = CheckpointHeader(
        version: 3, identity: model, tokens: tokens, rawSize: rawSize,
        rawSHA256: Data(hexString: Hashing.sha256(index)))
      var file = header.encoded()
      file.append(index)
      file.append(try Self.encodeFrames(own, layout: ownLayout, level: compressionLevel))
      needed += file.count
      if needed > maxBytes { try refuse() }
      try AtomicFile.write(file, to: url)
      stored += file.count
    } catch let error as CheckpointError {
      throw error
    } catch {
      throw CheckpointError.writeFailed(path: url.path, reason: error.userDescription)
    }
    let size = ((try? url.resourceValues(forKeys: [.fileSizeKey]).fileSize) ?? 0) + chunkBytes(of: url)
    logger.debug(
      "saved KV delta checkpoint",
      metadata: ["kv.tokens": "\(tokens.count)", "kv.raw": "\(rawSize)", "kv.written": "\(stored)"])
    _ = gc(maxBytes: maxBytes, keeping: url.path)
    return CheckpointEntry(
      model: model, tokens: tokens.count, prefixHash: hash, rawBytes: rawSize, compressedBytes: size,
      lastUsed: Date(), path: url.path)
  }

  /// Bytes of the file at `url` (0 when it is gone).
  private func fileSize(_ url: URL) -> Int {
    (try? url.resourceValues(forKeys: [.fileSizeKey]).fileSize ?? 0) ?? 0
  }

  /// Whether the chunk `key` is stored with `treeHash` (true, and marked
  /// used), with other bytes (false), or not at all (nil).
  private func storedChunk(_ dir: URL, key: Data, treeHash: Data) -> Bool? {
    let url = dir.appendingPathComponent(Hashing.hex(key) + "." + Self.chunkExtension)
    guard FileManager.default.fileExists(atPath: url.path) else { return nil }
    guard let header = try? readHeader(url) else { return false }
    guard header.rawSHA256 == treeHash else { return false }
    try? FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: url.path)
    return true
  }

  /// The chunked pieces' slices for cells `range`, piece after piece.
  private func chunkBytes(
    _ map: KVStateMap, offsets: [Int], range: Range<Int>, read: (Int, UnsafeMutableRawBufferPointer) throws -> Void
  ) throws -> Data {
    var bytes = Data(count: map.cellBytes * range.count)
    try bytes.withUnsafeMutableBytes { dst in
      var at = 0
      for (i, piece) in map.pieces.enumerated() {
        guard case .cells(let unit, _, _) = piece else { continue }
        let n = unit * range.count
        try read(offsets[i] + unit * range.lowerBound, UnsafeMutableRawBufferPointer(rebasing: dst[at..<(at + n)]))
        at += n
      }
    }
    return bytes
  }

  /// The tree hash of `bytes` cut into frames by `layout` (what `encodeFrames` records).
  static func treeHash(_ bytes: Data, layout: [KVCodec.Segment]) -> Data {
    var hashes: [Data] = []
    var at = bytes.startIndex
    for frame in KVCodec.frames(layout) {
      let n = frame.reduce(0) { $0 + $1.length }
      hashes.append(Data(hexString: Hashing.sha256(bytes[at..<(at + n)])))
      at += n
    }
    return KVCodec.treeHash(hashes)
  }

  /// `bytes` as KVCodec frames, encoded on all cores.
  static func encodeFrames(_ bytes: Data, layout: [KVCodec.Segment], level: Int32) throws -> Data {
    let frames = KVCodec.frames(layout)
    var offsets: [Int] = []
    var at = 0
    for f in frames {
      offsets.append(at)
      at += f.reduce(0) { $0 + $1.length }
    }
    let starts = offsets
    let results = FrameResults(count: frames.count)
    bytes.withUnsafeBytes { raw in
      let base = KVSendableBuffer(UnsafeMutableRawBufferPointer(mutating: raw))
      DispatchQueue.concurrentPerform(iterations: frames.count) { i in
        let n = frames[i].reduce(0) { $0 + $1.length }
        let slice = UnsafeRawBufferPointer(rebasing: base.buffer[starts[i]..<(starts[i] + n)])
        results.set(i, Result { try KVCodec.encodeFrame(slice, pieces: frames[i], level: level).bytes })
      }
    }
    var out = Data()
    for i in 0..<frames.count { out.append(try results.get(i)) }
    return out
  }

  // MARK: - Restore

  /// The index of a format-3 file (header verified, index hash checked).
  func readManifest(_ url: URL) throws -> CheckpointManifest {
    let handle = try FileHandle(forReadingFrom: url)
    defer { try? handle.close() }
    let header = try readHeader(url)
    guard header.version == 3 else { throw CheckpointCorruption.unsupportedVersion(Int(header.version)) }
    try handle.seek(toOffset: UInt64(header.encoded().count))
    // The index is small next to the state: a few KB of pieces, 72 bytes per chunk.
    let fixed = try handle.read(upToCount: 28 + 32) ?? Data()
    guard fixed.count == 60 else { throw CheckpointCorruption.truncated }
    let pieces = Data(fixed).kvReadLE32(at: 12)
    let chunks = Data(fixed).kvReadLE32(at: 16)
    guard pieces <= 1 << 22, chunks <= 1 << 22 else { throw CheckpointCorruption.payload("bad manifest counts") }
    let rest = try handle.read(upToCount: pieces * 20 + chunks * 72) ?? Data()
    let index = fixed + rest
    guard Data(hexString: Hashing.sha256(index)) == header.rawSHA256 else { throw CheckpointCorruption.stateChecksum }
    return try CheckpointManifest.decode(index).0
  }

  /// Whether `entry`'s file is a prefix-delta checkpoint.
  package func isDelta(_ entry: CheckpointEntry) -> Bool {
    (try? readHeader(URL(fileURLWithPath: entry.path)))?.version == 3
  }

  /// Puts a format-3 checkpoint's state together, verified piece by piece,
  /// handing `write` each stretch with its offset in the state (in bounded
  /// memory: a core's worth of chunks at a time).
  ///
  /// - Returns: The header.
  /// - Throws: `CheckpointCorruption` (the file), `ChunkCorruption` (a
  ///   chunk), or what `write` throws.
  @discardableResult
  func assemble(_ url: URL, write: (Int, UnsafeRawBufferPointer) throws -> Void) throws -> CheckpointHeader {
    let data = try Data(contentsOf: url)
    let length = try CheckpointHeader.length(fromPrefix: data)
    let header = try CheckpointHeader.decode(data.prefix(length))
    guard header.version == 3 else { throw CheckpointCorruption.unsupportedVersion(Int(header.version)) }
    let fileKey = Self.key(fromFileName: url.lastPathComponent)
    guard header.tokens.count == fileKey?.count, Hashing.sha256(tokens: header.tokens) == fileKey?.hash else {
      throw CheckpointCorruption.keyMismatch
    }
    let (manifest, indexLength) = try CheckpointManifest.decode(data.dropFirst(length))
    let indexBytes = data.dropFirst(length).prefix(indexLength)
    guard Data(hexString: Hashing.sha256(indexBytes)) == header.rawSHA256 else {
      throw CheckpointCorruption.stateChecksum
    }
    let map = manifest.map
    guard map.rawSize == header.rawSize, map.cells == header.tokens.count else {
      throw CheckpointCorruption.payload("manifest does not match the header")
    }
    // Chunks first: a missing or damaged one is the likelier failure.
    let offsets = map.offsets
    let dir = chunkDirectory(header.identity)
    let batch = KVCodec.parallelism
    var next = 0
    while next < manifest.chunks.count {
      let group = Array(manifest.chunks[next..<min(manifest.chunks.count, next + batch)])
      next += group.count
      let files: [(URL, Data)] = try group.map { chunk in
        let curl = dir.appendingPathComponent(chunk.fileName)
        guard let bytes = try? Data(contentsOf: curl) else { throw ChunkCorruption(url: curl, reason: .truncated) }
        return (curl, bytes)
      }
      let decoded = DecodedChunks(count: group.count)
      DispatchQueue.concurrentPerform(iterations: group.count) { i in
        let chunk = group[i]
        let (curl, bytes) = files[i]
        do throws(CheckpointCorruption) {
          let length = try CheckpointHeader.length(fromPrefix: bytes)
          let h = try CheckpointHeader.decode(bytes.prefix(length))
          guard h.identity == header.identity, h.tokens == Array(header.tokens[chunk.start..<chunk.end]),
            h.rawSHA256 == chunk.treeHash, h.rawSize == map.cellBytes * (chunk.end - chunk.start)
          else { throw .keyMismatch }
          let raw = try KVCodec.decodePayload(bytes.dropFirst(length), rawSize: h.rawSize, treeHash: h.rawSHA256)
          decoded.set(i, .success(raw))
        } catch {
          decoded.set(i, .failure(ChunkCorruption(url: curl, reason: error)))
        }
      }
      for (i, chunk) in group.enumerated() {
        let raw = try decoded.get(i)
        try raw.withUnsafeBytes { src in
          var at = 0
          for (p, piece) in map.pieces.enumerated() {
            guard case .cells(let unit, _, _) = piece else { continue }
            let n = unit * (chunk.end - chunk.start)
            try write(offsets[p] + unit * chunk.start, UnsafeRawBufferPointer(rebasing: src[at..<(at + n)]))
            at += n
          }
        }
      }
    }
    let ownPayload = data.dropFirst(length + indexLength)
    let own = try KVCodec.decodePayload(ownPayload, rawSize: manifest.ownSize, treeHash: manifest.ownTreeHash)
    try own.withUnsafeBytes { src in
      var at = 0
      for (p, piece) in map.pieces.enumerated() {
        switch piece {
        case .own(let s):
          try write(offsets[p], UnsafeRawBufferPointer(rebasing: src[at..<(at + s.length)]))
          at += s.length
        case .meta:
          var cell = 0
          while cell < map.cells {
            let end = min(map.cells, cell + 4096)
            try map.metaBytes(cell..<end).withUnsafeBytes { try write(offsets[p] + 12 * cell, $0) }
            cell = end
          }
        case .cells: continue
        }
      }
    }
    return header
  }

  /// A format-3 checkpoint's state, whole in memory.
  func decodeDelta(_ url: URL, expecting expected: (model: String, count: Int, hash: String)?) throws -> Checkpoint {
    var state = Data()
    var header: CheckpointHeader?
    let h = try readHeader(url)
    if let expected, expected.model != h.identity || expected.count != h.tokens.count {
      throw CheckpointCorruption.keyMismatch
    }
    state = Data(count: h.rawSize)
    try state.withUnsafeMutableBytes { dst in
      header = try assemble(url) { offset, src in
        guard offset >= 0, offset + src.count <= dst.count else { throw CheckpointCorruption.payload("out of range") }
        UnsafeMutableRawBufferPointer(rebasing: dst[offset..<(offset + src.count)]).copyMemory(from: src)
      }
    }
    guard let header else { throw CheckpointCorruption.truncated }
    let size = (try? url.resourceValues(forKeys: [.fileSizeKey]).fileSize) ?? 0
    let entry = CheckpointEntry(
      model: header.identity, tokens: header.tokens.count, prefixHash: Hashing.sha256(tokens: header.tokens),
      rawBytes: header.rawSize, compressedBytes: size, lastUsed: Date(), path: url.path)
    return Checkpoint(tokens: header.tokens, state: state, entry: entry)
  }

  /// Restores a format-3 `candidate` through `write` (offset in the state, bytes),
  /// and marks it used.
  ///
  /// - Returns: false when it is gone or corrupt (then deleted, with the
  ///   damaged chunk); whatever `write` received must then be discarded.
  /// - Throws: Only what `write` throws.
  package func assemble(_ candidate: CheckpointEntry, write: (Int, UnsafeRawBufferPointer) throws -> Void) throws
    -> Bool
  {
    let url = URL(fileURLWithPath: candidate.path)
    struct WriteFailure: Error { var error: Error }
    do {
      let header = try assemble(url) { offset, bytes in
        do { try write(offset, bytes) } catch { throw WriteFailure(error: error) }
      }
      guard header.identity == candidate.model, header.tokens.count == candidate.tokens else {
        throw CheckpointCorruption.keyMismatch
      }
    } catch let failure as WriteFailure {
      throw failure.error
    } catch {
      discardDelta(url, error: error)
      return false
    }
    try? FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: url.path)
    return true
  }

  /// Deletes a checkpoint that failed (and the chunk that made it fail).
  func discardDelta(_ url: URL, error: Error) {
    if let chunk = error as? ChunkCorruption {
      discard(chunk.url, reason: chunk.reason)
      discard(url, reason: chunk.reason)
    } else if error is CheckpointCorruption {
      discard(url, reason: error)
    } else {
      logger.debug("cannot read KV checkpoint", metadata: ["kv.path": "\(url.path)"])
    }
  }

  /// `model`'s chunk files as (tokens, bytes on disk) each (for tests and benchmarks).
  package func chunkSizes(model: String) -> [(tokens: Int, bytes: Int)] {
    let dir = chunkDirectory(model)
    let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
    return names.filter { $0.hasSuffix("." + Self.chunkExtension) && !$0.hasPrefix(".") }.compactMap { name in
      let url = dir.appendingPathComponent(name)
      guard let header = try? readHeader(url) else { return nil }
      return (header.tokens.count, (try? url.resourceValues(forKeys: [.fileSizeKey]).fileSize ?? 0) ?? 0)
    }
  }

  /// Bytes of every checkpoint and chunk file on disk.
  public func diskBytes() -> Int {
    let fm = FileManager.default
    var total = 0
    let keys: Set<URLResourceKey> = [.fileSizeKey, .isRegularFileKey]
    guard let walker = fm.enumerator(at: directory, includingPropertiesForKeys: Array(keys)) else { return 0 }
    for case let url as URL in walker {
      guard let values = try? url.resourceValues(forKeys: keys), values.isRegularFile == true else { continue }
      total += values.fileSize ?? 0
    }
    return total
  }
}

/// Encoded frames by index, filled by the workers.
private final class FrameResults: @unchecked Sendable {
  private let lock = NSLock()
  private var results: [Result<Data, Error>?]
  init(count: Int) { results = Array(repeating: nil, count: count) }
  func set(_ i: Int, _ r: Result<Data, Error>) { lock.withLock { results[i] = r } }
  func get(_ i: Int) throws -> Data { try lock.withLock { results[i]! }.get() }
}

/// Decoded chunks by index, filled by the workers.
private final class DecodedChunks: @unchecked Sendable {
  private let lock = NSLock()
  private var results: [Result<Data, Error>?]
  init(count: Int) { results = Array(repeating: nil, count: count) }
  func set(_ i: Int, _ r: Result<Data, Error>) { lock.withLock { results[i] = r } }
  func get(_ i: Int) throws -> Data { try lock.withLock { results[i]! }.get() }
}
