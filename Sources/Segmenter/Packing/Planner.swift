import Foundation
import Ingest
import Workspace

/// Cuts documents into chunks along their structure and packs the chunks
/// into windows of at most `budget` tokens, in source order.
public struct Planner: Sendable {
  let corpus: Corpus
  let tokens: TokenCache
  let counter: any TokenCounter

  /// Tokens reserved between two chunks of a window ("\n\n" and a possible
  /// merge at the seam), so that a window's real count never exceeds the sum.
  public static let seamTokens = 2

  public init(workspace: Workspace, counter: any TokenCounter) {
    corpus = Corpus(workspace: workspace)
    tokens = TokenCache(workspace: workspace, counter: counter)
    self.counter = counter
  }

  /// Plans `files` into windows of at most `budget` tokens.
  ///
  /// - Parameters:
  ///   - files: The documents in source order.
  ///   - budget: The most tokens one window may hold.
  /// - Returns: A deterministic plan.
  /// - Throws: `SegmenterError.budgetTooSmall` when a single line cannot fit.
  public func plan(files: [IngestedFile], budget: Int, options: PlanOptions = PlanOptions()) throws -> Plan {
    guard budget > 16 else { throw SegmenterError.budgetTooSmall(budget: budget) }
    var chunks: [Chunk] = []
    var collapsedLines = 0
    let templates = LogTemplates()
    for file in files {
      let isLog = try options.collapseRepeats && corpus.kind(ofDocument: file.documentHash) == .log
      var seen: [String: Int] = [:]
      var sections = try corpus.sections(ofDocument: file.documentHash, displayPath: file.displayPath)
      if let first = options.startLines[file.displayPath] { sections = Self.sections(sections, from: first) }
      for section in sections {
        var text = section.text
        if isLog, let first = section.locator.lineStart {
          let lines = section.text.split(separator: "\n", omittingEmptySubsequences: false)
          let result = templates.collapse(lines, firstLine: first, seen: &seen)
          text = result.text
          collapsedLines += result.collapsed
        }
        chunks.append(
          Chunk(
            documentHash: file.documentHash, locator: section.locator,
            text: Self.render(section.locator, text), tokens: 0, severity: section.severity))
      }
    }
    var leftOut: [Plan.LeftOut] = []
    chunks = try count(chunks)
    chunks = try chunks.flatMap { try split($0, budget: budget, leftOut: &leftOut) }
    let scores = Scorer(question: options.question).score(chunks)
    for i in chunks.indices {
      chunks[i].score = scores[i].0
      chunks[i].reasons = scores[i].1
    }
    if let maxWindows = options.maxWindows {
      chunks = keepByPriority(chunks, capacity: maxWindows * budget * 9 / 10, leftOut: &leftOut)
    }

    var windows: [Window] = []
    var current: [Chunk] = []
    var used = 0
    for chunk in chunks {
      let cost = chunk.tokens + (current.isEmpty ? 0 : Self.seamTokens)
      let otherDocument = options.windowPerDocument && current.last.map { $0.locator.path != chunk.locator.path } == true
      if !current.isEmpty && (used + cost > budget || otherDocument) {
        windows.append(Window(ordinal: windows.count, chunks: current, tokens: used))
        current = []
        used = 0
      }
      used += chunk.tokens + (current.isEmpty ? 0 : Self.seamTokens)
      current.append(chunk)
    }
    if !current.isEmpty { windows.append(Window(ordinal: windows.count, chunks: current, tokens: used)) }

    let id = Hashing.sha256(
      parts: [String(budget), counter.vocabularyID] + (options.windowPerDocument ? ["per-document"] : []) + windows.flatMap { w in w.chunks.map { "\($0.locator)|\($0.tokens)|\(Hashing.sha256($0.text))" } + ["|"] })
    return Plan(
      id: id, budget: budget, vocabulary: counter.vocabularyID, exactTokens: counter.isExact,
      windows: windows, leftOut: leftOut, collapsedLines: collapsedLines)
  }

  /// Keeps the highest-scoring chunks that fit `capacity` tokens, in source order;
  /// the rest are left out with their score and the cut-off.
  private func keepByPriority(_ chunks: [Chunk], capacity: Int, leftOut: inout [Plan.LeftOut]) -> [Chunk] {
    let total = chunks.reduce(0) { $0 + $1.tokens + Self.seamTokens }
    guard total > capacity else { return chunks }
    // Stable: equal scores keep earlier chunks first.
    let ranked = chunks.indices.sorted { (chunks[$0].score ?? 0, -$0) > (chunks[$1].score ?? 0, -$1) }
    var used = 0
    var keep = Set<Int>()
    var cutoff = Double.infinity
    for i in ranked {
      let cost = chunks[i].tokens + Self.seamTokens
      if used + cost <= capacity {
        used += cost
        keep.insert(i)
        cutoff = min(cutoff, chunks[i].score ?? 0)
      }
    }
    for i in chunks.indices where !keep.contains(i) {
      let why = (chunks[i].reasons ?? []).joined(separator: "; ")
      leftOut.append(.init(
        locator: chunks[i].locator,
        reason: String(format: "priority %.2f below the cut-off %.2f of max_windows%@", chunks[i].score ?? 0, cutoff,
                       why.isEmpty ? "" : " (\(why))")))
    }
    return chunks.indices.filter { keep.contains($0) }.map { chunks[$0] }
  }

  /// The part of `sections` from line `first` on: sections ending before it are
  /// dropped, and one that straddles it keeps only its lines from `first`.
  /// A section whose text does not map line for line onto its range (a
  /// multi-line redaction) is kept whole rather than cut at a wrong line.
  static func sections(_ sections: [Section], from first: Int) -> [Section] {
    sections.compactMap { section in
      guard let start = section.locator.lineStart, let end = section.locator.lineEnd else { return section }
      if end < first { return nil }
      if start >= first { return section }
      let lines = section.text.split(separator: "\n", omittingEmptySubsequences: false)
      guard lines.count == end - start + 1 else { return section }
      var cut = section
      cut.locator.lineStart = first
      cut.text = lines[(first - start)...].joined(separator: "\n")
      return cut
    }
  }

  /// A chunk's text in a window: a header naming its locator, then its text.
  public static func render(_ locator: Locator, _ text: String) -> String {
    "[\(locator)]\n\(text)"
  }

  private func count(_ chunks: [Chunk]) throws -> [Chunk] {
    let counts = try tokens.counts(for: chunks.map(\.text)).counts
    var out = chunks
    for i in out.indices { out[i].tokens = counts[i] }
    return out
  }

  /// Splits a chunk over the budget at line boundaries, halving until each part fits.
  private func split(_ chunk: Chunk, budget: Int, leftOut: inout [Plan.LeftOut]) throws -> [Chunk] {
    if chunk.tokens <= budget { return [chunk] }
    let body = chunk.text.split(separator: "\n", omittingEmptySubsequences: false).dropFirst()
    let lines = Array(body)
    // Collapsed log text no longer maps line-for-line onto the file: keep the
    // parent's (covering) locator for the halves.
    let exactLines = chunk.locator.lineStart.map { chunk.locator.lineEnd! - $0 + 1 == lines.count } ?? false
    guard lines.count > 1 else {
      leftOut.append(.init(locator: chunk.locator, reason: "a single line of \(chunk.tokens) tokens exceeds the budget of \(budget)"))
      return []
    }
    let mid = lines.count / 2
    var parts: [Chunk] = []
    for (range, lineSlice) in [(0..<mid, lines[0..<mid]), (mid..<lines.count, lines[mid..<lines.count])] {
      var locator = chunk.locator
      if exactLines, let start = chunk.locator.lineStart {
        locator.lineStart = start + range.lowerBound
        locator.lineEnd = start + range.upperBound - 1
      }
      var part = chunk
      part.locator = locator
      part.text = Self.render(locator, lineSlice.joined(separator: "\n"))
      parts.append(part)
    }
    return try count(parts).flatMap { try split($0, budget: budget, leftOut: &leftOut) }
  }
}

/// Choices that shape a plan besides the budget.
public struct PlanOptions: Sendable, Hashable {
  /// Collapse repeated log lines (same Drain-style template) beyond a few occurrences.
  public var collapseRepeats: Bool
  /// The job's question, for relevance scores.
  public var question: String?
  /// Keep only the highest-priority chunks that fill this many windows.
  public var maxWindows: Int?
  /// Per display path, the first line to plan; earlier lines are left out
  /// (incremental runs plan only what is new). Paths not listed are planned whole.
  public var startLines: [String: Int] = [:]
  /// Never put two documents in one window (per-document map tasks).
  public var windowPerDocument = false

  public init(
    collapseRepeats: Bool = true, question: String? = nil, maxWindows: Int? = nil, windowPerDocument: Bool = false
  ) {
    self.collapseRepeats = collapseRepeats
    self.question = question
    self.maxWindows = maxWindows
    self.windowPerDocument = windowPerDocument
  }
}

/// Errors of planning.
public enum SegmenterError: Error, LocalizedError, Equatable {
  case budgetTooSmall(budget: Int)
  case vocabularyUnavailable(String)

  public var errorDescription: String? {
    switch self {
    case .budgetTooSmall(let budget):
      "A window budget of \(budget) tokens is too small; raise the context or lower the reserved output tokens."
    case .vocabularyUnavailable(let what): "No vocabulary for \(what); name a model or a vocabulary family."
    }
  }
}
