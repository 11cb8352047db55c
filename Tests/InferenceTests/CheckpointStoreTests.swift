import Foundation
import Inference
import Storage
import Testing
import _LongctxTestSupport

@testable import Inference

@Suite struct CheckpointStoreTests {
  static let model = "test-model ctx=2048"

  /// A state of `size` bytes that compresses like a KV cache does (somewhat).
  static func state(_ size: Int, seed: Int = 1) -> Data {
    Data((0..<size).map { UInt8(truncatingIfNeeded: ($0 * 2_654_435_761 &+ seed * 97) >> 7 % 64) })
  }

  static func tokens(_ n: Int, seed: Int32 = 0) -> [Int32] { (0..<Int32(n)).map { $0 &* 7 &+ seed } }

  @Test func saveThenLoadLongestPrefix() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let store = CheckpointStore(directory: dir.url)
    let prompt = Self.tokens(1000)
    try store.save(model: Self.model, tokens: Array(prompt.prefix(300)), state: Self.state(10_000, seed: 1))
    try store.save(model: Self.model, tokens: Array(prompt.prefix(600)), state: Self.state(20_000, seed: 2))
    try store.save(model: Self.model, tokens: Self.tokens(700, seed: 5), state: Self.state(5_000, seed: 3))
    try store.save(model: "other model", tokens: Array(prompt.prefix(900)), state: Self.state(5_000))

    let hit = try #require(store.longestPrefix(model: Self.model, of: prompt))
    #expect(hit.tokens == Array(prompt.prefix(600)))
    #expect(hit.state == Self.state(20_000, seed: 2))
    #expect(store.longestPrefix(model: Self.model, of: prompt, maximum: 599)?.tokens.count == 300)
    #expect(store.longestPrefix(model: Self.model, of: prompt, minimum: 601) == nil)
    #expect(store.longestPrefix(model: "unknown", of: prompt) == nil)
    #expect(store.contains(model: Self.model, tokens: Array(prompt.prefix(300))))
    #expect(!store.contains(model: Self.model, tokens: Array(prompt.prefix(301))))
  }

  @Test func listingShowsModelSizesAndRatio() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let store = CheckpointStore(directory: dir.url)
    try store.save(model: Self.model, tokens: Self.tokens(256), state: Data(count: 100_000))
    let entries = store.list()
    #expect(entries.count == 1)
    let entry = try #require(entries.first)
    #expect(entry.model == Self.model)
    #expect(entry.tokens == 256)
    #expect(entry.rawBytes == 100_000)
    #expect(entry.compressedBytes < 100_000)
    #expect(entry.ratio > 10)
    #expect(abs(entry.lastUsed.timeIntervalSinceNow) < 60)
  }

  @Test func writesAreAtomicAndLeaveNoTemporaryFiles() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let store = CheckpointStore(directory: dir.url)
    let tokens = Self.tokens(400)
    try store.save(model: Self.model, tokens: tokens, state: Self.state(50_000))
    // Overwrite the same key: readers see the old or the new file, never a mix.
    try store.save(model: Self.model, tokens: tokens, state: Self.state(60_000, seed: 9))
    let files = try FileManager.default.subpathsOfDirectory(atPath: dir.url.path)
    #expect(files.filter { $0.hasSuffix(".tmp") }.isEmpty)
    #expect(files.filter { $0.hasSuffix(".lckv") }.count == 1)
    #expect(store.longestPrefix(model: Self.model, of: tokens)?.state == Self.state(60_000, seed: 9))
    // A stale temporary file from a crashed writer is collected.
    let stray = store.modelDirectory(Self.model).appendingPathComponent(".x.lckv.1.2.tmp")
    try Data([1, 2, 3]).write(to: stray)
    try FileManager.default.setAttributes(
      [.modificationDate: Date().addingTimeInterval(-7200)], ofItemAtPath: stray.path)
    store.gc()
    #expect(!FileManager.default.fileExists(atPath: stray.path))
  }

  @Test func evictsLeastRecentlyUsedToTheBound() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let unbounded = CheckpointStore(directory: dir.url)
    let prompts = (0..<4).map { Self.tokens(300, seed: Int32($0) * 1000) }
    for (i, p) in prompts.enumerated() {
      let entry = try unbounded.save(model: Self.model, tokens: p, state: Self.state(40_000))
      // Distinct, increasing last-use times.
      try FileManager.default.setAttributes(
        [.modificationDate: Date().addingTimeInterval(Double(i - 10) * 60)], ofItemAtPath: entry.path)
    }
    // Use the oldest one: it becomes the most recent.
    #expect(unbounded.longestPrefix(model: Self.model, of: prompts[0]) != nil)
    let sizes = unbounded.list().map(\.compressedBytes)
    #expect(Set(sizes).count == 1)
    let bound = sizes.reduce(0, +) - sizes[0] - 1  // forces two evictions
    let result = unbounded.gc(maxBytes: bound)
    #expect(result.removed.count == 2)
    #expect(result.bytesAfter <= bound)
    #expect(unbounded.list().count == 2)
    #expect(unbounded.longestPrefix(model: Self.model, of: prompts[0]) != nil)
    #expect(unbounded.longestPrefix(model: Self.model, of: prompts[3]) != nil)
    #expect(unbounded.longestPrefix(model: Self.model, of: prompts[1]) == nil)
    #expect(unbounded.longestPrefix(model: Self.model, of: prompts[2]) == nil)

    // A bounded store evicts on save, but never the file it just wrote.
    let bounded = CheckpointStore(directory: dir.url, maxBytes: 1)
    #expect(throws: CheckpointError.self) {
      try bounded.save(model: Self.model, tokens: prompts[1], state: Self.state(40_000))
    }
    let small = CheckpointStore(directory: dir.url, maxBytes: sizes.max()! + 10)
    try small.save(model: Self.model, tokens: prompts[2], state: Self.state(40_000, seed: 2))
    #expect(small.list().map(\.tokens) == [300])
    #expect(small.longestPrefix(model: Self.model, of: prompts[2]) != nil)
  }

  @Test(arguments: ["flip-payload", "flip-header", "truncate", "empty", "rename"])
  func corruptFilesAreDiscarded(damage: String) throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let store = CheckpointStore(directory: dir.url)
    let tokens = Self.tokens(500)
    let entry = try store.save(model: Self.model, tokens: tokens, state: Self.state(80_000))
    var bytes = try Data(contentsOf: URL(fileURLWithPath: entry.path))
    var path = entry.path
    var query = tokens
    switch damage {
    case "flip-payload": bytes[bytes.count - 100] ^= 0x5A
    case "flip-header": bytes[40] ^= 0x01
    case "truncate": bytes = bytes.prefix(bytes.count / 2)
    case "empty": bytes = Data()
    default:
      // A valid file under another key's name.
      try FileManager.default.removeItem(atPath: path)
      query = Self.tokens(500, seed: 3)
      path = store.location(model: Self.model, count: 500, hash: Hashing.sha256(tokens: query)).path
    }
    try bytes.write(to: URL(fileURLWithPath: path))
    #expect(store.longestPrefix(model: Self.model, of: query) == nil)
    #expect(!FileManager.default.fileExists(atPath: path))
  }

  @Test func verifyRemovesOnlyCorruptFiles() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let store = CheckpointStore(directory: dir.url)
    let good = try store.save(model: Self.model, tokens: Self.tokens(256), state: Self.state(30_000))
    let bad = try store.save(model: Self.model, tokens: Self.tokens(257), state: Self.state(30_000))
    var bytes = try Data(contentsOf: URL(fileURLWithPath: bad.path))
    bytes[bytes.count / 2] ^= 0xFF
    try bytes.write(to: URL(fileURLWithPath: bad.path))
    let result = store.verify()
    #expect(result.intact.map(\.path) == [good.path])
    #expect(result.removed.map(\.path) == [bad.path])
    #expect(store.list().count == 1)
  }
}
