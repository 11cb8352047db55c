import Foundation
import Inference
import Storage
import Synchronization

/// Semantic relevance of chunks to the job's question: the cosine similarity of their
/// embeddings, blended with BM25 (see `SemanticBlend`).
///
/// A chunk is read as pieces of a few lines (`pieces`), each embedded once and cached in the
/// workspace (`EmbeddingCache`); its similarity is that of its nearest piece, so one line in a
/// long log hour still counts (a mean over the hour would drown it).
public struct SemanticRelevance: Sendable {
  let cache: EmbeddingCache
  /// The most UTF-8 bytes of one piece (about the 256 tokens the model reads of log text).
  public var pieceBytes: Int

  /// Bytes per piece unless a caller says otherwise.
  public static let defaultPieceBytes = 512

  public init(workspace: Workspace?, embedder: any TextEmbedder, pieceBytes: Int = defaultPieceBytes) {
    cache = EmbeddingCache(workspace: workspace, embedder: embedder)
    self.pieceBytes = pieceBytes
  }

  /// The embedding model's name, as the plan states it.
  public var modelID: String { cache.embedder.modelID }

  /// The pieces a chunk is read as: its text without the locator header, in runs of whole
  /// lines of at most `maxBytes` (a longer line is cut at a character boundary).
  public static func pieces(_ chunkText: String, maxBytes: Int) -> [String] {
    var pieces: [String] = []
    var current = ""
    for line in chunkText.split(separator: "\n", omittingEmptySubsequences: true).dropFirst() {
      var line = Substring(line)
      while line.utf8.count > maxBytes {
        if !current.isEmpty {
          pieces.append(current)
          current = ""
        }
        var end = line.utf8.index(line.startIndex, offsetBy: maxBytes)
        while end > line.startIndex && !line.unicodeScalars.indices.contains(end) {
          end = line.utf8.index(before: end)
        }
        pieces.append(String(line[..<end]))
        line = line[end...]
      }
      if !current.isEmpty && current.utf8.count + 1 + line.utf8.count > maxBytes {
        pieces.append(current)
        current = ""
      }
      current += current.isEmpty ? String(line) : "\n" + line
    }
    if !current.isEmpty || pieces.isEmpty { pieces.append(current) }
    return pieces
  }

  /// Cosine similarity of each chunk (its nearest piece) to `question`.
  ///
  /// - Returns: One value per chunk in [-1, 1], and how many pieces were embedded anew.
  /// - Throws: The embedder's errors.
  func similarities(question: String, chunks: [Chunk]) throws -> (values: [Double], embedded: Int) {
    let pieces = chunks.map { Self.pieces($0.text, maxBytes: pieceBytes) }
    let flat = pieces.flatMap { $0 }
    let (vectors, cached) = try cache.embeddings(for: flat)
    let query = try cache.embedder.embed([question])[0]
    var values: [Double] = []
    var next = 0
    for list in pieces {
      var best = -1.0
      for v in vectors[next..<(next + list.count)] {
        best = max(best, Double(zip(v, query).reduce(Float(0)) { $0 + $1.0 * $1.1 }))
      }
      next += list.count
      values.append(best)
    }
    return (values, flat.count - cached)
  }
}

/// How BM25 and semantic similarity combine into one relevance value (0–10) when both are used.
public enum SemanticBlend: String, Sendable, Hashable, Codable, CaseIterable {
  /// Reciprocal-rank fusion: 10 × ((1 − w)/(k + BM25 rank) + w/(k + semantic rank)) / (1/(k + 1)),
  /// k = `rrfK`, w the semantic weight; a chunk no query word matches has no BM25 term.
  case rrf
  /// Weighted sum of the two, each scaled to 0–1 over the corpus: 10 × ((1 − w) × BM25 / best
  /// BM25 + w × the cosine's place between the median and the best cosine), w the semantic weight.
  case weighted
  /// Semantic similarity alone, scaled as in `weighted` (the benchmark's "embeddings alone").
  case semanticOnly = "semantic-only"

  /// RRF's rank constant: small, so that the first ranks stand out against severity and recency.
  public static let rrfK = 10.0

  /// The semantic side's share of the blend unless a plan says otherwise (`PlanOptions.semanticWeight`):
  /// chosen on the tuning needles (bench/needles/needles.json) as the weight of 0.5 / 0.7 / 0.85, in
  /// RRF or the weighted sum, that kept the most paraphrased needles over the haystacks and
  /// budgets while losing none that BM25 alone kept (BENCHMARKS.md, issue 34); the held-out
  /// needles were not used to choose it.
  public static let defaultSemanticWeight = 0.85

  /// The blended relevance of each chunk.
  ///
  /// - Parameters:
  ///   - bm25: BM25 scores (0 where no query word occurs).
  ///   - cosine: Cosine similarities to the question.
  ///   - weight: The semantic side's share, 0–1 (BM25 has the rest); `semanticOnly` ignores it.
  func relevance(bm25: [Double], cosine: [Double], weight: Double = defaultSemanticWeight) -> [Double] {
    let w = min(1, max(0, weight))
    let n = bm25.count
    guard n > 0 else { return [] }
    switch self {
    case .rrf:
      let k = Self.rrfK
      let bRank = Self.ranks(bm25, only: { $0 > 0 })
      let sRank = Self.ranks(cosine, only: { _ in true })
      return (0..<n).map { i in
        let b = bRank[i].map { 1 / (k + Double($0)) } ?? 0
        let s = sRank[i].map { 1 / (k + Double($0)) } ?? 0
        return 10 * ((1 - w) * b + w * s) / (1 / (k + 1))
      }
    case .weighted, .semanticOnly:
      let best = bm25.max() ?? 0
      let sorted = cosine.sorted()
      let median = sorted[sorted.count / 2]
      let top = sorted[sorted.count - 1]
      return (0..<n).map { i in
        let s = top > median ? max(0, (cosine[i] - median) / (top - median)) : 0
        if self == .semanticOnly { return 10 * s }
        let b = best > 0 ? bm25[i] / best : 0
        return 10 * ((1 - w) * b + w * s)
      }
    }
  }

  /// 1-based ranks by descending value (ties: earlier first) of the values `only` accepts.
  static func ranks(_ values: [Double], only: (Double) -> Bool) -> [Int?] {
    let order = values.indices.filter { only(values[$0]) }.sorted { (values[$0], -$0) > (values[$1], -$1) }
    var out = [Int?](repeating: nil, count: values.count)
    for (r, i) in order.enumerated() { out[i] = r + 1 }
    return out
  }
}

/// Where planning finds its embedding model: the executable installs a loader once
/// (`install`), the planner asks for it only when a plan needs it (`current`) and loads it once.
public enum Embedders {
  /// An embedding model, or why there is none (the plan falls back to BM25 and says so).
  public enum Availability: Sendable {
    case ready(any TextEmbedder)
    case missing(String)
  }

  private static let loader = Mutex<(@Sendable () -> Availability)?>(nil)
  private static let loaded = Mutex<Availability?>(nil)

  /// Sets how to load the embedding model (called once by the executable; tests may call it).
  public static func install(_ load: @escaping @Sendable () -> Availability) {
    loader.withLock { $0 = load }
    loaded.withLock { $0 = nil }
  }

  /// The embedding model, loaded on first use; `.missing` when none was installed or it failed.
  public static func current() -> Availability {
    if let done = loaded.withLock({ $0 }) { return done }
    let result = loader.withLock { $0 }?() ?? .missing("no embedding model is configured")
    loaded.withLock { $0 = result }
    return result
  }
}
