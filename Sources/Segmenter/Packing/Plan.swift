import Foundation
import Ingest

/// A piece of a document with its locator and token count; what windows hold.
public struct Chunk: Codable, Hashable, Sendable {
  /// The document the chunk came from.
  public var documentHash: String
  /// Where the chunk came from.
  public var locator: Locator
  /// The chunk's text as it appears in a window: a locator header line, then the text.
  public var text: String
  /// Tokens of `text` in the plan's vocabulary.
  public var tokens: Int
  /// Log severity, where recognised.
  public var severity: String?
  /// Priority score (higher first when windows are capped).
  public var score: Double?
  /// Why the chunk scored as it did.
  public var reasons: [String]?
  /// Seconds since 1970 (UTC) of the chunk's first and last timestamped log event.
  public var firstTimestamp: Double?
  public var lastTimestamp: Double?
}

/// One context window: chunks in source order, within the budget.
public struct Window: Codable, Hashable, Sendable {
  public var ordinal: Int
  public var chunks: [Chunk]
  public var tokens: Int

  /// The window's text as given to the model.
  public var text: String { chunks.map(\.text).joined(separator: "\n\n") }
  /// The locators the window covers, in order.
  public var locators: [Locator] { chunks.map(\.locator) }
  /// The time its log events span, where they carry timestamps.
  public var timeRange: ClosedRange<Double>? {
    let first = chunks.compactMap(\.firstTimestamp).min()
    let last = chunks.compactMap { $0.lastTimestamp ?? $0.firstTimestamp }.max()
    guard let first, let last, first <= last else { return nil }
    return first...last
  }
}

/// A deterministic packing of a corpus into windows.
public struct Plan: Codable, Sendable {
  /// Hash of the budget, vocabulary and windows: the same inputs give the same id.
  public var id: String
  public var budget: Int
  public var vocabulary: String
  public var exactTokens: Bool
  public var windows: [Window]
  /// Chunks not placed in any window, with the reason.
  public var leftOut: [LeftOut]
  /// Log lines collapsed into "N more lines like …" notes.
  public var collapsedLines: Int = 0
  /// Chunks left out as exact or near duplicates of a representative chunk.
  public var duplicateChunks: Int? = nil
  /// What ranked chunks for `max_windows`: "BM25", "BM25 + semantic (model, blend)", or BM25
  /// with the reason semantic relevance was not used; nil when nothing was ranked.
  public var relevance: String? = nil

  public struct LeftOut: Codable, Hashable, Sendable {
    public var locator: Locator
    public var reason: String
  }

  public var totalTokens: Int { windows.reduce(0) { $0 + $1.tokens } }
  /// Mean of tokens / budget over all windows.
  public var meanFill: Double {
    windows.isEmpty ? 0 : windows.reduce(0.0) { $0 + Double($1.tokens) / Double(budget) } / Double(windows.count)
  }
}
