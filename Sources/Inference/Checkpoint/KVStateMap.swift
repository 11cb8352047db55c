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
  /// or nil when the state is not in a layout `KVStateLayout` knows (then it
  /// is stored whole, as format 2).
  ///
  /// - Parameter read: Bytes at (offset, count) of the state; may return fewer at the end.
  package static func parse(size: Int, tokens: Int, read: (Int, Int) -> [UInt8]) -> KVStateMap? {
    guard tokens > 0, let layout = KVStateLayout.parse(size: size, read: read) else { return nil }
    var pieces: [Piece] = []
    var metaSeq: UInt32?
    // Whether the stream being read is cut by position.
    var chunked = false
    for item in layout.items {
      switch item {
      case .header(let length):
        pieces.append(.own(KVCodec.Segment(kind: .raw, rowBytes: 0, length: length)))
      case .cells(let cache, let count, let length, let seq):
        chunked = cache == 0 && count == tokens && seq != nil && (metaSeq == nil || metaSeq == seq)
        if chunked {
          metaSeq = seq
          pieces.append(.meta)
        } else {
          pieces.append(.own(KVCodec.Segment(kind: .raw, rowBytes: 0, length: length)))
        }
      case .rows(let type, let rowBytes, let cells):
        let t = KVStateLayout.transform(type: type, rowBytes: rowBytes)
        pieces.append(
          chunked
            ? .cells(unit: rowBytes, kind: t.kind, rowBytes: t.rowBytes)
            : .own(KVCodec.Segment(kind: t.kind, rowBytes: t.rowBytes, length: rowBytes * cells)))
      case .transposed(let type, let element, let channels, let cells):
        // Per channel, the element of every cell: a chunk takes each channel's slice.
        let t = KVStateLayout.transform(type: type, rowBytes: element)
        if chunked {
          pieces += Array(repeating: .cells(unit: element, kind: t.kind, rowBytes: t.rowBytes), count: channels)
        } else {
          pieces.append(.own(KVCodec.Segment(kind: t.kind, rowBytes: t.rowBytes, length: item.length)))
        }
      }
    }
    return KVStateMap(cells: tokens, metaSeq: metaSeq ?? 0, pieces: pieces)
  }
}
