import Foundation

/// Scores chunks for priority, with the reasons: BM25 relevance to the job's
/// question, log severity and recency, and code centrality (READMEs, entry
/// points, files others reference). Higher scores are kept first when a job
/// caps its windows.
public struct Scorer: Sendable {
  public var question: String?
  /// BM25 parameters.
  public var k1 = 1.2
  public var b = 0.75

  public init(question: String?) { self.question = question }

  static let severityWeight: [String: Double] = [
    "PANIC": 3, "FATAL": 3, "CRITICAL": 2.5, "ERROR": 2, "WARN": 1, "NOTICE": 0.3, "INFO": 0, "DEBUG": -0.5,
    "TRACE": -0.5,
  ]

  /// Lowercased word tokens of `text` (letters and digits, length ≥ 2).
  static func terms(_ text: String) -> [Substring] {
    text.lowercased().split { !($0.isLetter || $0.isNumber) }.filter { $0.count >= 2 }
  }

  /// Weight of recency: the newest log event adds this much, the oldest nothing.
  public var recencyWeight = 1.0

  /// Scores every chunk; returns (score, reasons) in chunk order.
  ///
  /// - Parameters:
  ///   - centrality: Scores of source files by path (see `Centrality`).
  ///   - semantic: Each chunk's cosine similarity to the question and how it blends with BM25;
  ///     nil: BM25 alone.
  func score(
    _ chunks: [Chunk], centrality: [String: Centrality.Score] = [:],
    semantic: (cosine: [Double], blend: SemanticBlend, weight: Double)? = nil
  ) -> [(Double, [String])] {
    let times = chunks.compactMap { $0.lastTimestamp ?? $0.firstTimestamp }
    let oldest = times.min() ?? 0
    let newest = times.max() ?? 0
    let query = Set(Self.terms(question ?? "").map(String.init)).subtracting(Self.stopWords)
    var docFreq: [String: Int] = [:]
    var lengths: [Int] = []
    var counts: [[String: Int]] = []
    for chunk in chunks {
      var tf: [String: Int] = [:]
      let words = Self.terms(chunk.text)
      lengths.append(words.count)
      if !query.isEmpty {
        for w in words where query.contains(String(w)) { tf[String(w), default: 0] += 1 }
        for t in tf.keys { docFreq[t, default: 0] += 1 }
      }
      counts.append(tf)
    }
    let n = Double(max(1, chunks.count))
    let avg = Double(max(1, lengths.reduce(0, +))) / n
    let bm25 = chunks.indices.map { i in
      counts[i].reduce(0.0) { rel, term in
        let (t, f) = term
        let idf = log(1 + (n - Double(docFreq[t]!) + 0.5) / (Double(docFreq[t]!) + 0.5))
        let tf = Double(f)
        return rel + idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * Double(lengths[i]) / avg))
      }
    }
    let blended = semantic.map { $0.blend.relevance(bm25: bm25, cosine: $0.cosine, weight: $0.weight) }
    return chunks.indices.map { i in
      var reasons: [String] = []
      var s = 0.0
      if !query.isEmpty {
        let rel = bm25[i]
        if rel > 0 {
          reasons.append(
            String(format: "relevance %.2f (%@)", rel, counts[i].keys.sorted().prefix(4).joined(separator: ", ")))
        }
        s += rel
      }
      if let semantic, let blended {
        // The blend replaces raw BM25 (its reason above stays, for the words that matched).
        s += blended[i] - (query.isEmpty ? 0 : bm25[i])
        reasons.append(String(format: "semantic %.2f to the question", semantic.cosine[i]))
      }
      if let sev = chunks[i].severity, let w = Self.severityWeight[sev], w != 0 {
        reasons.append("severity \(sev)")
        s += w
      }
      if newest > oldest, let t = chunks[i].lastTimestamp ?? chunks[i].firstTimestamp {
        let recency = recencyWeight * (t - oldest) / (newest - oldest)
        if recency >= 0.01 {
          reasons.append(String(format: "recency %.2f (%@)", recency, Self.isoTime(t)))
          s += recency
        }
      }
      if let c = centrality[chunks[i].locator.path] {
        reasons.append(contentsOf: c.reasons)
        s += c.value
      }
      return (s, reasons)
    }
  }

  /// `2026-11-20T10:04:00Z`.
  public static func isoTime(_ t: Double) -> String {
    var seconds = time_t(t.rounded(.down))
    var parts = tm()
    gmtime_r(&seconds, &parts)
    return String(
      format: "%04d-%02d-%02dT%02d:%02d:%02dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday, parts.tm_hour,
      parts.tm_min, parts.tm_sec)
  }

  static let stopWords: Set<String> = [
    "the", "and", "or", "of", "to", "in", "is", "are", "was", "were", "what", "which", "who", "how", "why", "when",
    "does", "do", "did", "a", "an", "on", "for", "with", "that", "this", "it", "be", "by", "as", "at", "from", "needs",
  ]
}
