import Foundation
import Inference
import Ingest
import Storage
import Synchronization
import Testing
import _LongctxTestSupport

@testable import Segmenter

/// An embedder built for tests: a text's vector counts the concepts its words belong to, so a
/// paraphrase ("barred from signing in") lands near its statement ("locked out after failed
/// logins") with no word in common. It counts the texts it embeds.
final class ConceptEmbedder: TextEmbedder, Sendable {
  static let concepts: [[String]] = [
    ["locked", "barred", "signing", "login", "logins", "password", "account", "sign"],
    ["disk", "storage", "full", "space", "volume"],
    ["hot", "temperature", "heat", "coolant", "fans"],
  ]
  let modelID = "concepts-test"
  var dimensions: Int { Self.concepts.count + 1 }
  private let counted = Mutex(0)
  var embeddedTexts: Int { counted.withLock { $0 } }

  func embed(_ texts: [String]) throws -> [[Float]] {
    counted.withLock { $0 += texts.count }
    return texts.map { text in
      var v = [Float](repeating: 0, count: dimensions)
      v[Self.concepts.count] = 0.2  // every text is a little alike
      for word in text.lowercased().split(whereSeparator: { !$0.isLetter }) {
        for (c, words) in Self.concepts.enumerated() where words.contains(String(word)) { v[c] += 1 }
      }
      let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
      return v.map { $0 / norm }
    }
  }
}

@Suite struct SemanticPriorityTests {
  /// A log of 40 hours, one event per 10 minutes, with one line in hour 23 that matters.
  static func documents() -> [PlanDocument] {
    var sections: [Section] = []
    let start = 1_780_000_000.0
    for i in 0..<240 {
      let t = start + Double(i) * 600
      var text = "\(Scorer.isoTime(t)) INFO scheduler: job \(i % 7) finished in \(i % 13) ms queue=\(i % 5)"
      if i == 140 { text = "\(Scorer.isoTime(t)) INFO auth: account jdoe locked after 5 failed logins" }
      var section = Section(locator: Locator(path: "app.log", lineStart: i + 1, lineEnd: i + 1), text: text)
      section.firstTimestamp = t
      sections.append(section)
    }
    return [PlanDocument(documentHash: "h1", displayPath: "app.log", kind: .log, sections: sections)]
  }

  static let paraphrase = "Who was barred from signing in?"

  func kept(_ plan: Plan) -> Bool {
    plan.windows.contains { $0.chunks.contains { $0.text.contains("jdoe locked") } }
  }

  @Test func aParaphraseFindsTheLineOnlyWithSemanticRelevance() throws {
    let embedder = ConceptEmbedder()
    var planner = Planner(counter: EstimatedTokenCounter())
    planner.embedder = { .ready(embedder) }
    var options = PlanOptions(collapseRepeats: false, question: Self.paraphrase, maxWindows: 1, logWindow: 3600)
    let docs = Self.documents()

    let semantic = try planner.plan(docs, budget: 400, options: options)
    #expect(kept(semantic))
    #expect(semantic.relevance == "BM25 + semantic, rrf, semantic weight 0.85 (concepts-test)")
    // The reason names the similarity on left-out chunks.
    #expect(semantic.leftOut.contains { $0.reason.contains("semantic 0.10 to the question") })

    options.semanticBlend = .weighted
    #expect(kept(try planner.plan(docs, budget: 400, options: options)))

    options.semantic = false
    let bm25 = try planner.plan(docs, budget: 400, options: options)
    #expect(!kept(bm25))
    #expect(bm25.relevance == "BM25 (semantic relevance off: plan.semantic is false)")

    // Without the model: BM25, and the plan says why.
    options.semantic = true
    planner.embedder = { .missing("no embedding model at /nowhere.gguf") }
    let fallback = try planner.plan(docs, budget: 400, options: options)
    #expect(!kept(fallback))
    #expect(fallback.relevance == "BM25 only: no embedding model at /nowhere.gguf")
    #expect(fallback.windows == bm25.windows)

    // Nothing ranked (no max_windows): no embedding at all.
    let before = embedder.embeddedTexts
    planner.embedder = { .ready(embedder) }
    let whole = try planner.plan(
      docs, budget: 400, options: PlanOptions(collapseRepeats: false, question: Self.paraphrase))
    #expect(whole.relevance == nil)
    #expect(embedder.embeddedTexts == before)
  }

  @Test func theOwnWordsStayFoundWithTheBlend() throws {
    var planner = Planner(counter: EstimatedTokenCounter())
    planner.embedder = { .ready(ConceptEmbedder()) }
    let options = PlanOptions(
      collapseRepeats: false, question: "Which account was locked after failed logins?", maxWindows: 1)
    #expect(kept(try planner.plan(Self.documents(), budget: 400, options: options)))
  }

  @Test func embeddingsAreCachedInTheWorkspace() throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"), schemas: [SegmenterSchema.self])
    let embedder = ConceptEmbedder()
    var planner = Planner(tokens: TokenCache(workspace: ws, counter: EstimatedTokenCounter()))
    planner.embedder = { .ready(embedder) }
    let options = PlanOptions(collapseRepeats: false, question: Self.paraphrase, maxWindows: 1)
    _ = try planner.plan(Self.documents(), budget: 400, options: options)
    let first = embedder.embeddedTexts
    let rows = try ws.db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM text_embedding") ?? 0 }
    #expect(rows == first - 1)  // every piece once; the question is not kept
    #expect(rows > 10)
    let again = try planner.plan(Self.documents(), budget: 400, options: options)
    #expect(embedder.embeddedTexts == first + 1)  // only the question
    #expect(kept(again))
    // Stored as Float16: the cached vectors round-trip within 0.001.
    let v: [Float] = [0.5, -0.25, 0.123456, 1]
    let back = EmbeddingCache.decode(EmbeddingCache.encode(v))
    #expect(zip(v, back).allSatisfy { abs($0 - $1) < 0.001 })
  }

  @Test func piecesAreWholeLinesUnderTheLimitWithoutTheHeader() {
    let text = "[app.log#L1-4]\naaaa aaaa\nbbbb\ncccc cccc cccc\n" + String(repeating: "é", count: 30)
    let pieces = SemanticRelevance.pieces(text, maxBytes: 20)
    #expect(
      pieces == [
        "aaaa aaaa\nbbbb", "cccc cccc cccc", String(repeating: "é", count: 10), String(repeating: "é", count: 10),
        String(repeating: "é", count: 10),
      ])
    #expect(SemanticRelevance.pieces("[x]", maxBytes: 20) == [""])
  }

  @Test func blendsRankAndScale() {
    let bm25 = [0, 4, 2, 0.0]
    let cosine = [0.9, 0.1, 0.3, 0.2]
    let rrf = SemanticBlend.rrf.relevance(bm25: bm25, cosine: cosine, weight: 0.5)
    // Chunk 0: semantic rank 1 only → 10 × (1/11) / (2/11) = 5.
    #expect(abs(rrf[0] - 5) < 1e-9)
    // Chunk 1: BM25 rank 1, semantic rank 4 → 10 × (1/11 + 1/14) / (2/11).
    #expect(abs(rrf[1] - 10 * (1.0 / 11 + 1.0 / 14) / (2.0 / 11)) < 1e-9)
    let weighted = SemanticBlend.weighted.relevance(bm25: bm25, cosine: cosine, weight: 0.5)
    // Median cosine 0.3 (of 0.1, 0.2, 0.3, 0.9), best 0.9.
    #expect(abs(weighted[0] - 5) < 1e-9)
    #expect(abs(weighted[1] - 5) < 1e-9)
    #expect(abs(weighted[2] - 2.5) < 1e-9)
    #expect(SemanticBlend.semanticOnly.relevance(bm25: bm25, cosine: cosine) == [10, 0, 0, 0])
  }

  @Test func semanticWeightSharesTheBlend() {
    let bm25 = [0, 4, 2, 0.0]
    let cosine = [0.9, 0.1, 0.3, 0.2]
    // Semantic weight 0.8: the best by meaning gets 8 of 10, the best by words 2.
    let weighted = SemanticBlend.weighted.relevance(bm25: bm25, cosine: cosine, weight: 0.8)
    #expect(abs(weighted[0] - 8) < 1e-9)
    #expect(abs(weighted[1] - 2) < 1e-9)
    #expect(abs(weighted[2] - 1) < 1e-9)
    let rrf = SemanticBlend.rrf.relevance(bm25: bm25, cosine: cosine, weight: 0.8)
    // Chunk 0: semantic rank 1 only → 10 × 0.8 × (1/11) / (1/11) = 8.
    #expect(abs(rrf[0] - 8) < 1e-9)
    // Chunk 1: BM25 rank 1, semantic rank 4 → 10 × (0.2/11 + 0.8/14) / (1/11).
    #expect(abs(rrf[1] - 10 * (0.2 / 11 + 0.8 / 14) / (1.0 / 11)) < 1e-9)
    // Weights outside 0–1 are clamped.
    #expect(SemanticBlend.weighted.relevance(bm25: bm25, cosine: cosine, weight: 2) == [10, 0, 0, 0])
  }
}
