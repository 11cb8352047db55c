import Foundation

/// Counts tokens of text for one vocabulary.
public protocol TokenCounter: Sendable {
  /// Names the vocabulary; token counts are cached under it.
  var vocabularyID: String { get }
  /// Whether counts are exact (the model's own vocabulary) or estimated.
  var isExact: Bool { get }
  /// The number of tokens of `text`, without BOS/EOS.
  func count(_ text: String) throws -> Int
  /// The numbers of tokens of `texts`, each as `count` gives it. A counter whose
  /// per-call cost is high counts them together (`TokenCache` hands out batches).
  func counts(_ texts: [String]) throws -> [Int]
}

extension TokenCounter {
  public func counts(_ texts: [String]) throws -> [Int] { try texts.map(count) }
}

/// An upper-bound estimate for when no vocabulary is available: UTF-8 bytes
/// divided by 3, plus 10%, so that plans made with it stay within budget for
/// common BPE/SentencePiece vocabularies. Labelled `estimated` everywhere.
public struct EstimatedTokenCounter: TokenCounter {
  public init() {}
  public var vocabularyID: String { "estimated-bytes/3+10%" }
  public var isExact: Bool { false }
  public func count(_ text: String) throws -> Int { Self.estimate(bytes: text.utf8.count) }

  /// The estimate for a text of `bytes` UTF-8 bytes.
  public static func estimate(bytes: Int) -> Int { Int((Double(bytes) / 3.0 * 1.1).rounded(.up)) }
}
