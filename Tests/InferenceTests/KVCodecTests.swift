import Foundation
import Storage
import Testing
import _LongctxTestSupport

@testable import Inference

/// The version-2 checkpoint codec on synthetic states laid out the way
/// llama.cpp's `llama_kv_cache::state_write` writes them (the real-model
/// round trip is in `LlamaBackendTests/KVCodecRealStateTests`).
@Suite struct KVCodecTests {
  static let model = "test-model ctx=4096"
  static func tokens(_ n: Int) -> [Int32] { (0..<Int32(n)).map { $0 &* 13 &+ 5 } }

  /// A deterministic pseudo-random generator.
  struct Rng {
    var s: UInt64
    mutating func next() -> UInt64 {
      s = s &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return s >> 11
    }
    /// Roughly normal, in [-3, 3).
    mutating func gauss() -> Float {
      var t: Float = 0
      for _ in 0..<3 { t += Float(next() % 10_000) / 10_000 }
      return (t - 1.5) * 2
    }
  }

  /// One KV cache's state in llama.cpp's format: f16 (type 1), bf16 (30),
  /// q8_0 (8) or f32 (0) rows of `channels` values, V transposed or not.
  static func cache(
    cells: Int, layers: Int, channels: Int, type: Int32, vTrans: Bool, seed: UInt64, into out: inout Data
  ) {
    var rng = Rng(s: seed)
    // Per-channel scales, so that a channel changes slowly from cell to cell.
    let scale = (0..<channels).map { _ in Float(1 + rng.next() % 8) / 4 }
    func u32(_ v: Int) { out.append(contentsOf: withUnsafeBytes(of: UInt32(v).littleEndian) { Array($0) }) }
    func i32(_ v: Int32) { out.append(contentsOf: withUnsafeBytes(of: v.littleEndian) { Array($0) }) }
    func u64(_ v: Int) { out.append(contentsOf: withUnsafeBytes(of: UInt64(v).littleEndian) { Array($0) }) }
    func half(_ f: Float) {
      out.append(contentsOf: withUnsafeBytes(of: Float16(f).bitPattern.littleEndian) { Array($0) })
    }
    // A channel's values stay near its own level, as K and V activations do.
    func value(_ c: Int) -> Float { scale[c] * (1 + 0.05 * rng.gauss()) }
    func row() {
      switch type {
      case 8:
        for _ in 0..<(channels / 32) {
          half(Float(rng.next() % 100) / 1000 + 0.01)
          for _ in 0..<32 { out.append(UInt8(truncatingIfNeeded: Int(rng.gauss() * 40))) }
        }
      case 30:
        for c in 0..<channels {
          let bits = value(c).bitPattern >> 16
          out.append(contentsOf: withUnsafeBytes(of: UInt16(bits).littleEndian) { Array($0) })
        }
      case 0:
        for c in 0..<channels { out.append(contentsOf: withUnsafeBytes(of: value(c).bitPattern) { Array($0) }) }
      default:
        for c in 0..<channels { half(value(c)) }
      }
    }
    let rowBytes = type == 8 ? channels / 32 * 34 : type == 0 ? channels * 4 : channels * 2
    u32(1)  // n_stream
    u32(cells)
    for i in 0..<cells {
      i32(Int32(i))
      u32(1)
      i32(0)
    }
    u32(vTrans ? 1 : 0)
    u32(layers)
    u32(channels)
    u32(channels)
    for _ in 0..<layers {
      i32(type)
      u64(rowBytes)
      for _ in 0..<cells { row() }
    }
    for _ in 0..<layers {
      i32(type)
      if vTrans {
        u32(2)
        u32(channels)
        for c in 0..<channels { for _ in 0..<cells { half(value(c)) } }
      } else {
        u64(rowBytes)
        for _ in 0..<cells { row() }
      }
    }
  }

  /// An interleaved-SWA state: a base cache, then a SWA cache (as Gemma 3's).
  static func state(type: Int32 = 1, cells: Int = 300, vTrans: Bool = false) -> Data {
    var out = Data([0xD8, 0x3C, 0x14, 0xAF, 0, 0, 0, 0])  // llama_context's io magic, sequence 0
    cache(cells: cells, layers: 3, channels: 64, type: type, vTrans: vTrans, seed: 1, into: &out)
    cache(cells: min(cells, 128), layers: 2, channels: 64, type: type, vTrans: vTrans, seed: 2, into: &out)
    return out
  }

  @Test(arguments: [(Int32(1), false), (1, true), (30, false), (8, false), (0, false)])
  func layoutIsParsedAndRoundTrips(type: Int32, vTrans: Bool) throws {
    let state = Self.state(type: type, vTrans: vTrans)
    let layout = KVCodec.layout(of: state)
    #expect(layout.reduce(0) { $0 + $1.length } == state.count)
    let tensorBytes = layout.filter { $0.kind != .raw }.reduce(0) { $0 + $1.length }
    if type == 0 {
      #expect(tensorBytes == 0, "f32 rows are stored plain")
    } else {
      #expect(Double(tensorBytes) > 0.9 * Double(state.count), "\(layout)")
      #expect(layout.filter { $0.kind != .raw }.count == 10, "K and V of 3 + 2 layers")
    }
    if type == 8 { #expect(layout.contains { $0.kind == .q8_0 && $0.rowBytes == 68 }) }

    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let store = CheckpointStore(directory: dir.url)
    let entry = try store.save(model: Self.model, tokens: Self.tokens(300), state: state)
    let hit = try #require(store.longestPrefix(model: Self.model, of: Self.tokens(310)))
    #expect(hit.state == state)
    #expect(entry.rawBytes == state.count)
    var streamed = Data()
    try store.read(URL(fileURLWithPath: entry.path)) { streamed.append($0) }
    #expect(streamed == state)
  }

  @Test func codecCompressesBetterThanZstdAlone() throws {
    let state = Self.state(type: 1, cells: 1000)
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let entry = try CheckpointStore(directory: dir.url).save(model: Self.model, tokens: Self.tokens(1000), state: state)
    let plain = try Zstd.compress(state, level: 1).count
    #expect(entry.compressedBytes < plain, "codec \(entry.compressedBytes) vs zstd \(plain)")
  }

  @Test func unknownBytesFallBackToPlain() throws {
    var state = Self.state()
    state.append(contentsOf: [1, 2, 3])  // trailing bytes: not a llama.cpp layout
    #expect(KVCodec.layout(of: state) == [KVCodec.Segment(kind: .raw, rowBytes: 0, length: state.count)])
    let noise = Data((0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) })
    #expect(KVCodec.layout(of: noise).allSatisfy { $0.kind == .raw })
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let store = CheckpointStore(directory: dir.url)
    try store.save(model: Self.model, tokens: Self.tokens(300), state: state)
    #expect(store.longestPrefix(model: Self.model, of: Self.tokens(300))?.state == state)
    #expect(KVCodec.layout(of: Data()).isEmpty)
  }

  @Test func framesNeverSplitARow() {
    let layout = [
      KVCodec.Segment(kind: .raw, rowBytes: 0, length: 100),
      KVCodec.Segment(kind: .half, rowBytes: 64, length: 64 * 50),
      KVCodec.Segment(kind: .q8_0, rowBytes: 68, length: 68 * 30),
    ]
    let frames = KVCodec.frames(layout, frameBytes: 1000)
    #expect(frames.count > 5)
    let total: Int = frames.flatMap { $0 }.reduce(0) { $0 + $1.length }
    let expected: Int = 100 + 3200 + 2040
    #expect(total == expected)
    for frame in frames {
      let length: Int = frame.reduce(0) { $0 + $1.length }
      #expect(length <= 1000)
      for piece in frame where piece.kind != .raw { #expect(piece.length % piece.rowBytes == 0) }
    }
    // A row larger than a frame is a frame of its own.
    let big = KVCodec.frames([KVCodec.Segment(kind: .half, rowBytes: 4000, length: 8000)], frameBytes: 1000)
    #expect(big.map { $0.map(\.length) } == [[4000], [4000]])
  }

  /// A file of many frames, for the damage tests.
  static func multiFrameFile(_ dir: TemporaryDirectory) throws -> (
    store: CheckpointStore, entry: CheckpointEntry, state: Data
  ) {
    let state = Self.state(type: 1, cells: 600)
    let store = CheckpointStore(directory: dir.url)
    var at = 0
    let entry = try store.save(
      model: Self.model, tokens: Self.tokens(600), rawSize: state.count, layout: KVCodec.layout(of: state),
      frameBytes: 20_000
    ) { dst in
      state.copyBytes(to: dst, from: at..<(at + dst.count))
      at += dst.count
    }
    return (store, entry, state)
  }

  @Test func multiFrameRoundTrip() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let (store, entry, state) = try Self.multiFrameFile(dir)
    let file = try Data(contentsOf: URL(fileURLWithPath: entry.path))
    let frames = Self.count(of: Array("LCKF".utf8), in: file)
    #expect(frames >= state.count / 20_000)
    #expect(store.longestPrefix(model: Self.model, of: Self.tokens(600))?.state == state)
    var pieces = 0
    var streamed = Data()
    try store.read(URL(fileURLWithPath: entry.path)) {
      pieces += 1
      streamed.append($0)
    }
    #expect(streamed == state)
    #expect(pieces == frames)
  }

  /// The engine's large-state path: candidates read from headers only, then
  /// the state streamed; a damaged file yields false and is deleted.
  @Test(arguments: ["intact", "flip-body", "other-model"])
  func candidatesStreamTheVerifiedState(damage: String) throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let (store, entry, state) = try Self.multiFrameFile(dir)
    let prompt = Self.tokens(600) + [1, 2, 3]
    let url = URL(fileURLWithPath: entry.path)
    if damage == "flip-body" {
      var bytes = try Data(contentsOf: url)
      bytes[bytes.count - 300] ^= 0x08
      try bytes.write(to: url)
    }
    let model = damage == "other-model" ? "another model" : Self.model
    let candidates = store.prefixCandidates(model: model, of: prompt, minimum: 100)
    if damage == "other-model" {
      #expect(candidates.isEmpty)
      return
    }
    let candidate = try #require(candidates.first)
    #expect(candidates.count == 1)
    #expect(candidate.tokens == 600)
    #expect(candidate.rawBytes == state.count)
    #expect(candidate.path == entry.path)
    #expect(store.prefixCandidates(model: model, of: prompt, maximum: 599).isEmpty)
    var streamed = Data()
    let ok = try store.stream(candidate) { streamed.append($0) }
    if damage == "intact" {
      #expect(ok)
      #expect(streamed == state)
      #expect(store.load(candidate)?.state == state)
    } else {
      #expect(!ok, "a damaged frame must be refused")
      #expect(!FileManager.default.fileExists(atPath: url.path), "the damaged file is deleted")
      #expect(try store.stream(candidate) { _ in } == false, "a vanished file is a miss")
    }
  }

  static func count(of needle: [UInt8], in data: Data) -> Int {
    let bytes = [UInt8](data)
    var n = 0
    var i = 0
    while i + needle.count <= bytes.count {
      if Array(bytes[i..<(i + needle.count)]) == needle { n += 1 }
      i += 1
    }
    return n
  }

  /// Every damaged file is refused with a clear reason, from memory and when
  /// streamed, and never yields a state other than the one saved.
  @Test(arguments: [
    "truncate-frame", "truncate-header", "flip-body", "flip-frame-header", "flip-piece", "drop-frame", "swap-frames",
    "append",
  ])
  func damagedFramesAreRefused(damage: String) throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let (store, entry, _) = try Self.multiFrameFile(dir)
    let url = URL(fileURLWithPath: entry.path)
    var bytes = [UInt8](try Data(contentsOf: url))
    let starts = (0..<(bytes.count - 3)).filter { bytes[$0..<($0 + 4)].elementsEqual("LCKF".utf8) }
    #expect(starts.count > 3)
    let second = starts[1]
    let third = starts[2]
    switch damage {
    case "truncate-frame": bytes = Array(bytes.prefix(bytes.count - 100))
    case "truncate-header": bytes = Array(bytes.prefix(starts.last! + 20))
    case "flip-body": bytes[second + 200] ^= 0x04
    case "flip-frame-header": bytes[second + 20] ^= 0x01  // in the frame's SHA-256
    case "flip-piece": bytes[second + 48 + 4] ^= 0x02  // a piece's row width
    case "drop-frame": bytes.removeSubrange(second..<third)
    case "swap-frames":
      let frame = Array(bytes[second..<third])
      bytes.removeSubrange(second..<third)
      bytes.insert(contentsOf: frame, at: starts[0])
    default: bytes += [0, 0, 0, 0]
    }
    try Data(bytes).write(to: url)

    var streamed = Data()
    #expect(throws: CheckpointCorruption.self) { try store.read(url) { streamed.append($0) } }
    if damage != "flip-body" && damage != "truncate-frame" {
      #expect(streamed.isEmpty, "the frame index is checked before any byte is handed over")
    }
    do {
      _ = try CheckpointStore.decode(Data(bytes), url: url, expecting: nil)
      Issue.record("a damaged file decoded")
    } catch {
      #expect(!error.description.isEmpty)
    }
    #expect(store.longestPrefix(model: Self.model, of: Self.tokens(600)) == nil)
    #expect(!FileManager.default.fileExists(atPath: url.path), "the damaged file is deleted")
  }

  @Test func versionOneFilesStillRestore() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let state = Self.state()
    let old = CheckpointStore(directory: dir.url, formatVersion: 1)
    let entry = try old.save(model: Self.model, tokens: Self.tokens(300), state: state)
    let file = try Data(contentsOf: URL(fileURLWithPath: entry.path))
    #expect(file[4] == 1 && file[5] == 0, "written as version 1")
    // A version-1 file: the header, then one zstd frame of the raw state.
    let header = try CheckpointHeader.decode(file)
    #expect(header.version == 1)
    #expect(try Zstd.decompress(file.dropFirst(header.encoded().count)) == state)

    let store = CheckpointStore(directory: dir.url)
    #expect(store.longestPrefix(model: Self.model, of: Self.tokens(300))?.state == state)
    var streamed = Data()
    try store.read(URL(fileURLWithPath: entry.path)) { streamed.append($0) }
    #expect(streamed == state)
    #expect(store.verify().removed.isEmpty)
    // The new store writes version 2.
    try store.save(model: Self.model, tokens: Self.tokens(301), state: state)
    let newer = try #require(store.list().first { $0.tokens == 301 })
    #expect(try Data(contentsOf: URL(fileURLWithPath: newer.path))[4] == 2)
    // An unknown version is refused.
    var future = file
    future[4] = 4
    #expect(throws: CheckpointCorruption.unsupportedVersion(4)) {
      try CheckpointStore.decode(future, url: URL(fileURLWithPath: entry.path), expecting: nil)
    }
  }

  @Test func entryLargerThanTheBoundIsRefused() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let small = Self.state(cells: 50)
    let store = CheckpointStore(directory: dir.url, maxBytes: 100_000)
    try store.save(model: Self.model, tokens: Self.tokens(50), state: small)
    #expect(store.list().count == 1)
    let big = Self.state(cells: 2000)
    do {
      try store.save(model: Self.model, tokens: Self.tokens(2000), state: big)
      Issue.record("a checkpoint larger than the bound was stored")
    } catch let error as CheckpointError {
      guard case .stateTooLarge(let bytes, let limit) = error else {
        Issue.record("wrong error \(error)")
        return
      }
      #expect(bytes > limit && limit == 100_000)
      #expect(error.localizedDescription.contains("exceeds the store's bound of 100000 bytes"))
    }
    // Nothing was evicted for it and no temporary file remains.
    #expect(store.list().map(\.tokens) == [50])
    let names = try FileManager.default.subpathsOfDirectory(atPath: dir.url.path)
    #expect(!names.contains { $0.hasSuffix(".tmp") })
  }
}
