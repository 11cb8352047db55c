import Foundation
import Inference
import Pipeline
import Segmenter
import Testing
import _LongctxTestSupport

@testable import LlamaBackend

/// KV checkpoints with the real default model (Gemma 3 270M, SWA window 512).
///
/// These tests need `LONGCTX_MODEL` (run `eval "$(bash scripts/setup.sh --env)"`);
/// without it they fail, because a skipped exactness test proves nothing.
@Suite(.serialized) struct LlamaEngineCheckpointTests {
  static func modelPath() throws -> String {
    guard let path = ProcessInfo.processInfo.environment["LONGCTX_MODEL"], !path.isEmpty else {
      throw TestFailure(
        "LONGCTX_MODEL is not set: run `eval \"$(bash scripts/setup.sh --env)\"` before `swift test`.")
    }
    guard FileManager.default.isReadableFile(atPath: path) else {
      throw TestFailure("LONGCTX_MODEL points to \(path), which does not exist: run scripts/setup.sh.")
    }
    return path
  }

  /// 678 tokens of text that does not repeat, so attention past the
  /// 512-token window matters.
  static let prefix: String =
    (1...24).map { i in
      "Record \(i): the shipment of \(i * 37 % 101) crates left dock \(i % 7) on day \(i * 3) with \(i * i % 53) damaged items."
    }.joined(separator: "\n") + "\n"

  static func request(_ suffix: String) -> GenerationRequest {
    GenerationRequest(prefix: prefix, suffix: suffix, maxTokens: 24, temperature: 0)
  }

  static func options(swaFull: Bool, type: KVCacheType = .f16) -> LlamaEngineOptions {
    LlamaEngineOptions(contextTokens: 2048, kvCacheType: type, swaFull: swaFull)
  }

  @Test(arguments: [(true, KVCacheType.f16), (false, .f16), (true, .q8_0)])
  func restoredPrefixContinuesExactly(swaFull: Bool, type: KVCacheType) async throws {
    let path = try Self.modelPath()
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let fresh = try LlamaEngine(modelPath: path, options: Self.options(swaFull: swaFull, type: type))
    let prefixTokens = fresh.model.tokenize(Self.prefix, addSpecial: true).count
    #expect(prefixTokens > 600, "the prefix must be longer than the 512-token SWA window")

    let expectedA = try await fresh.generate(Self.request("Question: which dock had the most damage?\nAnswer:"))
    let expectedB = try await fresh.generate(Self.request("Summary of record 20:"))
    #expect(expectedA.cachedTokens == 0)

    let store = CheckpointStore(directory: dir.url)
    let saving = try LlamaEngine(
      modelPath: path, options: Self.options(swaFull: swaFull, type: type), checkpoints: store)
    let first = try await saving.generate(Self.request("Question: which dock had the most damage?\nAnswer:"))
    #expect(first.cachedTokens == 0)
    #expect(first.text == expectedA.text)
    #expect(store.list().map(\.tokens) == [prefixTokens])

    // A new context restores from disk.
    let restoring = try LlamaEngine(
      modelPath: path, options: Self.options(swaFull: swaFull, type: type), checkpoints: store)
    let again = try await restoring.generate(Self.request("Question: which dock had the most damage?\nAnswer:"))
    #expect(again.cachedTokens == prefixTokens)
    #expect(again.text == expectedA.text)
    #expect(again.outputTokens == expectedA.outputTokens)
    let other = try await restoring.generate(Self.request("Summary of record 20:"))
    #expect(other.cachedTokens == prefixTokens)
    // A suffix other than the one decoded when the checkpoint was saved.
    #expect(other.text == expectedB.text)
    #expect(!expectedA.text.isEmpty)
  }

  /// Records 1…n, one a line: each prefix's tokens start with the shorter ones'.
  static func records(_ n: Int) -> String {
    (1...n).map { i in
      "Record \(i): the shipment of \(i * 37 % 101) crates left dock \(i % 7) on day \(i * 3) with \(i * i % 53) damaged items."
    }.joined(separator: "\n") + "\n"
  }

  /// A chain of growing prefixes saved as prefix-delta checkpoints (each
  /// prefill restores the previous prefix and decodes the rest), restored
  /// from their chunks by a new context: every continuation is the one the
  /// saving context produced (the restored state is the saved one, byte for
  /// byte). A prefix decoded in two parts is not rounded like one decoded at
  /// once (format 2 shows the same), so only the first link, which restores
  /// nothing, is compared with a fresh prefill.
  @Test(arguments: [(KVCacheType.f16, false), (.q8_0, true)])
  func chainOfGrowingPrefixesRestoresExactly(type: KVCacheType, staged: Bool) async throws {
    let path = try Self.modelPath()
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let options = LlamaEngineOptions(
      contextTokens: 2048, kvCacheType: type, swaFull: true, inMemoryStateBytes: staged ? 0 : 256 << 20)
    let question = "Question: which dock had the most damage?\nAnswer:"
    let requests = [12, 24, 36].map { GenerationRequest(prefix: Self.records($0), suffix: question, maxTokens: 24) }
    let fresh = try LlamaEngine(modelPath: path, options: options)
    var expected: [GenerationResult] = []
    for r in requests { expected.append(try await fresh.generate(r)) }
    let counts = requests.map { fresh.model.tokenize($0.prefix, addSpecial: true).count }
    #expect(counts[0] > 256 && counts[2] > 1000)

    let store = CheckpointStore(directory: dir.url, formatVersion: 3, chunkTokens: 128)
    let saving = try LlamaEngine(modelPath: path, options: options, checkpoints: store)
    var saved: [GenerationResult] = []
    for (i, r) in requests.enumerated() {
      let result = try await saving.generate(r)
      #expect(result.cachedTokens == (i == 0 ? 0 : counts[i - 1]), "each prefix extends the one before")
      saved.append(result)
    }
    #expect(saved[0].text == expected[0].text)
    #expect(store.list().count == 3)
    for entry in store.list() { #expect(store.isDelta(entry)) }
    // Every full-attention cell once: the chunks' tokens add up to the longest prefix
    // (the first link, shorter than the 512-token window, included).
    #expect(counts[0] < 512)
    #expect(store.chunkSizes(model: saving.checkpointIdentity).reduce(0) { $0 + $1.tokens } == counts[2])

    let restoring = try LlamaEngine(modelPath: path, options: options, checkpoints: store)
    for (i, r) in requests.enumerated().reversed() {
      let again = try await restoring.generate(r)
      #expect(again.cachedTokens == counts[i])
      #expect(again.text == saved[i].text, "link \(i)")
      #expect(again.outputTokens == saved[i].outputTokens)
    }
    #expect(!expected[2].text.isEmpty)
  }

  @Test(arguments: ["flip", "truncate"])
  func corruptCheckpointIsRecomputed(damage: String) async throws {
    let path = try Self.modelPath()
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let store = CheckpointStore(directory: dir.url)
    let engine = try LlamaEngine(modelPath: path, options: Self.options(swaFull: true), checkpoints: store)
    let request = Self.request("Question: which dock had the most damage?\nAnswer:")
    let expected = try await engine.generate(request)
    let entry = try #require(store.list().first)

    var bytes = try Data(contentsOf: URL(fileURLWithPath: entry.path))
    if damage == "flip" { bytes[bytes.count * 2 / 3] ^= 0x10 } else { bytes = bytes.prefix(bytes.count - 1000) }
    try bytes.write(to: URL(fileURLWithPath: entry.path))

    let result = try await engine.generate(request)
    #expect(result.cachedTokens == 0, "a damaged checkpoint must not be restored")
    #expect(result.text == expected.text)
    // The damaged file was replaced by a good one, which the next request uses.
    #expect(store.verify().removed.isEmpty)
    let third = try await engine.generate(request)
    #expect(third.cachedTokens == entry.tokens)
    #expect(third.text == expected.text)
  }

  @Test func wholePromptCheckpointIsTrimmedByOneToken() async throws {
    let path = try Self.modelPath()
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let store = CheckpointStore(directory: dir.url)
    let engine = try LlamaEngine(modelPath: path, options: Self.options(swaFull: true), checkpoints: store)
    let request = Self.request("")
    let expected = try await engine.generate(request)
    let again = try await engine.generate(request)
    #expect(again.cachedTokens == again.promptTokens - 1)
    #expect(again.text == expected.text)
  }

  @Test func identityNamesWhatMakesStateIncompatible() throws {
    let path = try Self.modelPath()
    let engine = try LlamaEngine(modelPath: path, options: Self.options(swaFull: true, type: .q8_0))
    let id = engine.checkpointIdentity
    for part in ["gguf-sha256:", "ggml=", "/lib:", "n_ctx=2048", "type_k=q8_0", "type_v=q8_0", "swa_full=true"] {
      #expect(id.contains(part), "\(part) missing from \(id)")
    }
    #expect(!id.contains("lib:unknown"), "libllama was not found in /proc/self/maps: \(id)")
  }
}

/// A failure with a message, for preconditions a test cannot work without.
struct TestFailure: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}
