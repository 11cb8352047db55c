import Dispatch
import Foundation
import Storage

/// The tensor-aware, lossless codec of version-2 KV checkpoints.
///
/// llama.cpp's sequence state (`llama_context::state_seq_get_data`, then
/// `llama_kv_cache::state_write` per cache) is a few small headers and, per
/// layer, the K and V rows of every cell. f16 activations look like noise to
/// zstd byte by byte, but the high byte of each value (sign, exponent, top of
/// the mantissa) is not. So each f16/bf16 tensor piece is split into a high
/// byte plane, transposed so that one channel of consecutive cells is
/// adjacent, and a low byte plane; q8_0 blocks are split into their f16
/// scales (two byte planes) and int8 quants. A frame's transformed bytes are
/// grouped by stream (raw, f16 high, f16 low, q8_0 scale high, scale low,
/// quants) so that no zstd block mixes kinds, then go through one zstd frame.
/// Anything the parser does not recognise is stored as plain bytes (then
/// zstd); the layout only steers the transform, so a wrong guess costs
/// ratio, never correctness.
///
/// The payload is a sequence of frames of at most `frameBytes` raw bytes,
/// each independently decodable and checked:
///
///     magic "LCKF" | raw length u32 | coded length u32 | piece count u32
///     raw SHA-256 (32 bytes)
///     pieces × (kind u32, row bytes u32, length u32)
///     one zstd frame (with its content checksum) of the transformed bytes,
///     streams in order, each stream's portions in piece order
///
/// The header's raw SHA-256 of a version-2 file is the SHA-256 of the frames'
/// SHA-256s in order, so frames can be verified on all cores and a dropped,
/// repeated or reordered frame is caught.
package enum KVCodec {
  /// Raw bytes per frame: bounds the memory of save and restore (about three
  /// times this per core in flight), and small enough that a state of tens of
  /// MB is decoded on all cores; larger frames measured no better ratio.
  package static let frameBytes = 4 << 20
  static let frameMagic: [UInt8] = Array("LCKF".utf8)
  static let frameFixed = 16 + 32
  static let pieceBytes = 12

  /// How one stretch of the state is transformed.
  package enum Kind: UInt32, Sendable {
    /// Bytes as they are.
    case raw = 0
    /// Rows of 16-bit floats (f16 or bf16): two byte planes, by channel.
    case half = 1
    /// Rows of q8_0 blocks (f16 scale + 32 int8): scales and quants apart.
    case q8_0 = 2
  }

  /// A stretch of the raw state with one transform.
  package struct Segment: Sendable, Equatable {
    package var kind: Kind
    /// Bytes per row (cell) for `.half` and `.q8_0`; 0 for `.raw`.
    package var rowBytes: Int
    package var length: Int

    package init(kind: Kind, rowBytes: Int, length: Int) {
      self.kind = kind
      self.rowBytes = rowBytes
      self.length = length
    }
  }

  // MARK: - Layout

  /// The layout of a llama.cpp sequence state, or one raw segment when the
  /// bytes are not a layout this parser knows.
  ///
  /// - Parameter read: Bytes at (offset, count) of the state; may return
  ///   fewer at the end.
  package static func layout(size: Int, read: (Int, Int) -> [UInt8]) -> [Segment] {
    guard let parsed = KVStateLayout.parse(size: size, read: read) else {
      return size > 0 ? [Segment(kind: .raw, rowBytes: 0, length: size)] : []
    }
    return merged(
      parsed.items.map { item in
        switch item {
        case .header, .cells:
          return Segment(kind: .raw, rowBytes: 0, length: item.length)
        case .rows(let type, let rowBytes, _):
          let t = KVStateLayout.transform(type: type, rowBytes: rowBytes)
          return Segment(kind: t.kind, rowBytes: t.rowBytes, length: item.length)
        case .transposed(_, let element, _, _):
          // Channel-major already: one "row" per element, so only the byte planes split.
          return element == 2
            ? Segment(kind: .half, rowBytes: 2, length: item.length)
            : Segment(kind: .raw, rowBytes: 0, length: item.length)
        }
      })
  }

  /// The layout of an in-memory state.
  package static func layout(of state: Data) -> [Segment] {
    state.withUnsafeBytes { buffer in
      layout(size: buffer.count) { offset, count in
        let end = min(buffer.count, offset + count)
        return offset < end ? Array(buffer[offset..<end]) : []
      }
    }
  }

  static func merged(_ segments: [Segment]) -> [Segment] {
    var out: [Segment] = []
    for s in segments where s.length > 0 {
      if let last = out.last, last.kind == .raw, s.kind == .raw {
        out[out.count - 1].length += s.length
      } else {
        out.append(s)
      }
    }
    return out
  }

  /// Cuts a layout into frames of at most `frameBytes` (a row is never
  /// split; a row larger than a frame becomes its own frame).
  package static func frames(_ layout: [Segment], frameBytes: Int = frameBytes) -> [[Segment]] {
    var frames: [[Segment]] = []
    var current: [Segment] = []
    var used = 0
    func flush() {
      if !current.isEmpty { frames.append(current) }
      current = []
      used = 0
    }
    for segment in layout {
      var left = segment.length
      while left > 0 {
        let room = frameBytes - used
        var take: Int
        if segment.kind == .raw {
          take = min(left, room)
        } else {
          take = min(left, room / segment.rowBytes * segment.rowBytes)
          if take == 0 {
            if used > 0 {
              flush()
              continue
            }
            take = segment.rowBytes
          }
        }
        current.append(Segment(kind: segment.kind, rowBytes: segment.rowBytes, length: take))
        used += take
        left -= take
        if used >= frameBytes { flush() }
      }
    }
    flush()
    return frames
  }

  // MARK: - Transform

  /// The streams a frame's transformed bytes are grouped into, so that each
  /// zstd block sees bytes of one kind: raw bytes; f16 high bytes (by
  /// channel) and low bytes; q8_0 scale high and low bytes, and quants.
  static let streamCount = 6

  /// The (stream, length) portions a piece is split into.
  static func portions(_ piece: Segment) -> [(stream: Int, length: Int)] {
    switch piece.kind {
    case .raw: return [(0, piece.length)]
    case .half: return [(1, piece.length / 2), (2, piece.length / 2)]
    case .q8_0:
      let scales = piece.length / 34
      return [(3, scales), (4, scales), (5, 32 * scales)]
    }
  }

  /// Where each portion of each piece goes in the transformed frame: streams
  /// in order, pieces in order within a stream.
  static func portionOffsets(_ pieces: [Segment]) -> [[Int]] {
    var totals = [Int](repeating: 0, count: streamCount)
    for piece in pieces { for p in portions(piece) { totals[p.stream] += p.length } }
    var cursor = [Int](repeating: 0, count: streamCount)
    for i in 1..<streamCount { cursor[i] = cursor[i - 1] + totals[i - 1] }
    return pieces.map { piece in
      portions(piece).map { p in
        defer { cursor[p.stream] += p.length }
        return cursor[p.stream]
      }
    }
  }

  /// Moves one piece from `src` into its portions at `dst` + `offsets`.
  static func forward(
    _ piece: Segment, _ src: UnsafeRawBufferPointer, _ dst: UnsafeMutableRawPointer, _ offsets: [Int]
  ) {
    let n = piece.length
    let s = src.baseAddress!.assumingMemoryBound(to: UInt8.self)
    switch piece.kind {
    case .raw:
      (dst + offsets[0]).copyMemory(from: s, byteCount: n)
    case .half:
      // The high bytes (sign, exponent, top of the mantissa) by channel, so
      // that one channel of consecutive cells is adjacent; the low bytes
      // (close to noise) in their order.
      let w = piece.rowBytes / 2
      let rows = n / piece.rowBytes
      let high = (dst + offsets[0]).assumingMemoryBound(to: UInt8.self)
      let low = (dst + offsets[1]).assumingMemoryBound(to: UInt8.self)
      // In blocks of 64 rows, so that both sides stay in cache.
      var r0 = 0
      while r0 < rows {
        let r1 = min(rows, r0 + 64)
        for c in 0..<w {
          let column = high + c * rows
          for r in r0..<r1 { column[r] = s[r * piece.rowBytes + 2 * c + 1] }
        }
        r0 = r1
      }
      for i in 0..<(n / 2) { low[i] = s[2 * i] }
    case .q8_0:
      // Scales as two byte planes, quants apart (both in cell order, which
      // measured better than by channel on real q8_0 states).
      let blocks = n / 34
      let high = (dst + offsets[0]).assumingMemoryBound(to: UInt8.self)
      let low = (dst + offsets[1]).assumingMemoryBound(to: UInt8.self)
      let quants = (dst + offsets[2]).assumingMemoryBound(to: UInt8.self)
      for b in 0..<blocks {
        let block = s + b * 34
        low[b] = block[0]
        high[b] = block[1]
        copy32(from: block + 2, to: quants + 32 * b)
      }
    }
  }

  /// The inverse of `forward`.
  static func inverse(
    _ piece: Segment, _ src: UnsafeRawPointer, _ offsets: [Int], _ dst: UnsafeMutableRawBufferPointer
  ) {
    let n = piece.length
    let d = dst.baseAddress!.assumingMemoryBound(to: UInt8.self)
    switch piece.kind {
    case .raw:
      UnsafeMutableRawPointer(d).copyMemory(from: src + offsets[0], byteCount: n)
    case .half:
      let w = piece.rowBytes / 2
      let rows = n / piece.rowBytes
      let high = (src + offsets[0]).assumingMemoryBound(to: UInt8.self)
      let low = (src + offsets[1]).assumingMemoryBound(to: UInt8.self)
      var r0 = 0
      while r0 < rows {
        let r1 = min(rows, r0 + 64)
        for c in 0..<w {
          let column = high + c * rows
          for r in r0..<r1 { d[r * piece.rowBytes + 2 * c + 1] = column[r] }
        }
        r0 = r1
      }
      for i in 0..<(n / 2) { d[2 * i] = low[i] }
    case .q8_0:
      let blocks = n / 34
      let high = (src + offsets[0]).assumingMemoryBound(to: UInt8.self)
      let low = (src + offsets[1]).assumingMemoryBound(to: UInt8.self)
      let quants = (src + offsets[2]).assumingMemoryBound(to: UInt8.self)
      for b in 0..<blocks {
        let block = d + b * 34
        block[0] = low[b]
        block[1] = high[b]
        copy32(from: quants + 32 * b, to: block + 2)
      }
    }
  }

  /// A q8_0 block's 32 quants as four unaligned 8-byte words: inlined, where
  /// a 32-byte `update(from:count:)` per block was a `memmove` call each
  /// (a q8_0 state is 94 % quants, so this loop is most of the inverse).
  @inline(__always)
  static func copy32(from src: UnsafePointer<UInt8>, to dst: UnsafeMutablePointer<UInt8>) {
    let s = UnsafeRawPointer(src)
    let d = UnsafeMutableRawPointer(dst)
    for k in 0..<4 {
      d.storeBytes(of: s.loadUnaligned(fromByteOffset: 8 * k, as: UInt64.self), toByteOffset: 8 * k, as: UInt64.self)
    }
  }

  static func valid(_ piece: Segment) -> Bool {
    guard piece.length >= 0 else { return false }
    switch piece.kind {
    case .raw: return piece.rowBytes == 0
    case .half: return piece.rowBytes >= 2 && piece.rowBytes % 2 == 0 && piece.length % piece.rowBytes == 0
    case .q8_0: return piece.rowBytes >= 34 && piece.rowBytes % 34 == 0 && piece.length % piece.rowBytes == 0
    }
  }

  // MARK: - Frames

  /// Encodes one frame: its header and compressed body.
  package static func encodeFrame(_ raw: UnsafeRawBufferPointer, pieces: [Segment], level: Int32) throws -> (
    bytes: Data, sha256: Data
  ) {
    precondition(pieces.reduce(0) { $0 + $1.length } == raw.count)
    let unowned = Data(
      bytesNoCopy: UnsafeMutableRawPointer(mutating: raw.baseAddress!), count: raw.count, deallocator: .none)
    let sha = Data(hexString: Hashing.sha256(unowned))
    var transformed = Data(count: raw.count)
    let offsets = portionOffsets(pieces)
    transformed.withUnsafeMutableBytes { dst in
      var at = 0
      for (i, piece) in pieces.enumerated() {
        forward(piece, UnsafeRawBufferPointer(rebasing: raw[at..<(at + piece.length)]), dst.baseAddress!, offsets[i])
        at += piece.length
      }
    }
    let coded = try Zstd.compress(transformed, level: level)
    transformed = Data()
    var out = Data(capacity: frameFixed + pieces.count * pieceBytes + coded.count)
    out.append(contentsOf: frameMagic)
    out.kvAppendLE32(raw.count)
    out.kvAppendLE32(coded.count)
    out.kvAppendLE32(pieces.count)
    out.append(sha)
    for piece in pieces {
      out.kvAppendLE32(Int(piece.kind.rawValue))
      out.kvAppendLE32(piece.rowBytes)
      out.kvAppendLE32(piece.length)
    }
    out.append(coded)
    return (out, sha)
  }

  /// A frame's header as read from disk.
  package struct FrameHeader: Sendable {
    package var rawLength: Int
    package var codedLength: Int
    package var sha256: Data
    package var pieces: [Segment]
    /// Header bytes (fixed part and pieces).
    package var headerLength: Int { frameFixed + pieces.count * pieceBytes }
  }

  /// Parses a frame header from the start of `bytes` (which holds at least
  /// `frameFixed` bytes, and then the pieces when `pieces` is true).
  static func frameHeader(_ bytes: Data) throws(CheckpointCorruption) -> (header: FrameHeader, pieceCount: Int) {
    let b = Data(bytes)
    guard b.count >= frameFixed else { throw .truncated }
    guard Array(b.prefix(4)) == frameMagic else { throw .payload("bad frame magic") }
    let raw = b.kvReadLE32(at: 4)
    let coded = b.kvReadLE32(at: 8)
    let count = b.kvReadLE32(at: 12)
    guard raw <= 1 << 31, coded <= 1 << 31, count <= 1 << 20 else { throw .payload("bad frame header") }
    var header = FrameHeader(rawLength: raw, codedLength: coded, sha256: b[16..<48], pieces: [])
    if b.count >= frameFixed + count * pieceBytes {
      var total = 0
      for i in 0..<count {
        let at = frameFixed + i * pieceBytes
        guard let kind = Kind(rawValue: UInt32(b.kvReadLE32(at: at))) else { throw .payload("unknown piece kind") }
        let piece = Segment(kind: kind, rowBytes: b.kvReadLE32(at: at + 4), length: b.kvReadLE32(at: at + 8))
        guard valid(piece) else { throw .payload("bad piece") }
        total += piece.length
        header.pieces.append(piece)
      }
      guard total == raw else { throw .payload("pieces do not cover the frame") }
    }
    return (header, count)
  }

  /// Decodes a frame's body into `dst` (`rawLength` bytes) and checks its SHA-256.
  ///
  /// The transformed bytes are decompressed into a buffer of `scratch`, reused
  /// frame after frame (a fresh one per frame cost a state's worth of page faults).
  static func decodeFrame(
    _ header: FrameHeader, coded: Data, into dst: UnsafeMutableRawBufferPointer, scratch: KVScratch
  ) throws(CheckpointCorruption) {
    let buffer = scratch.take(header.rawLength)
    defer { scratch.give(buffer) }
    let transformed = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<header.rawLength])
    do {
      try Zstd.decompress(coded, into: transformed)
    } catch {
      throw .payload(error.userDescription)
    }
    let offsets = portionOffsets(header.pieces)
    var at = 0
    for (i, piece) in header.pieces.enumerated() {
      let out = UnsafeMutableRawBufferPointer(rebasing: dst[at..<(at + piece.length)])
      inverse(piece, UnsafeRawPointer(transformed.baseAddress!), offsets[i], out)
      at += piece.length
    }
    let written = Data(bytesNoCopy: dst.baseAddress!, count: dst.count, deallocator: .none)
    guard Data(hexString: Hashing.sha256(written)) == header.sha256 else {
      throw .stateChecksum
    }
  }

  /// The header hash of a version-2 file from its frames' hashes.
  static func treeHash(_ frameHashes: [Data]) -> Data {
    var all = Data(capacity: frameHashes.count * 32)
    for h in frameHashes { all.append(h) }
    return Data(hexString: Hashing.sha256(all))
  }

  /// Workers for encoding and decoding.
  static var parallelism: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

  // MARK: - Whole payloads

  /// Decodes the frames of an in-memory version-2 payload into the raw state,
  /// frames on all cores.
  static func decodePayload(_ payload: Data, rawSize: Int, treeHash expected: Data) throws(CheckpointCorruption)
    -> Data
  {
    // Offsets below are from the payload's start; `base` maps them to its indices (no copy).
    let base = payload.startIndex
    var frames: [(header: FrameHeader, body: Range<Int>, out: Int)] = []
    var at = 0
    var out = 0
    while out < rawSize {
      guard at + frameFixed <= payload.count else { throw .truncated }
      let count = payload.kvReadLE32(at: at + 12)
      let end = at + frameFixed + min(count, 1 << 20) * pieceBytes
      guard end <= payload.count else { throw .truncated }
      let (header, _) = try frameHeader(payload[(base + at)..<(base + end)])
      let bodyEnd = end + header.codedLength
      guard bodyEnd <= payload.count else { throw .truncated }
      guard header.rawLength > 0, out + header.rawLength <= rawSize else { throw .payload("frame sizes do not add up") }
      frames.append((header, (base + end)..<(base + bodyEnd), out))
      out += header.rawLength
      at = bodyEnd
    }
    guard at == payload.count else { throw .payload("bytes after the last frame") }
    guard treeHash(frames.map(\.header.sha256)) == expected else { throw .stateChecksum }
    var state = Data(count: rawSize)
    let index = frames
    let failure = KVFirstError()
    let scratch = KVScratch()
    state.withUnsafeMutableBytes { dst in
      let base = KVSendableBuffer(dst)
      DispatchQueue.concurrentPerform(iterations: frames.count) { i in
        let f = index[i]
        do {
          try decodeFrame(
            f.header, coded: payload[f.body],
            into: UnsafeMutableRawBufferPointer(rebasing: base.buffer[f.out..<(f.out + f.header.rawLength)]),
            scratch: scratch)
        } catch let error as CheckpointCorruption {
          failure.set(error)
        } catch {
          failure.set(.payload("\(error)"))
        }
      }
    }
    if let error = failure.error { throw error }
    return state
  }
}

// MARK: - Helpers

/// The first error thrown by any worker.
final class KVFirstError: @unchecked Sendable {
  private let lock = NSLock()
  private var stored: CheckpointCorruption?
  var error: CheckpointCorruption? { lock.withLock { stored } }
  func set(_ error: CheckpointCorruption) { lock.withLock { if stored == nil { stored = error } } }
}

/// Buffers for decoded frames, reused by the workers of one decode; freed with it.
final class KVScratch: @unchecked Sendable {
  private let lock = NSLock()
  private var free: [UnsafeMutableRawBufferPointer] = []

  /// A buffer of at least `size` bytes (its contents undefined).
  func take(_ size: Int) -> UnsafeMutableRawBufferPointer {
    let found: UnsafeMutableRawBufferPointer? = lock.withLock {
      guard let i = free.firstIndex(where: { $0.count >= size }) else { return nil }
      return free.remove(at: i)
    }
    return found ?? .allocate(byteCount: max(size, 1), alignment: 16)
  }

  func give(_ buffer: UnsafeMutableRawBufferPointer) { lock.withLock { free.append(buffer) } }

  deinit { for b in free { b.deallocate() } }
}

/// A buffer the workers of `concurrentPerform` write disjoint parts of.
struct KVSendableBuffer: @unchecked Sendable {
  let buffer: UnsafeMutableRawBufferPointer
  init(_ buffer: UnsafeMutableRawBufferPointer) { self.buffer = buffer }
}

extension Data {
  mutating func kvAppendLE32(_ value: Int) {
    let v = UInt32(truncatingIfNeeded: value)
    for i in 0..<4 { append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) }
  }

  func kvReadLE32(at offset: Int) -> Int {
    var v = 0
    for i in 0..<4 { v |= Int(self[startIndex + offset + i]) << (8 * i) }
    return v
  }
}
