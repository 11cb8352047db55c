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
  public func plan(files: [IngestedFile], budget: Int) throws -> Plan {
    guard budget > 16 else { throw SegmenterError.budgetTooSmall(budget: budget) }
    var chunks: [Chunk] = []
    for file in files {
      for section in try corpus.sections(ofDocument: file.documentHash, displayPath: file.displayPath) {
        chunks.append(
          Chunk(
            documentHash: file.documentHash, locator: section.locator,
            text: Self.render(section.locator, section.text), tokens: 0, severity: section.severity))
      }
    }
    var leftOut: [Plan.LeftOut] = []
    chunks = try count(chunks)
    chunks = try chunks.flatMap { try split($0, budget: budget, leftOut: &leftOut) }

    var windows: [Window] = []
    var current: [Chunk] = []
    var used = 0
    for chunk in chunks {
      let cost = chunk.tokens + (current.isEmpty ? 0 : Self.seamTokens)
      if !current.isEmpty && used + cost > budget {
        windows.append(Window(ordinal: windows.count, chunks: current, tokens: used))
        current = []
        used = 0
      }
      used += chunk.tokens + (current.isEmpty ? 0 : Self.seamTokens)
      current.append(chunk)
    }
    if !current.isEmpty { windows.append(Window(ordinal: windows.count, chunks: current, tokens: used)) }

    let id = Hashing.sha256(
      parts: [String(budget), counter.vocabularyID] + windows.flatMap { w in w.chunks.map { "\($0.locator)|\($0.tokens)|\(Hashing.sha256($0.text))" } + ["|"] })
    return Plan(
      id: id, budget: budget, vocabulary: counter.vocabularyID, exactTokens: counter.isExact,
      windows: windows, leftOut: leftOut)
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
    guard lines.count > 1 else {
      leftOut.append(.init(locator: chunk.locator, reason: "a single line of \(chunk.tokens) tokens exceeds the budget of \(budget)"))
      return []
    }
    let mid = lines.count / 2
    var parts: [Chunk] = []
    for (range, lineSlice) in [(0..<mid, lines[0..<mid]), (mid..<lines.count, lines[mid..<lines.count])] {
      var locator = chunk.locator
      if let start = chunk.locator.lineStart {
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
