import Foundation

/// Guards a generation against loops: small models at temperature 0 fall into
/// repeating one sentence until `max_tokens` ("1. The service is not available.
/// 2. The service is not available. …").
///
/// Two parts, both deterministic:
/// - DRY ("don't repeat yourself", p-e-w's sampler as llama.cpp implements it):
///   a token that would extend a repeat of earlier output longer than
///   `dryAllowedLength` tokens has its logit lowered by
///   `dryMultiplier × dryBase^(length − dryAllowedLength)`; the sequence
///   breakers end a repeat (so a list's line starts or JSON keys are not
///   penalised). Only the output is looked at, never the prompt, so quoting
///   the window is not penalised.
/// - A stop (`RepetitionStop`): once a sentence, or a run of `ngramWords`
///   words, has appeared `maxRepeats` times, generation ends before its next
///   copy, and that copy is cut. Outputs under a JSON Schema or grammar are
///   not cut (the cut would break their syntax).
///
/// The in-process engine applies both; llama.cpp's server takes the DRY fields
/// in its request body, and other servers' outputs are cut the same way.
public struct LoopGuard: Sendable, Hashable, Codable {
  public var dryMultiplier: Double
  public var dryBase: Double
  public var dryAllowedLength: Int
  /// Output tokens DRY looks back over; 0: the whole output.
  public var dryLastTokens: Int
  /// Strings that end a repeat for DRY.
  public var sequenceBreakers: [String]
  /// Copies of one sentence (or run of words) an output may hold.
  public var maxRepeats: Int
  /// Words in a run counted by the stop when the text has no sentence ends.
  public var ngramWords: Int

  /// llama.cpp's recommended DRY settings (the server's `--dry-*` defaults once enabled), and two copies at most.
  public init(
    dryMultiplier: Double = 0.8, dryBase: Double = 1.75, dryAllowedLength: Int = 2, dryLastTokens: Int = 0,
    sequenceBreakers: [String] = ["\n", ":", "\"", "*"], maxRepeats: Int = 2, ngramWords: Int = 12
  ) {
    self.dryMultiplier = dryMultiplier
    self.dryBase = dryBase
    self.dryAllowedLength = dryAllowedLength
    self.dryLastTokens = dryLastTokens
    self.sequenceBreakers = sequenceBreakers
    self.maxRepeats = maxRepeats
    self.ngramWords = ngramWords
  }

  /// The default guard.
  public static let standard = LoopGuard()

  /// Everything outputs depend on, as one line for task hashes.
  public var hashKey: String {
    "dry=\(dryMultiplier),\(dryBase),\(dryAllowedLength),\(dryLastTokens),\(sequenceBreakers.joined(separator: "\u{1}"));"
      + "stop=\(maxRepeats),\(ngramWords)"
  }

  /// Where `text` should end: before the first copy of a sentence, or run of words, past
  /// `maxRepeats`; nil when nothing repeats that often.
  public func cut(_ text: String) -> String.Index? {
    RepetitionStop.cut(text, maxRepeats: maxRepeats, ngramWords: ngramWords)
  }
}

/// Finds where an output starts looping.
public enum RepetitionStop {
  /// Shortest sentence (in words) that counts: "Yes." or "- none" may repeat freely.
  static let minimumWords = 3

  /// The index before the first sentence (or run of `ngramWords` words) that appears for the
  /// `maxRepeats + 1`-th time in `text`, with the whitespace before it; nil when none does.
  ///
  /// Sentences end at `.`, `!` or `?` before a space or the end, and at line ends; they are
  /// compared in lower case without list markers (`3.`, `-`, `*`), spacing or final punctuation.
  /// An unfinished last sentence does not count.
  public static func cut(_ text: String, maxRepeats: Int, ngramWords: Int = 12) -> String.Index? {
    guard maxRepeats >= 1 else { return nil }
    var seen: [String: Int] = [:]
    var first: String.Index?
    for sentence in Self.sentences(text) {
      let key = normalize(text[sentence])
      guard key.split(separator: " ").count >= minimumWords else { continue }
      seen[key, default: 0] += 1
      if seen[key, default: 0] > maxRepeats {
        first = sentence.lowerBound
        break
      }
    }
    let words = ngramWords > 0 ? Self.words(text) : []
    if ngramWords > 0, words.count >= ngramWords * (maxRepeats + 1) {
      var runs: [String: Int] = [:]
      for i in 0...(words.count - ngramWords) {
        if let first, words[i].range.lowerBound >= first { break }
        let key = words[i..<(i + ngramWords)].map(\.text).joined(separator: " ")
        runs[key, default: 0] += 1
        if runs[key, default: 0] > maxRepeats {
          first = words[i].range.lowerBound
          break
        }
      }
    }
    guard let first else { return nil }
    // Drop the whitespace and list marker before the cut copy too.
    var end = first
    while end > text.startIndex, text[text.index(before: end)].isWhitespace { end = text.index(before: end) }
    return end
  }

  /// The ranges of `text`'s complete sentences, in order.
  static func sentences(_ text: String) -> [Range<String.Index>] {
    var out: [Range<String.Index>] = []
    var start = text.startIndex
    var i = text.startIndex
    while i < text.endIndex {
      let c = text[i]
      let next = text.index(after: i)
      let ends =
        c.isNewline || ((c == "." || c == "!" || c == "?") && (next == text.endIndex || text[next].isWhitespace))
      // A list number ("3. ") belongs to the sentence after it, which a cut then takes with it.
      if ends, !c.isNewline, normalize(text[start..<next]).isEmpty {
        i = next
        continue
      }
      if ends {
        // Start at the first non-space character.
        var s = start
        while s < i, text[s].isWhitespace { s = text.index(after: s) }
        if s < i { out.append(s..<next) }
        start = next
      }
      i = next
    }
    return out
  }

  /// A sentence as compared: lower case, no list marker, single spaces, no final punctuation.
  static func normalize(_ sentence: Substring) -> String {
    var s = sentence.lowercased()[...]
    // List markers: "12.", "3)", "-", "*", "•", "#".
    while let c = s.first,
      c.isNumber || c == "." || c == ")" || c == "-" || c == "*" || c == "•" || c == "#"
        || c.isWhitespace
    {
      s = s.dropFirst()
    }
    while let c = s.last, c == "." || c == "!" || c == "?" || c.isWhitespace { s = s.dropLast() }
    return s.split(whereSeparator: \.isWhitespace).joined(separator: " ")
  }

  /// The words of `text` (letters and digits), lower case, with where each is.
  static func words(_ text: String) -> [(text: String, range: Range<String.Index>)] {
    var out: [(text: String, range: Range<String.Index>)] = []
    var start: String.Index?
    var i = text.startIndex
    while i <= text.endIndex {
      let isWord = i < text.endIndex && (text[i].isLetter || text[i].isNumber)
      if isWord, start == nil { start = i }
      if !isWord, let s = start {
        out.append((text[s..<i].lowercased(), s..<i))
        start = nil
      }
      if i == text.endIndex { break }
      i = text.index(after: i)
    }
    return out
  }
}
