import Foundation
import Inference
import Testing
import _LongctxTestSupport

@testable import LlamaBackend

/// The bounded-memory path for large sequence states (a raw llama.cpp state
/// file, encoded and decoded frame by frame), forced on small states of the
/// real model with `inMemoryStateBytes: 0`: exactness at temperature 0 and
/// compatibility with checkpoints of the in-memory path, both ways.
@Suite(.serialized) struct LlamaEngineStagedStateTests {
  static func options(type: KVCacheType, staged: Bool) -> LlamaEngineOptions {
    LlamaEngineOptions(
      contextTokens: 2048, kvCacheType: type, swaFull: true, inMemoryStateBytes: staged ? 0 : 256 << 20)
  }

  static let question = "Question: which dock had the most damage?\nAnswer:"

  @Test func stagedFileHoldsTheInMemoryState() async throws {
    let path = try LlamaEngineCheckpointTests.modelPath()
    let engine = try LlamaEngine(modelPath: path, options: Self.options(type: .f16, staged: false))
    let tokens = engine.model.tokenize(LlamaEngineCheckpointTests.prefix, addSpecial: true)
    try engine.prefill(tokens)
    let memory = engine.getState()
    let file = try engine.getStateThroughFile(tokens: tokens)
    #expect(memory.count > 1 << 20)
    #expect(file.count == memory.count)
    #expect(file == memory, "the staged file, with its 8-byte prefix, must be the get_data state byte for byte")
    // The layout parsed through the file's window reader is the in-memory one.
    #expect(KVCodec.layout(of: file) == KVCodec.layout(of: memory))
  }

  @Test(arguments: [KVCacheType.f16, .q8_0])
  func stagedSaveAndRestoreContinueExactly(type: KVCacheType) async throws {
    let path = try LlamaEngineCheckpointTests.modelPath()
    let fresh = try LlamaEngine(modelPath: path, options: Self.options(type: type, staged: false))
    let expected = try await fresh.generate(LlamaEngineCheckpointTests.request(Self.question))
    let expectedOther = try await fresh.generate(LlamaEngineCheckpointTests.request("Summary of record 20:"))
    #expect(!expected.text.isEmpty)

    // Saved through a file, restored through a file by a new context.
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let store = CheckpointStore(directory: dir.url)
    let saving = try LlamaEngine(modelPath: path, options: Self.options(type: type, staged: true), checkpoints: store)
    let first = try await saving.generate(LlamaEngineCheckpointTests.request(Self.question))
    #expect(first.cachedTokens == 0)
    #expect(first.text == expected.text, "a prefix re-loaded from the staged file continues like a fresh one")
    let entry = try #require(store.list().first)

    let restoring = try LlamaEngine(
      modelPath: path, options: Self.options(type: type, staged: true), checkpoints: store)
    let again = try await restoring.generate(LlamaEngineCheckpointTests.request(Self.question))
    #expect(again.cachedTokens == entry.tokens)
    #expect(again.text == expected.text)
    #expect(again.outputTokens == expected.outputTokens)
    let other = try await restoring.generate(LlamaEngineCheckpointTests.request("Summary of record 20:"))
    #expect(other.cachedTokens == entry.tokens)
    #expect(other.text == expectedOther.text)

    // The in-memory path restores the staged path's checkpoint …
    let inMemory = try LlamaEngine(
      modelPath: path, options: Self.options(type: type, staged: false), checkpoints: store)
    let viaMemory = try await inMemory.generate(LlamaEngineCheckpointTests.request(Self.question))
    #expect(viaMemory.cachedTokens == entry.tokens)
    #expect(viaMemory.text == expected.text)

    // … and the staged path one saved in memory.
    let dir2 = try TemporaryDirectory()
    defer { dir2.remove() }
    let store2 = CheckpointStore(directory: dir2.url)
    let memorySaver = try LlamaEngine(
      modelPath: path, options: Self.options(type: type, staged: false), checkpoints: store2)
    _ = try await memorySaver.generate(LlamaEngineCheckpointTests.request(Self.question))
    let entry2 = try #require(store2.list().first)
    #expect(entry2.rawBytes == entry.rawBytes)
    let stagedReader = try LlamaEngine(
      modelPath: path, options: Self.options(type: type, staged: true), checkpoints: store2)
    let viaFile = try await stagedReader.generate(LlamaEngineCheckpointTests.request("Summary of record 20:"))
    #expect(viaFile.cachedTokens == entry2.tokens)
    #expect(viaFile.text == expectedOther.text)

    // No raw state file is left behind.
    #expect(Self.strays(in: dir.url).isEmpty && Self.strays(in: dir2.url).isEmpty)
  }

  @Test func corruptCheckpointIsRecomputedOnTheStagedPath() async throws {
    let path = try LlamaEngineCheckpointTests.modelPath()
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let store = CheckpointStore(directory: dir.url)
    let engine = try LlamaEngine(modelPath: path, options: Self.options(type: .f16, staged: true), checkpoints: store)
    let request = LlamaEngineCheckpointTests.request(Self.question)
    let expected = try await engine.generate(request)
    let entry = try #require(store.list().first)
    var bytes = try Data(contentsOf: URL(fileURLWithPath: entry.path))
    bytes[bytes.count * 2 / 3] ^= 0x10  // inside a frame body: caught while streaming
    try bytes.write(to: URL(fileURLWithPath: entry.path))

    let result = try await engine.generate(request)
    #expect(result.cachedTokens == 0, "a damaged checkpoint must not be restored")
    #expect(result.text == expected.text)
    #expect(store.verify().removed.isEmpty, "the damaged file was replaced by a good one")
    let third = try await engine.generate(request)
    #expect(third.cachedTokens == entry.tokens)
    #expect(third.text == expected.text)
    #expect(Self.strays(in: dir.url).isEmpty)
  }

  /// Raw state files left anywhere under `dir`.
  static func strays(in dir: URL) -> [String] {
    let all = FileManager.default.enumerator(atPath: dir.path)?.allObjects as? [String] ?? []
    return all.filter { $0.contains(".staged-") }
  }
}
