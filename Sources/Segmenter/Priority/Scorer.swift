import Foundation

/// Scores chunks for priority, with the reasons: BM25 relevance to the job's
/// question, and log severity. Higher scores are kept first when a job caps
/// its windows.
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

  /// Scores every chunk; returns (score, reasons) in chunk order.
  public func score(_ chunks: [Chunk]) -> [(Double, [String])] {
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
    return chunks.indices.map { i in
      var reasons: [String] = []
      var s = 0.0
      if !query.isEmpty {
        var rel = 0.0
        for (t, f) in counts[i] {
          let idf = log(1 + (n - Double(docFreq[t]!) + 0.5) / (Double(docFreq[t]!) + 0.5))
          let tf = Double(f)
          rel += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * Double(lengths[i]) / avg))
        }
        if rel > 0 {
          reasons.append(String(format: "relevance %.2f (%@)", rel, counts[i].keys.sorted().prefix(4).joined(separator: ", ")))
        }
        s += rel
      }
      if let sev = chunks[i].severity, let w = Self.severityWeight[sev], w != 0 {
        reasons.append("severity \(sev)")
        s += w
      }
      return (s, reasons)
    }
  }

  static let stopWords: Set<String> = [
    "the", "and", "or", "of", "to", "in", "is", "are", "was", "were", "what", "which", "who", "how", "why", "when",
    "does", "do", "did", "a", "an", "on", "for", "with", "that", "this", "it", "be", "by", "as", "at", "from", "needs",
  ]
}
