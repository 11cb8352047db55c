import Foundation

/// Repeat collapsing for packing. Lines are grouped by the templates ingest
/// mined (`LogTemplateIndex`, stored per document); for documents without
/// stored templates, by a simple masked form (words with digits and quoted
/// strings become `<*>`).
public struct LogTemplates: Sendable {
  /// Occurrences of a template kept verbatim before further ones are counted instead.
  public var keep: Int

  public init(keep: Int = 3) { self.keep = keep }

  /// The template of a log line: its words with variable parts replaced by `<*>`.
  public static func template(of line: Substring) -> String {
    var words: [Substring] = []
    for word in line.split(separator: " ", omittingEmptySubsequences: true) {
      words.append(isVariable(word) ? "<*>" : word)
    }
    return words.joined(separator: " ")
  }

  static func isVariable(_ word: Substring) -> Bool {
    var digits = 0
    var letters = 0
    for c in word.unicodeScalars {
      if CharacterSet.decimalDigits.contains(c) {
        digits += 1
      } else if CharacterSet.letters.contains(c) {
        letters += 1
      }
    }
    if digits == 0 { return word.hasPrefix("\"") && word.count > 2 }
    // Numbers, timestamps, ids like rotterdam-9031, 10.0.0.20, 0x1f, 3f2a…: any word with a digit
    // that is not mostly letters.
    return digits >= letters || word.contains("-") || word.contains(".") || word.contains(":")
  }
}
