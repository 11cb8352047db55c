import Foundation
import LlamaBackend
import Testing
import _LongctxTestSupport

/// The embedding model set-up converts (scripts/minilm-to-gguf.py) run by llama.cpp gives the
/// embeddings all-MiniLM-L6-v2 gives in its own runtime: the reference in
/// Samples/embeddings/minilm-reference.json was computed once with sentence-transformers (torch,
/// CPU) from the same PyPI package.
@Suite struct LlamaEmbedderTests {
  /// `$LONGCTX_EMBED_MODEL`, else set-up's default path; nil when absent.
  static var modelPath: String? {
    let env = ProcessInfo.processInfo.environment
    let path =
      env["LONGCTX_EMBED_MODEL"].flatMap { $0.isEmpty ? nil : $0 }
      ?? ((env["LONGCTX_CACHE"] ?? NSHomeDirectory() + "/.cache/longctx") + "/models/all-MiniLM-L6-v2.f16.gguf")
    return FileManager.default.fileExists(atPath: path) ? path : nil
  }

  struct Reference: Decodable {
    struct Sentence: Decodable {
      var text: String
      var embedding: [Float]
    }
    var sentences: [Sentence]
  }

  static func reference() throws -> Reference {
    let url = RepositoryPaths.samples.appendingPathComponent("embeddings/minilm-reference.json")
    return try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
  }

  static func cosine(_ a: [Float], _ b: [Float]) -> Float {
    let dot = zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }
    let na = a.reduce(0) { $0 + $1 * $1 }.squareRoot()
    let nb = b.reduce(0) { $0 + $1 * $1 }.squareRoot()
    return dot / (na * nb)
  }

  @Test(.enabled(if: modelPath != nil, "no embedding model; run scripts/setup.sh"))
  func matchesTheReferenceRuntime() throws {
    let embedder = try LlamaEmbedder(path: try #require(Self.modelPath), threads: 2)
    #expect(embedder.dimensions == 384)
    #expect(embedder.modelID.hasPrefix("all-MiniLM-L6-v2:384d:"))
    let reference = try Self.reference()
    #expect(reference.sentences.count == 5)
    // All together (one llama_encode) and one at a time give the same vectors.
    let together = try embedder.embed(reference.sentences.map(\.text))
    for (sentence, vector) in zip(reference.sentences, together) {
      #expect(vector.count == 384)
      let cos = Self.cosine(sentence.embedding, vector)
      #expect(cos >= 0.999, "\(sentence.text): cosine \(cos)")
      let alone = try embedder.embed([sentence.text])[0]
      #expect(Self.cosine(alone, vector) >= 0.9999)
    }
    // The paraphrase pair is nearer than an unrelated pair, as in the reference (0.475 against 0.028).
    let pair = Self.cosine(together[0], together[1])
    #expect(pair > 0.45 && pair < 0.5)
    #expect(Self.cosine(together[0], together[2]) < 0.1)
  }

  @Test(.enabled(if: modelPath != nil, "no embedding model; run scripts/setup.sh"))
  func longTextsAreCutAndBatchesSplit() throws {
    let embedder = try LlamaEmbedder(path: try #require(Self.modelPath), batchTokens: 512, threads: 2)
    let long = String(repeating: "the disk on node seven filled up overnight. ", count: 200)
    let texts = [long] + (0..<100).map { "log line \($0): user \($0) signed in" } + [""]
    let vectors = try embedder.embed(texts)
    #expect(vectors.count == 102)
    #expect(vectors.allSatisfy { $0.count == 384 })
    // The long text is read as its head: the same as its first 256 tokens' worth.
    let head = try embedder.embed([String(repeating: "the disk on node seven filled up overnight. ", count: 40)])[0]
    #expect(Self.cosine(vectors[0], head) > 0.99)
    let single = try embedder.embed([texts[57]])[0]
    #expect(Self.cosine(single, vectors[57]) >= 0.9999)
  }
}
