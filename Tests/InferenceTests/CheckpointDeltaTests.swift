import Foundation
import Storage
import Testing
import _LongctxTestSupport

@testable import Inference

/// Prefix-delta checkpoints (format 3) on synthetic states laid out as
/// llama.cpp writes an interleaved-SWA sequence: a full-attention cache whose
/// cell `i` holds position `i` (the same bytes in every prefix that contains
/// it, as when a longer prefix was prefilled from a restored shorter one),
/// then a sliding-window cache holding only the last `window` positions.
/// The real-model chains are in `LlamaBackendTests/LlamaEngineCheckpointTests`.
@Suite struct CheckpointDeltaTests {
  static let model = "test-model ctx=4096"
  static let layers = 3
  static let channels = 64
  static let window = 64

  static func tokens(_ n: Int, seed: Int32 = 0) -> [Int32] { (0..<Int32(n)).map { $0 &* 13 &+ 5 &+ seed } }

  /// One cache of cells at `positions`, f16 rows depending only on (seed, layer, position, channel).
  static func cache(positions: Range<Int>, layers: Int, seed: Int, into out: inout Data) {
    func u32(_ v: Int) { out.append(contentsOf: withUnsafeBytes(of: UInt32(v).littleEndian) { Array($0) }) }
    func u64(_ v: Int) { out.append(contentsOf: withUnsafeBytes(of: UInt64(v).littleEndian) { Array($0) }) }
    u32(1)  // n_stream
    u32(positions.count)
    for p in positions {
      u32(p)
      u32(1)
      u32(0)
    }
    u32(0)  // v_trans
    u32(layers)
    u32(channels)
    u32(channels)
    for part in 0..<2 {
      for layer in 0..<layers {
        u32(1)  // f16
        u64(channels * 2)
        for p in positions {
          for c in 0..<channels {
            let x = Float(seed * 7919 + part * 131 + layer * 17 + c) * 0.37 + Float(p) * 0.011
            let value = Float16(sin(x) * Float(1 + c % 5))
            out.append(contentsOf: withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) })
          }
        }
      }
    }
  }

  /// The state of a prefix of `n` tokens; `seed` changes every value (another computation).
  static func state(_ n: Int, seed: Int = 1) -> Data {
    var out = Data([0xD8, 0x3C, 0x14, 0xAF, 0, 0, 0, 0])
    cache(positions: 0..<n, layers: layers, seed: seed, into: &out)
    cache(positions: max(0, n - window)..<n, layers: 2, seed: seed + 100, into: &out)
    return out
  }

  /// Bytes of one cell of the full-attention cache (K and V of every layer).
  static let cellBytes = 2 * layers * channels * 2

  static func chunkFiles(_ store: CheckpointStore) -> [URL] {
    let dir = store.chunkDirectory(model)
    return ((try? FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)) ?? [])
      .filter { $0.pathExtension == "lckc" }
  }

  static func chunkRawBytes(_ store: CheckpointStore) throws -> Int {
    try chunkFiles(store).reduce(0) { $0 + (try store.readHeader($1)).rawSize }
  }

  @Test func stateMapCutsTheFullCacheAndKeepsTheWindow() throws {
    let state = Self.state(300)
    let map = try #require(
      KVStateMap.parse(size: state.count, tokens: 300) { o, n in Array(state[o..<min(o + n, state.count)]) })
    #expect(map.rawSize == state.count)
    #expect(map.cellBytes == Self.cellBytes)
    #expect(map.pieces.filter { $0 == .meta }.count == 1)
    // The window cache's 64 cells are own bytes, with the headers.
    #expect(map.ownSize == state.count - 300 * (Self.cellBytes + 12))
    // A prefix length that is not the full cache's cell count: nothing to cut.
    let other = KVStateMap.parse(size: state.count, tokens: 299) { o, n in Array(state[o..<min(o + n, state.count)]) }
    #expect(other?.isChunked == false)
  }

  @Test func deltaCheckpointRoundTrips() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let store = CheckpointStore(directory: dir.url)
    let state = Self.state(700)
    let entry = try store.save(model: Self.model, tokens: Self.tokens(700), state: state)
    #expect(try store.readHeader(URL(fileURLWithPath: entry.path)).version == 3)
    #expect(Self.chunkFiles(store).count == 3, "chunks [0,256) [256,512) [512,700)")
    let hit = try #require(store.longestPrefix(model: Self.model, of: Self.tokens(710)))
    #expect(hit.tokens == Self.tokens(700))
    #expect(hit.state == state)
    var streamed = Data()
    try store.read(URL(fileURLWithPath: entry.path)) { streamed.append($0) }
    #expect(streamed == state)
    var assembled = Data(count: state.count)
    let ok = try store.assemble(entry) { offset, bytes in
      assembled.withUnsafeMutableBytes {
        UnsafeMutableRawBufferPointer(rebasing: $0[offset..<(offset + bytes.count)]).copyMemory(from: bytes)
      }
    }
    #expect(ok)
    #expect(assembled == state)
    #expect(store.list().first?.compressedBytes == store.diskBytes())
    #expect(store.verify().removed.isEmpty)
  }

  @Test func growingChainStoresEachCellOnce() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let store = CheckpointStore(directory: dir.url)
    let lengths = [300, 700, 1000]
    for n in lengths { try store.save(model: Self.model, tokens: Self.tokens(n), state: Self.state(n)) }
    // Cuts: 256, 300 | 512, 700 | 768, 1000: every full-cache cell once.
    #expect(Self.chunkFiles(store).count == 6)
    #expect(try Self.chunkRawBytes(store) == 1000 * Self.cellBytes)
    for n in lengths {
      let hit = try #require(store.longestPrefix(model: Self.model, of: Self.tokens(n), maximum: n))
      #expect(hit.tokens.count == n)
      #expect(hit.state == Self.state(n))
    }
    // Against full checkpoints of the same prefixes.
    let fullDir = try TemporaryDirectory()
    defer { fullDir.remove() }
    let full = CheckpointStore(directory: fullDir.url, formatVersion: 2)
    for n in lengths { try full.save(model: Self.model, tokens: Self.tokens(n), state: Self.state(n)) }
    let largest = try #require(full.list().map(\.compressedBytes).max())
    #expect(Double(store.diskBytes()) < 0.65 * Double(full.diskBytes()), "\(store.diskBytes()) vs \(full.diskBytes())")
    #expect(Double(store.diskBytes()) < 1.5 * Double(largest), "\(store.diskBytes()) vs \(largest)")
  }

  @Test func shorterPrefixSavedLaterSharesTheLongerOnesChunks() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let store = CheckpointStore(directory: dir.url)
    try store.save(model: Self.model, tokens: Self.tokens(1000), state: Self.state(1000))
    #expect(Self.chunkFiles(store).count == 4)
    try store.save(model: Self.model, tokens: Self.tokens(600), state: Self.state(600))
    // [0,256) and [256,512) are shared; [512,600) is new.
    #expect(Self.chunkFiles(store).count == 5)
    #expect(try Self.chunkRawBytes(store) == 1088 * Self.cellBytes)
    #expect(store.longestPrefix(model: Self.model, of: Self.tokens(600), maximum: 600)?.state == Self.state(600))
    #expect(store.longestPrefix(model: Self.model, of: Self.tokens(1000))?.state == Self.state(1000))
  }

  /// A prefix that ends inside a grid block does not change the keys of the
  /// blocks after it: a longer prefix extending it still finds the chunks
  /// another chain stored on the grid (SHA-256 of the previous block's key
  /// and its own tokens, as vLLM and SGLang key theirs).
  @Test func partialChunkDoesNotChangeTheKeysOfTheBlocksAfterIt() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let store = CheckpointStore(directory: dir.url)
    try store.save(model: Self.model, tokens: Self.tokens(1000), state: Self.state(1000))
    // [256,300) is new; then 900, extending 300: [256,512) and [512,768) are the 1000 chain's, [768,900) is new.
    try store.save(model: Self.model, tokens: Self.tokens(300), state: Self.state(300))
    try store.save(model: Self.model, tokens: Self.tokens(900), state: Self.state(900))
    #expect(try Self.chunkRawBytes(store) == (1000 + 44 + 132) * Self.cellBytes)
    for n in [300, 900, 1000] {
      #expect(store.longestPrefix(model: Self.model, of: Self.tokens(n), maximum: n)?.state == Self.state(n))
    }
  }

  /// A prefix shorter than the sliding window has all its positions in the
  /// window cache too; only the first (full-attention) cache is cut, so its
  /// chunks are the ones longer prefixes store, and a chain stores each cell once.
  @Test func prefixShorterThanTheWindowSharesItsChunks() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let store = CheckpointStore(directory: dir.url, formatVersion: 3, chunkTokens: 16)
    let state = Self.state(40)
    let map = try #require(
      KVStateMap.parse(size: state.count, tokens: 40) { o, n in Array(state[o..<min(o + n, state.count)]) })
    #expect(map.cellBytes == Self.cellBytes, "the window cache, whole at 40 positions, is not cut")
    for n in [40, 100, 150] { try store.save(model: Self.model, tokens: Self.tokens(n), state: Self.state(n)) }
    #expect(store.chunkSizes(model: Self.model).reduce(0) { $0 + $1.tokens } == 150)
    #expect(try Self.chunkRawBytes(store) == 150 * Self.cellBytes)
    for n in [40, 100, 150] {
      #expect(store.longestPrefix(model: Self.model, of: Self.tokens(n), maximum: n)?.state == Self.state(n))
    }
  }

  @Test func otherBytesForTheSameTokensAreNeverMixed() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let store = CheckpointStore(directory: dir.url)
    try store.save(model: Self.model, tokens: Self.tokens(600), state: Self.state(600, seed: 1))
    // The same tokens computed with other rounding: its chunks get salted keys.
    try store.save(model: Self.model, tokens: Self.tokens(1000), state: Self.state(1000, seed: 2))
    #expect(try Self.chunkRawBytes(store) == 1600 * Self.cellBytes)
    #expect(
      store.longestPrefix(model: Self.model, of: Self.tokens(600), maximum: 600)?.state == Self.state(600, seed: 1))
    #expect(store.longestPrefix(model: Self.model, of: Self.tokens(1000))?.state == Self.state(1000, seed: 2))
  }

  @Test func gcKeepsChainsWhole() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let store = CheckpointStore(directory: dir.url)
    for (i, n) in [300, 700, 1000].enumerated() {
      let entry = try store.save(model: Self.model, tokens: Self.tokens(n), state: Self.state(n))
      let date = Date().addingTimeInterval(Double(i - 10) * 60)
      try FileManager.default.setAttributes([.modificationDate: date], ofItemAtPath: entry.path)
    }
    let before = store.diskBytes()
    // Evicting the oldest (300) frees only its own file: its chunks are the others' too.
    let first = store.gc(maxBytes: before - 1)
    #expect(first.removed.map(\.tokens) == [300])
    #expect(Self.chunkFiles(store).count == 6)
    #expect(first.bytesAfter == store.diskBytes())
    #expect(store.longestPrefix(model: Self.model, of: Self.tokens(700), maximum: 700)?.state == Self.state(700))
    // 700 was just used, so 1000 goes next, with the two chunks only it needs.
    let second = store.gc(maxBytes: store.diskBytes() - 1)
    #expect(second.removed.map(\.tokens) == [1000])
    #expect(Self.chunkFiles(store).count == 4)
    #expect(store.longestPrefix(model: Self.model, of: Self.tokens(1000))?.state == Self.state(700))
    #expect(store.verify().removed.isEmpty)
    // An unreferenced chunk an hour old is removed; a fresh one stays (a save in progress).
    let orphan = store.chunkDirectory(Self.model).appendingPathComponent(String(repeating: "ab", count: 32) + ".lckc")
    try Data([1, 2, 3]).write(to: orphan)
    store.gc()
    #expect(FileManager.default.fileExists(atPath: orphan.path))
    try FileManager.default.setAttributes(
      [.modificationDate: Date().addingTimeInterval(-7200)], ofItemAtPath: orphan.path)
    store.gc()
    #expect(!FileManager.default.fileExists(atPath: orphan.path))
    store.gc(maxBytes: 0)
    #expect(store.diskBytes() == 0)
  }

  @Test func damagedChunkFallsBackToTheNextPrefix() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let store = CheckpointStore(directory: dir.url)
    for n in [700, 1000] { try store.save(model: Self.model, tokens: Self.tokens(n), state: Self.state(n)) }
    // A chunk only 1000 needs: [768,1000).
    let tail = Array(Self.tokens(1000)[768..<1000])
    let last = try #require(Self.chunkFiles(store).first { (try? store.readHeader($0).tokens) == tail })
    var bytes = try Data(contentsOf: last)
    bytes[bytes.count - 100] ^= 0x10
    try bytes.write(to: last)
    let hit = try #require(store.longestPrefix(model: Self.model, of: Self.tokens(1000)))
    #expect(hit.tokens.count == 700)
    #expect(hit.state == Self.state(700))
    #expect(store.list().map(\.tokens) == [700], "the damaged chain's checkpoint is deleted")
    #expect(!FileManager.default.fileExists(atPath: last.path))
  }

  @Test func formatTwoCheckpointsStillRestoreAndUncuttableStatesAreSavedWhole() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let old = CheckpointStore(directory: dir.url, formatVersion: 2)
    try old.save(model: Self.model, tokens: Self.tokens(500), state: Self.state(500))
    let store = CheckpointStore(directory: dir.url)
    #expect(store.longestPrefix(model: Self.model, of: Self.tokens(900))?.state == Self.state(500))
    // A longer prefix over a format-2 parent is cut on the grid.
    try store.save(model: Self.model, tokens: Self.tokens(900), state: Self.state(900))
    #expect(Self.chunkFiles(store).count == 4)
    #expect(store.longestPrefix(model: Self.model, of: Self.tokens(900), maximum: 900)?.state == Self.state(900))
    // Bytes that are no llama.cpp state are stored as format 2.
    let blob = Data((0..<5000).map { UInt8($0 % 251) })
    let entry = try store.save(model: Self.model, tokens: Self.tokens(50, seed: 9), state: blob)
    #expect(try store.readHeader(URL(fileURLWithPath: entry.path)).version == 2)
    #expect(store.longestPrefix(model: Self.model, of: Self.tokens(60, seed: 9))?.state == blob)
  }
}
