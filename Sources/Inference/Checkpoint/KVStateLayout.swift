import Foundation

/// What a llama.cpp sequence state holds, in order: the one reading of its format that
/// both the codec (`KVCodec.layout`: how to transform each stretch) and prefix-delta
/// checkpoints (`KVStateMap`: which stretches to cut by position) build on.
///
/// Follows `llama_context::state_seq_get_data` and `llama_kv_cache::state_write`
/// (llama.cpp 11434): the io magic and sequence id, then for each KV cache (two for
/// interleaved-SWA models such as Gemma 3: the full-attention one, then the
/// sliding-window one), n_stream, then per stream the cell count, each cell's metadata
/// (position, n_seq_id, the sequence ids; no cell extension: models with M-RoPE or PLE
/// add one and do not parse), then per layer a K header and the K rows of every cell,
/// then the V rows (or, with a transposed V, per channel the element of every cell).
struct KVStateLayout {
  /// One stretch of the state.
  enum Item: Equatable {
    /// Bytes that are no cell data: the io prefix, counts, tensor headers.
    case header(length: Int)
    /// A stream's cell metadata, starting the stream's data. `prefixSeq`: the sequence id
    /// when the cells hold positions `0..<count` in order, one sequence each (else nil).
    case cells(cache: Int, count: Int, length: Int, prefixSeq: UInt32?)
    /// One tensor's rows, `rowBytes` for each of `cells` cells, of ggml `type`.
    case rows(type: Int, rowBytes: Int, cells: Int)
    /// A transposed V tensor: per channel, `element` bytes for each of `cells` cells.
    case transposed(type: Int, element: Int, channels: Int, cells: Int)

    /// Bytes the item covers.
    var length: Int {
      switch self {
      case .header(let n): n
      case .cells(_, _, let n, _): n
      case .rows(_, let rowBytes, let cells): rowBytes * cells
      case .transposed(_, let element, let channels, let cells): element * channels * cells
      }
    }
  }

  var items: [Item]

  /// The layout of a state of `size` bytes, or nil when it is not one this parser knows.
  ///
  /// - Parameter read: Bytes at (offset, count) of the state; may return fewer at the end.
  static func parse(size: Int, read: (Int, Int) -> [UInt8]) -> KVStateLayout? {
    withoutActuallyEscaping(read) { read in
      var parser = Parser(size: size, read: read)
      return parser.parse().map(KVStateLayout.init(items:))
    }
  }

  /// Bytes per element group of a ggml type as (block elements, block bytes), for the types seen in KV caches.
  static func typeSize(_ type: Int) -> (elements: Int, bytes: Int)? {
    switch type {
    case 0: (1, 4)  // f32
    case 1: (1, 2)  // f16
    case 2: (32, 18)  // q4_0
    case 3: (32, 20)  // q4_1
    case 6: (32, 22)  // q5_0
    case 7: (32, 24)  // q5_1
    case 8: (32, 34)  // q8_0
    case 20: (32, 18)  // iq4_nl
    case 30: (1, 2)  // bf16
    default: nil
    }
  }

  /// How the codec transforms rows of ggml `type`, `rowBytes` each: (kind, row bytes).
  static func transform(type: Int, rowBytes: Int) -> (kind: KVCodec.Kind, rowBytes: Int) {
    switch type {
    case 1, 30: (.half, rowBytes)
    case 8: (.q8_0, rowBytes)
    default: (.raw, 0)
    }
  }

  private struct Parser {
    let size: Int
    let read: (Int, Int) -> [UInt8]
    var at = 0
    var items: [Item] = []
    /// Where the pending header bytes begin.
    var mark = 0

    init(size: Int, read: @escaping (Int, Int) -> [UInt8]) {
      self.size = size
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

    /// Ends the pending header bytes (if any) and appends `item` after them.
    mutating func append(_ item: Item?, from start: Int) {
      if start > mark { items.append(.header(length: start - mark)) }
      if let item { items.append(item) }
      mark = at
    }

    mutating func parse() -> [Item]? {
      // `llama_context::state_seq_get_data` first writes its io magic and the sequence id.
      if !(u32() == 0xAF14_3CD8 && u32() != nil) { at = 0 }
      var caches = 0
      while at < size {
        guard cache(caches) else { return nil }
        caches += 1
      }
      guard at == size else { return nil }
      append(nil, from: at)
      return items
    }

    /// Reads `count` cells' metadata; the sequence id when they are positions 0..<count, one sequence each.
    mutating func metadata(count: Int) -> (ok: Bool, prefixSeq: UInt32?) {
      // One sequence per cell (the usual case): 12 bytes each, read in one go.
      let bytes = read(at, 12 * count)
      if bytes.count == 12 * count {
        func word(_ k: Int, _ i: Int) -> UInt32 {
          let o = 12 * k + 4 * i
          return UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24
        }
        let seq = word(0, 2)
        if (0..<count).allSatisfy({ word($0, 0) == UInt32($0) && word($0, 1) == 1 && word($0, 2) == seq }) {
          at += 12 * count
          return (true, seq)
        }
      }
      for _ in 0..<count {
        guard u32() != nil, let n = u32(), n <= 256 else { return (false, nil) }
        at += 4 * n
        guard at <= size else { return (false, nil) }
      }
      return (true, nil)
    }

    /// One KV cache's state.
    mutating func cache(_ index: Int) -> Bool {
      guard let streams = u32(), streams >= 1, streams <= 256 else { return false }
      for _ in 0..<streams {
        guard let cells = u32(), cells <= 1 << 30 else { return false }
        if cells == 0 { continue }
        let metaStart = at
        let (ok, prefixSeq) = metadata(count: cells)
        guard ok else { return false }
        append(.cells(cache: index, count: cells, length: at - metaStart, prefixSeq: prefixSeq), from: metaStart)
        guard let vTrans = u32(), vTrans <= 1, let layers = u32(), layers >= 1, layers <= 4096,
          u32() != nil, u32() != nil
        else { return false }
        for _ in 0..<layers {
          guard let type = u32(), let row = u64() else { return false }
          guard rows(type: type, rowBytes: row, cells: cells) else { return false }
        }
        // V of every layer (a layer without V is not supported: such a state does not parse).
        for _ in 0..<layers {
          guard let type = u32() else { return false }
          if vTrans == 0 {
            guard let row = u64(), rows(type: type, rowBytes: row, cells: cells) else { return false }
          } else {
            guard let element = u32(), let channels = u32(), channels >= 1, channels <= 1 << 16,
              let t = KVStateLayout.typeSize(type), t.elements == 1, t.bytes == element
            else { return false }
            let item = Item.transposed(type: type, element: element, channels: channels, cells: cells)
            guard at + item.length <= size else { return false }
            let start = at
            at += item.length
            append(item, from: start)
          }
        }
      }
      return true
    }

    /// One tensor's rows.
    mutating func rows(type: Int, rowBytes: Int, cells: Int) -> Bool {
      guard let t = KVStateLayout.typeSize(type), rowBytes > 0, rowBytes % t.bytes == 0 else { return false }
      let item = Item.rows(type: type, rowBytes: rowBytes, cells: cells)
      guard at + item.length <= size else { return false }
      let start = at
      at += item.length
      append(item, from: start)
      return true
    }
  }
}
