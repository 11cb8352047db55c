import Foundation
import Inference
import Pipeline
import Segmenter
import Testing
import _LongctxTestSupport

@testable import LlamaBackend

/// Parallel sequences with the real default model (Gemma 3 270M): several
/// requests decoded together in one batch per token.
///
/// Needs `LONGCTX_MODEL`, like `LlamaEngineCheckpointTests`.
@Suite(.serialized) struct LlamaEngineParallelTests {
  typealias Base = LlamaEngineCheckpointTests

  static let suffixes = [
    "Question: which dock had the most damage?\nAnswer:",
    "Summary of record 20:",
    "Record 25: the shipment of",
    "The inspector's note on day 30:",
  ]

  static func requests() -> [GenerationRequest] {
    suffixes.map { GenerationRequest(prefix: Base.prefix, suffix: $0, maxTokens: 16, temperature: 0) }
  }

  static func options(parallel: Int, swaFull: Bool = true) -> LlamaEngineOptions {
    LlamaEngineOptions(contextTokens: 1024, swaFull: swaFull, parallel: parallel)
  }

  /// Sends all `requests` at once and returns their results in order.
  static func together(_ engine: LlamaEngine, _ requests: [GenerationRequest]) async throws -> [GenerationResult] {
    try await withThrowingTaskGroup(of: (Int, GenerationResult).self) { group in
      for (i, request) in requests.enumerated() { group.addTask { (i, try await engine.generate(request)) } }
      var out = [GenerationResult?](repeating: nil, count: requests.count)
      for try await (i, result) in group { out[i] = result }
      return out.compactMap { $0 }
    }
  }

  @Test func batchedOutputsEqualOneAtATime() async throws {
    let path = try Base.modelPath()
    let engine = try LlamaEngine(modelPath: path, options: Self.options(parallel: 2, swaFull: false))
    let requests = Array(Self.requests().prefix(3))
    // Three requests on two sequences: one waits and takes a sequence as one finishes.
    let together = try await Self.together(engine, requests)
    #expect(together.count == requests.count)
    for (request, result) in zip(requests, together) {
      let tokens =
        engine.model.tokenize(request.prefix, addSpecial: true).count
        + engine.model.tokenize(request.suffix, addSpecial: false).count
      #expect(result.promptTokens == tokens)
      #expect((1...16).contains(result.outputTokens))
      #expect(!result.text.isEmpty)
      #expect(result.cachedTokens == 0)
    }
    #expect(Set(together.map(\.text)).count > 1, "different suffixes gave one text: sequences are mixed up")
    #expect(engine.counters.stepTokens > engine.counters.steps, "no decode step batched two sequences")

    // One at a time on a one-sequence engine with padded steps: the same
    // tokens. The prompts are longer than 512 tokens, where ggml's flash
    // attention switches kernels for a lone sequence in an unpadded step.
    var one = Self.options(parallel: 1, swaFull: false)
    one.batchInvariant = true
    let single = try LlamaEngine(modelPath: path, options: one)
    var sequential: [GenerationResult] = []
    for request in requests { sequential.append(try await single.generate(request)) }
    #expect(together == sequential, "batched decoding changed a greedy continuation")
  }

  @Test func checkpointsRestoreExactlyWithParallelSequences() async throws {
    let path = try Base.modelPath()
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let requests = Array(Self.requests().prefix(3))
    let prefixTokens = try LlamaModel(path: path, vocabOnly: true).tokenize(Base.prefix, addSpecial: true).count

    // Three requests on three sequences with one store: the first prefilled
    // saves the prefix, the other two restore it (into sequences other than 0).
    let store = CheckpointStore(directory: dir.url)
    let saving = try LlamaEngine(modelPath: path, options: Self.options(parallel: 3), checkpoints: store)
    let first = try await Self.together(saving, requests)
    #expect(store.list().map(\.tokens) == [prefixTokens])
    #expect(first.map(\.cachedTokens).sorted() == [0, prefixTokens, prefixTokens])

    // A new engine restores all three from disk: the one that was prefilled
    // fresh above now continues from a restored state, identically.
    let restoring = try LlamaEngine(modelPath: path, options: Self.options(parallel: 3), checkpoints: store)
    let again = try await Self.together(restoring, requests)
    #expect(again.map(\.cachedTokens) == [prefixTokens, prefixTokens, prefixTokens])
    #expect(again.map(\.text) == first.map(\.text))
    #expect(again.map(\.outputTokens) == first.map(\.outputTokens))
    #expect(!first[0].text.isEmpty)

    let single = try LlamaEngine(modelPath: path, options: Self.options(parallel: 1))
    #expect(saving.checkpointIdentity == single.checkpointIdentity, "the sequence count must not change the identity")
  }

  @Test func tooLongRequestIsRefused() async throws {
    let path = try Base.modelPath()
    let engine = try LlamaEngine(modelPath: path, options: Self.options(parallel: 2))
    let tooLong = GenerationRequest(prefix: String(repeating: Base.prefix, count: 2), suffix: "", maxTokens: 16)
    await #expect(throws: EngineError.self) { try await engine.generate(tooLong) }
  }
}
