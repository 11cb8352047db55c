import Foundation
import Storage

/// The index of a format-3 (prefix-delta) checkpoint: how to put the
/// sequence state back together from its own bytes and its chunks.
///
/// A format-3 file is the usual `CheckpointHeader` (version 3; `rawSize` the
/// whole state's; `rawSHA256` the SHA-256 of the index bytes), then:
///
///     magic "LCKM" | cells u32 | meta seq u32 | piece count u32 | chunk count u32
///     own raw size u64 | own tree hash (32 bytes)
///     pieces × (type u32: 0 own, 1 meta, 2 cells | kind u32 | row bytes u32 | length or unit u64)
///     chunks × (start u32 | end u32 | key (32 bytes) | tree hash (32 bytes))
///     own bytes: KVCodec frames (as in format 2)
///
/// Each chunk is a file `chunks/<key>.lckc` beside the model's checkpoints:
/// a `CheckpointHeader` (version 3; the chunk's own token ids; `rawSHA256`
/// its frames' tree hash) and KVCodec frames of the chunked pieces' slices
/// for cells `[start, end)`, piece after piece.
///
/// Chunks follow a grid of `chunkTokens` positions, as vLLM, LMCache and
/// SGLang key their blocks: the key of grid block `k` (positions
/// `[k·n, (k+1)·n)`) is SHA-256(block `k-1`'s key ‖ start ‖ its token ids),
/// block 0's parent being a root key derived from the model identity, the
/// chunk layout and `n`; so a key names one token prefix, whatever was
/// stored before. A block a prefix ends inside is stored as a partial chunk
/// keyed the same way from the previous block's key (its own token ids are
/// fewer); a longer prefix that extends it keeps that cut and stores the
/// rest of the block as one more chunk, so along a chain of growing
/// prefixes each position's cells are stored once, and the blocks after are
/// keyed by the grid, never by the partial chunk. When another computation of
/// the same tokens is stored under a key with different bytes (a prefill
/// whose rounding differed), the tree hash is mixed into that chunk's key,
/// so a checkpoint never restores cells computed by another run than its
/// own (the keys of the blocks after it stay the grid's). The index records
/// every chunk's key and tree hash, so readers never derive keys: files
/// saved with the keys of earlier versions read the same.
package struct CheckpointManifest: Sendable, Equatable {
  package struct Chunk: Sendable, Equatable {
    package var start: Int
    package var end: Int
    package var key: Data
    package var treeHash: Data

    /// The chunk file's name.
    package var fileName: String { Hashing.hex(key) + "." + CheckpointStore.chunkExtension }
  }

  package var map: KVStateMap
  package var ownSize: Int
  package var ownTreeHash: Data
  package var chunks: [Chunk]

  static let magic: [UInt8] = Array("LCKM".utf8)

  /// The index bytes (everything before the own frames).
  func encoded() -> Data {
    var d = Data()
    d.append(contentsOf: Self.magic)
    d.manifestAppend32(map.cells)
    d.manifestAppend32(Int(map.metaSeq))
    d.manifestAppend32(map.pieces.count)
    d.manifestAppend32(chunks.count)
    d.manifestAppend64(ownSize)
    d.append(ownTreeHash)
    for p in map.pieces {
      switch p {
      case .own(let s):
        d.manifestAppend32(0)
        d.manifestAppend32(Int(s.kind.rawValue))
        d.manifestAppend32(s.rowBytes)
        d.manifestAppend64(s.length)
      case .meta:
        d.manifestAppend32(1)
        d.manifestAppend32(0)
        d.manifestAppend32(0)
        d.manifestAppend64(12)
      case .cells(let unit, let kind, let rowBytes):
        d.manifestAppend32(2)
        d.manifestAppend32(Int(kind.rawValue))
        d.manifestAppend32(rowBytes)
        d.manifestAppend64(unit)
      }
    }
    for c in chunks {
      d.manifestAppend32(c.start)
      d.manifestAppend32(c.end)
      d.append(c.key)
      d.append(c.treeHash)
    }
    return d
  }

  /// Parses an index from the start of `bytes`; returns it and its length.
  static func decode(_ bytes: Data) throws(CheckpointCorruption) -> (CheckpointManifest, Int) {
    let b = Data(bytes)
    var at = 0
    func take(_ n: Int) throws(CheckpointCorruption) -> Data {
      guard n >= 0, at + n <= b.count else { throw .truncated }
      defer { at += n }
      return b[at..<(at + n)]
    }
    func u32() throws(CheckpointCorruption) -> Int { try take(4).kvReadLE32(at: 0) }
    func u64() throws(CheckpointCorruption) -> Int {
      let lo = try u32()
      let hi = try u32()
      guard hi < 1 << 20 else { throw .payload("bad manifest size") }
      return lo | hi << 32
    }
    guard Array(try take(4)) == magic else { throw .payload("bad manifest magic") }
    let cells = try u32()
    let metaSeq = try u32()
    let pieceCount = try u32()
    let chunkCount = try u32()
    guard pieceCount <= 1 << 22, chunkCount <= 1 << 22 else { throw .payload("bad manifest counts") }
    let ownSize = try u64()
    let ownHash = Data(try take(32))
    var pieces: [KVStateMap.Piece] = []
    for _ in 0..<pieceCount {
      let type = try u32()
      guard let kind = KVCodec.Kind(rawValue: UInt32(try u32())) else { throw .payload("bad manifest piece") }
      let rowBytes = try u32()
      let length = try u64()
      switch type {
      case 0:
        let s = KVCodec.Segment(kind: kind, rowBytes: rowBytes, length: length)
        guard KVCodec.valid(s) else { throw .payload("bad manifest piece") }
        pieces.append(.own(s))
      case 1: pieces.append(.meta)
      case 2:
        let s = KVCodec.Segment(kind: kind, rowBytes: rowBytes, length: length)
        guard length > 0, KVCodec.valid(s) else { throw .payload("bad manifest piece") }
        pieces.append(.cells(unit: length, kind: kind, rowBytes: rowBytes))
      default: throw .payload("bad manifest piece")
      }
    }
    var chunks: [Chunk] = []
    var expected = 0
    for _ in 0..<chunkCount {
      let start = try u32()
      let end = try u32()
      guard start == expected, end > start, end <= cells else { throw .payload("chunks do not cover the prefix") }
      expected = end
      chunks.append(Chunk(start: start, end: end, key: Data(try take(32)), treeHash: Data(try take(32))))
    }
    let map = KVStateMap(cells: cells, metaSeq: UInt32(metaSeq), pieces: pieces)
    guard expected == (map.isChunked ? cells : 0), map.ownSize == ownSize else {
      throw .payload("chunks do not cover the prefix")
    }
    return (CheckpointManifest(map: map, ownSize: ownSize, ownTreeHash: ownHash, chunks: chunks), at)
  }

  // MARK: - Keys

  /// The parent key of grid block 0: one key space per model identity,
  /// chunk layout (`KVStateMap.chunkSignature`) and grid size.
  static func rootKey(model: String, signature: [Int], chunkTokens: Int) -> Data {
    let layout = signature.map(String.init).joined(separator: ",")
    return Data(hexString: Hashing.sha256("longctx-kv-chunk\n\(model)\n\(layout)\n\(chunkTokens)"))
  }

  /// SHA-256(parent ‖ start ‖ token ids).
  static func key(parent: Data, start: Int, tokens: ArraySlice<Int32>) -> Data {
    var d = Data(capacity: 36 + 4 * tokens.count)
    d.append(parent)
    d.manifestAppend32(start)
    for t in tokens { d.manifestAppend32(Int(UInt32(bitPattern: t))) }
    return Data(hexString: Hashing.sha256(d))
  }

  /// The key of a chunk whose plain key names other bytes.
  static func salted(_ key: Data, treeHash: Data) -> Data {
    Data(hexString: Hashing.sha256(key + treeHash))
  }

  /// How a prefix of `count` tokens is cut into chunks: per grid block of
  /// `chunkTokens` positions (the last one ending at `count`), the block's
  /// range and its pieces, which are the block whole unless `parent` (the
  /// chunk ends of a stored prefix it extends) cuts it inside.
  static func plan(count: Int, parent: [Int], chunkTokens: Int) -> [(block: Range<Int>, pieces: [Range<Int>])] {
    let n = max(1, chunkTokens)
    var result: [(block: Range<Int>, pieces: [Range<Int>])] = []
    var parentCuts = parent.filter { $0 > 0 && $0 < count }.sorted()[...]
    var start = 0
    while start < count {
      let end = min(count, start + n)
      while let cut = parentCuts.first, cut <= start { parentCuts.removeFirst() }
      var pieces: [Range<Int>] = []
      var at = start
      while let cut = parentCuts.first, cut < end {
        pieces.append(at..<cut)
        at = cut
        parentCuts.removeFirst()
      }
      pieces.append(at..<end)
      result.append((start..<end, pieces))
      start = end
    }
    return result
  }
}

extension Data {
  mutating func manifestAppend32(_ value: Int) { kvAppendLE32(value) }

  mutating func manifestAppend64(_ value: Int) {
    let v = UInt64(value)
    for i in 0..<8 { append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) }
  }
}
