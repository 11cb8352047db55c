import Foundation
import Inference
import Storage
import Testing
import _LongctxTestSupport

@testable import LlamaBackend

/// The version-2 KV codec on real llama.cpp sequence states of the real model
/// (Gemma 3 270M), f16 and q8_0, with a prefix from the shared corpus.
@Suite(.serialized) struct KVCodecRealStateTests {
  static let log = "/work/shared/corpus/logs/loghub/HPC/HPC_2k.log"

  @Test(arguments: [KVCacheType.f16, .q8_0])
  func realStateParsesAndRoundTrips(type: KVCacheType) async throws {
    let path = try LlamaEngineCheckpointTests.modelPath()
    guard let text = try? String(contentsOfFile: Self.log, encoding: .utf8) else {
      print("skipping: the corpus file \(Self.log) is absent")
      return
    }
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    // Format 2 explicitly: the default (3) keeps full-attention cells in shared chunk files.
    let store = CheckpointStore(directory: dir.url, formatVersion: 2)
    let options = LlamaEngineOptions(contextTokens: 4096, kvCacheType: type, swaFull: true)
    let engine = try LlamaEngine(modelPath: path, options: options, checkpoints: store)
    let prefix = String(text.prefix(5000))
    let request = GenerationRequest(prefix: prefix, suffix: "Which node failed first?", maxTokens: 4, temperature: 0)
    _ = try await engine.generate(request)
    let entry = try #require(store.list().first, "the prefix state was not saved")
    #expect(entry.tokens > 1500)
    let url = URL(fileURLWithPath: entry.path)
    let checkpoint = try CheckpointStore.decode(Data(contentsOf: url), url: url, expecting: nil)
    let state = checkpoint.state
    #expect(state.count == entry.rawBytes)

    // The layout: K and V of every layer of both caches, in the KV type.
    let layout = KVCodec.layout(of: state)
    #expect(layout.reduce(0) { $0 + $1.length } == state.count)
    let kind: KVCodec.Kind = type == .f16 ? .half : .q8_0
    let tensors = layout.filter { $0.kind == kind }
    let tensorBytes = tensors.reduce(0) { $0 + $1.length }
    #expect(Double(tensorBytes) > 0.95 * Double(state.count), "\(layout.prefix(8))")
    #expect(tensors.count == 36, "K and V of Gemma 3 270M's 18 layers (3 global + 15 SWA)")

    // Version 1 of the same state decodes to the same bytes, and is larger.
    let old = CheckpointStore(directory: dir.url.appendingPathComponent("v1"), formatVersion: 1)
    let oldEntry = try old.save(model: "m", tokens: checkpoint.tokens, state: state)
    let oldState = try CheckpointStore.decode(
      Data(contentsOf: URL(fileURLWithPath: oldEntry.path)), url: URL(fileURLWithPath: oldEntry.path), expecting: nil
    ).state
    #expect(oldState == state)
    print(
      "[\(type.rawValue)] \(state.count) raw: v1 \(oldEntry.compressedBytes) (\(oldEntry.ratio)×), v2 \(entry.compressedBytes) (\(entry.ratio)×)"
    )
    #expect(entry.compressedBytes < oldEntry.compressedBytes)
    if type == .f16 {
      #expect(entry.ratio > 1.15, "f16 ratio \(entry.ratio)")
    } else {
      #expect(entry.ratio > 1.05, "q8_0 ratio \(entry.ratio)")
    }

    // Streamed read gives the same bytes, and the engine accepts them.
    var streamed = Data()
    try store.read(url) { streamed.append($0) }
    #expect(streamed == state)
    #expect(engine.setState(streamed, tokens: checkpoint.tokens.count))
  }
}
