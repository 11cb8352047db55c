import Foundation
import Inference

/// Peak resident memory of this process so far, in bytes.
func peakRSS() -> Int {
  var usage = rusage()
  getrusage(RUSAGE_SELF.rawValue, &usage)
  return Int(usage.ru_maxrss) * 1024
}

/// Resident memory now, in bytes (from /proc/self/statm).
func currentRSS() -> Int {
  guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
  let fields = text.split(separator: " ")
  return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
}

/// A synthetic llama.cpp sequence state of a Llama-3-8B-like layout (32
/// layers, 8 KV heads × 128 = 1,024 f16 channels per row, so 128 KiB per cell),
/// produced piece by piece: random f16 values with a per-channel scale.
struct SyntheticState {
  static let layers = 32
  static let channels = 1024
  static let rowBytes = channels * 2
  let cells: Int
  let layout: [KVCodec.Segment]
  let size: Int

  init(gigabytes: Double) {
    cells = max(1, Int(gigabytes * 1e9) / (Self.layers * 2 * Self.rowBytes))
    var layout: [KVCodec.Segment] = [.init(kind: .raw, rowBytes: 0, length: 8 + 12 * cells + 16)]
    for _ in 0..<(2 * Self.layers) {
      layout.append(.init(kind: .raw, rowBytes: 0, length: 12))
      layout.append(.init(kind: .half, rowBytes: Self.rowBytes, length: Self.rowBytes * cells))
    }
    self.layout = layout
    size = layout.reduce(0) { $0 + $1.length }
  }

  /// A reader of the state's bytes in order.
  struct Reader {
    let layout: [KVCodec.Segment]
    var segment = 0
    var offsetInSegment = 0
    var rng: UInt64 = 0x9E37_79B9_7F4A_7C15
    let scales: [UInt16] = (0..<SyntheticState.channels).map { UInt16(10 + $0 * 7 % 6) << 10 }  // exponents 10…15

    mutating func fill(_ dst: UnsafeMutableRawBufferPointer) {
      var at = 0
      while at < dst.count {
        let s = layout[segment]
        let n = min(dst.count - at, s.length - offsetInSegment)
        if s.kind == .raw {
          for i in 0..<n { dst[at + i] = UInt8(truncatingIfNeeded: offsetInSegment + i) }
        } else {
          // Segments and reads are row aligned here (frames never split a row).
          precondition(offsetInSegment % 2 == 0 && n % 2 == 0)
          let out = dst.baseAddress!.advanced(by: at).assumingMemoryBound(to: UInt16.self)
          var c = (offsetInSegment / 2) % SyntheticState.channels
          for i in 0..<(n / 2) {
            rng ^= rng << 13
            rng ^= rng >> 7
            rng ^= rng << 17
            // sign, exponent near the channel's, 10 random mantissa bits
            let r = UInt16(truncatingIfNeeded: rng)
            let exponent = scales[c] &- (UInt16(truncatingIfNeeded: rng >> 16) & 0x3 << 10)
            out[i] = (r & 0x8000) | exponent | (r & 0x3FF)
            c += 1
            if c == SyntheticState.channels { c = 0 }
          }
        }
        at += n
        offsetInSegment += n
        if offsetInSegment == s.length {
          segment += 1
          offsetInSegment = 0
        }
      }
    }
  }
}

/// Saves and restores a synthetic state of `gigabytes` through the store's
/// streaming path, checking every restored byte against a regenerated copy,
/// and reports times and peak resident memory.
func syntheticBench(gigabytes: Double) throws {
  let synthetic = SyntheticState(gigabytes: gigabytes)
  let dir = URL(fileURLWithPath: ProcessInfo.processInfo.environment["LONGCTX_BENCH_DIR"] ?? NSTemporaryDirectory())
    .appendingPathComponent("longctx-bench-kv-synthetic-\(UUID().uuidString)")
  defer { try? FileManager.default.removeItem(at: dir) }
  let store = CheckpointStore(directory: dir, maxBytes: 1 << 40, compressionLevel: 1)
  let before = currentRSS()
  print(
    "# synthetic state: \(synthetic.cells) cells × \(SyntheticState.layers) layers × K,V × \(SyntheticState.channels) f16 = \(mb(synthetic.size)); frames of \(mb(KVCodec.frameBytes)); RSS before \(mb(before))"
  )
  var reader = SyntheticState.Reader(layout: synthetic.layout)
  let tokens = (0..<Int32(synthetic.cells)).map { $0 }
  let (entry, save) = try time {
    try store.save(model: "synthetic", tokens: tokens, rawSize: synthetic.size, layout: synthetic.layout) {
      reader.fill($0)
    }
  }
  let peakAfterSave = peakRSS()
  print(
    String(
      format: "save: %.1f s (%.0f MB/s), file %@ (ratio %.3f×), peak RSS %@", save, Double(synthetic.size) / 1e6 / save,
      mb(entry.compressedBytes), Double(synthetic.size) / Double(entry.compressedBytes), mb(peakAfterSave)))
  var check = SyntheticState.Reader(layout: synthetic.layout)
  var restored = 0
  var expected = Data()
  var comparing = 0.0
  let (_, restore) = try time {
    try store.read(URL(fileURLWithPath: entry.path)) { piece in
      let (_, spent) = time {
        if expected.count != piece.count { expected = Data(count: piece.count) }
        expected.withUnsafeMutableBytes { check.fill($0) }
        precondition(piece == expected, "restored bytes differ at \(restored)")
      }
      comparing += spent
      restored += piece.count
    }
  }
  precondition(restored == synthetic.size, "restored \(restored) of \(synthetic.size) bytes")
  print(
    String(
      format:
        "restore (read, verify, decode on all cores): %.1f s (%.0f MB/s) plus %.1f s regenerating and comparing every byte; peak RSS %@ (%@ above the start)",
      restore - comparing, Double(synthetic.size) / 1e6 / (restore - comparing), comparing, mb(peakRSS()),
      mb(peakRSS() - before)))
}
