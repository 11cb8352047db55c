import Foundation

/// Where each byte of a llama.cpp sequence state lives, cell by cell, so that
/// a prefix-delta checkpoint (format 3) can store the cells of positions
/// `[start, end)` apart from the rest.
///
/// `llama_kv_cache::state_write` (llama.cpp 11434) writes, per KV cache and
/// stream, the cell count, each cell's metadata (position, `n_seq_id` = 1,
/// the sequence id), then per layer a K header and the K rows of every cell,
/// then the V rows (or, with a transposed V, per channel the element of every
/// cell). A stream of the first cache whose cells hold exactly positions
/// `0..<cells` in order (the full-attention cache) is *chunked*: its metadata
/// is regenerated and its rows are cut by position. Any other stream and
/// every header byte are *own* bytes, stored whole with each checkpoint.
///
/// Only the first cache is cut: `llama_kv_cache_iswa::state_write` writes
/// the full-attention cache first, then the sliding-window one, whose state
/// holds only the last window. A prefix shorter than the window has all its
/// positions in the sliding-window cache too, but a longer prefix has not:
/// cutting it there would give the same positions' chunks other bytes in a
/// short prefix than in the longer ones that extend it, and none would be shared.
package struct KVStateMap: Sendable, Equatable {
  /// One stretch of the state, in order.
  package enum Piece: Sendable, Equatable {
    /// Bytes stored with the checkpoint itself, transformed as the segment says.
    case own(KVCodec.Segment)
    /// The metadata of a chunked stream: 12 bytes per cell (position, 1, `metaSeq`).
    case meta
    /// Per-cell data of a chunked stream: `unit` bytes per cell, transformed as `kind`/`rowBytes`.
    case cells(unit: Int, kind: KVCodec.Kind, rowBytes: Int)
  }

  /// Cells (= prefix tokens) of every chunked stream.
  package var cells: Int
  /// The sequence id written in the chunked streams' metadata (llama.cpp ignores it on restore).
  package var metaSeq: UInt32
  package var pieces: [Piece]

  package init(cells: Int, metaSeq: UInt32, pieces: [Piece]) {
    self.cells = cells
    self.metaSeq = metaSeq
    self.pieces = pieces
  }

  /// Bytes of the whole state.
  package var rawSize: Int { pieces.reduce(0) { $0 + length(of: $1) } }

  /// Bytes the checkpoint stores itself.
  package var ownSize: Int {
    pieces.reduce(0) { total, p in if case .own(let s) = p { total + s.length } else { total } }
  }

  /// Bytes of one cell across all chunked pieces (metadata excluded: it is regenerated).
  package var cellBytes: Int {
    pieces.reduce(0) { total, p in if case .cells(let unit, _, _) = p { total + unit } else { total } }
  }

  /// Whether any stream is chunked (else a delta checkpoint saves nothing).
  package var isChunked: Bool { cellBytes > 0 }

  func length(of piece: Piece) -> Int {
    switch piece {
    case .own(let s): s.length
    case .meta: 12 * cells
    case .cells(let unit, _, _): unit * cells
    }
  }

  /// The state offset where each piece starts.
  package var offsets: [Int] {
    var at = 0
    return pieces.map { p in
      defer { at += length(of: p) }
      return at
    }
  }

  /// The codec layout of the own bytes, in order.
  package var ownLayout: [KVCodec.Segment] {
    KVCodec.merged(pieces.compactMap { if case .own(let s) = $0 { s } else { nil } })
  }

  /// The codec layout of a chunk of `count` cells: each chunked piece's slice, in piece order.
  package func chunkLayout(cells count: Int) -> [KVCodec.Segment] {
    KVCodec.merged(
      pieces.compactMap { p -> KVCodec.Segment? in
        guard case .cells(let unit, let kind, let rowBytes) = p else { return nil }
        return KVCodec.Segment(kind: kind, rowBytes: rowBytes, length: unit * count)
      })
  }

  /// The chunk signature: chunked pieces' units and kinds (two states whose
  /// chunks are interchangeable have the same one).
  package var chunkSignature: [Int] {
    pieces.flatMap { p -> [Int] in
      guard case .cells(let unit, let kind, let rowBytes) = p else { return [] }
      return [unit, Int(kind.rawValue), rowBytes]
    }
  }

  /// The metadata bytes of cells `range` of a chunked stream.
  package func metaBytes(_ range: Range<Int>) -> Data {
    var data = Data(capacity: 12 * range.count)
    for pos in range {
      for w in [UInt32(pos), 1, metaSeq] {
        for i in 0..<4 { data.append(UInt8(truncatingIfNeeded: w >> (8 * UInt32(i)))) }
      }
    }
    return data
  }

  // MARK: - Parsing

  /// The map of a state of `size` bytes whose prefix holds `tokens` cells,
  /// or nil when the state is not in a layout this parser knows (then it is
  /// stored whole, as format 2).
  ///
  /// - Parameter read: Bytes at (offset, count) of the state; may return fewer at the end.
  package static func parse(size: Int, tokens: Int, read: (Int, Int) -> [UInt8]) -> KVStateMap? {
    guard tokens > 0 else { return nil }
    return withoutActuallyEscaping(read) { read in
      var parser = MapParser(size: size, tokens: tokens, read: read)
      return parser.parse()
    }
  }
}

/// Follows the same format as `KVCodec`'s layout parser, and checks each
/// stream's cell positions.
private struct MapParser {
  let size: Int
  let tokens: Int
  let read: (Int, Int) -> [UInt8]
  var at = 0
  var pieces: [KVStateMap.Piece] = []
  var metaSeq: UInt32?
  /// Caches read so far (only the first one's streams are chunked).
  var caches = 0

  init(size: Int, tokens: Int, read: @escaping (Int, Int) -> [UInt8]) {
    self.size = size
    self.tokens = tokens
    self.read = read
  }

  mutating func u32() -> Int? {
    let b = read(at, 4)
    guard b.count == 4 else { return nil }
    at += 4
    return Int(b[0]) | Int(b[1]) << 8 | Int(b[2]) << 16 | Int(b[3]) << 24
  }

  mutating func u64() -> Int? {
    guard let lo = u32(), let hi = u32(), hi < 1 << 20 else { return nil }
    return lo | hi << 32
  }

  mutating func own(from start: Int) {
    guard at > start else { return }
    pieces.append(.own(KVCodec.Segment(kind: .raw, rowBytes: 0, length: at - start)))
  }

  static func kind(_ type: Int) -> (kind: KVCodec.Kind, block: Int)? {
    switch type {
    case 1, 30: (.half, 2)
    case 8: (.q8_0, 34)
    case 0: (.raw, 4)
    default: nil
    }
  }

  mutating func parse() -> KVStateMap? {
    if u32() == 0xAF14_3CD8, u32() != nil {
      own(from: 0)
    } else {
      at = 0
    }
    while at < size {
      guard cache() else { return nil }
    }
    guard at == size else { return nil }
    return KVStateMap(cells: tokens, metaSeq: metaSeq ?? 0, pieces: pieces)
  }

  /// Reads the cells' metadata; true when they are positions 0..<tokens, one sequence each, no extension.
  mutating func metaIsPrefix(cells: Int) -> Bool? {
    guard cells == tokens else { return false }
    // Read the metadata in one go (12 bytes per cell when it is a prefix).
    let bytes = read(at, 12 * cells)
    guard bytes.count == 12 * cells else { return false }
    var seq: UInt32?
    for k in 0..<cells {
      func word(_ i: Int) -> UInt32 {
        let o = 12 * k + 4 * i
        return UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24
      }
      guard word(0) == UInt32(k), word(1) == 1 else { return false }
      if seq == nil { seq = word(2) }
      guard word(2) == seq else { return false }
    }
    if let seq, let metaSeq, metaSeq != seq { return false }
    metaSeq = seq
    return true
  }

  mutating func cache() -> Bool {
    let start = at
    guard let streams = u32(), streams >= 1, streams <= 256 else { return false }
    own(from: start)
    let first = caches == 0
    caches += 1
    for _ in 0..<streams {
      let s = at
      guard let cells = u32(), cells <= 1 << 30 else { return false }
      if cells == 0 {
        own(from: s)
        continue
      }
      own(from: s)
      let metaStart = at
      let chunked = first && metaIsPrefix(cells: cells) == true
      if chunked {
        at = metaStart + 12 * cells
        pieces.append(.meta)
      } else {
        for _ in 0..<cells {
          guard u32() != nil, let n = u32(), n <= 256 else { return false }
          at += 4 * n
          guard at <= size else { return false }
        }
        own(from: metaStart)
      }
      let h = at
      guard let vTrans = u32(), vTrans <= 1, let layers = u32(), layers >= 1, layers <= 4096,
        u32() != nil, u32() != nil
      else { return false }
      own(from: h)
      for _ in 0..<layers {
        let h = at
        guard let type = u32(), let row = u64() else { return false }
        own(from: h)
        guard rows(type: type, unit: row, count: cells, chunked: chunked, rowBytes: row) else { return false }
      }
      for _ in 0..<layers {
        let h = at
        guard let type = u32() else { return false }
        if vTrans == 0 {
          guard let row = u64() else { return false }
          own(from: h)
          guard rows(type: type, unit: row, count: cells, chunked: chunked, rowBytes: row) else { return false }
        } else {
          guard let element = u32(), let channels = u32(), channels >= 1, channels <= 1 << 16,
            let k = Self.kind(type), k.block == element
          else { return false }
          own(from: h)
          for _ in 0..<channels {
            guard rows(type: type, unit: element, count: cells, chunked: chunked, rowBytes: element) else {
              return false
            }
          }
        }
      }
    }
    return true
  }

  /// `count` rows of `unit` bytes of a tensor of ggml `type`.
  mutating func rows(type: Int, unit: Int, count: Int, chunked: Bool, rowBytes: Int) -> Bool {
    guard unit > 0, at + unit * count <= size else { return false }
    var kind = KVCodec.Kind.raw
    var row = 0
    if let k = Self.kind(type), k.kind != .raw, rowBytes % k.block == 0, rowBytes >= k.block {
      kind = k.kind
      row = rowBytes
    }
    if chunked {
      pieces.append(.cells(unit: unit, kind: kind, rowBytes: row))
    } else {
      pieces.append(.own(KVCodec.Segment(kind: kind, rowBytes: row, length: unit * count)))
    }
    at += unit * count
    return true
  }
}
