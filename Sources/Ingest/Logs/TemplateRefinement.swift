import Foundation

/// The computed half of LLM template refinement (issue 31, item 4; LogBatcher-style): the prompt
/// that shows a model a handful of a template's distinct lines, the reading of its answer, and the
/// check that decides whether the answer replaces the statistical template.
///
/// A model's template is accepted only when, read as a pattern (`<*>` matches any run of
/// characters, white space compared as single spaces), it matches every line it was shown, and it
/// keeps at least one constant word; otherwise the miner's template stays.
public enum TemplateRefinement {
  /// Distinct lines shown to the model per template (LogBatcher sends a small batch).
  public static let sampleSize = 5

  /// Up to `limit` distinct lines, in order of first appearance, each cut to 400 characters.
  public static func sample<S: Sequence<String>>(_ lines: S, limit: Int = sampleSize) -> [String] {
    var seen = Set<String>()
    var out: [String] = []
    for line in lines where out.count < limit {
      let l = String(line.prefix(400))
      if seen.insert(l).inserted { out.append(l) }
    }
    return out
  }

  /// Changes when the prompt or the grammar does: cached answers are keyed by it.
  public static let promptVersion = "refine-v3"

  /// The instruction, the lines and the miner's template as a draft, for one call.
  ///
  /// The worked example is from a domain no log comes from (a recipe), so that pasting it back
  /// cannot pass the check, and it comes first: the model reads the pattern (a draft that kept a
  /// value as a word, and the template that masks it), then the lines and their draft, and writes
  /// the template last. With `grammar(for:)` the answer is further bound to the draft, word by
  /// word, each word kept or replaced by `<*>`.
  public static func prompt(lines: [String], draft: String) -> String {
    """
    Task: the messages below are the same event. Rewrite the draft as the event's template: keep \
    the words that are the same in every message of this kind, and write <*> for each value that \
    changes from one message to the next (numbers, ids, names, paths, addresses, times).

    Example.
    Messages:
    Bake 2 cups of flour at 180 degrees
    Bake 2 cups of sugar at 200 degrees
    Draft: Bake 2 cups of <*> at <*> degrees
    Template: Bake <*> cups of <*> at <*> degrees

    Now the real messages.
    Messages:
    \(lines.joined(separator: "\n"))
    Draft: \(collapse(draft))
    Template:
    """
  }

  /// A GBNF grammar whose every sentence is `template` with some of its constant words replaced
  /// by `<*>` (words holding `<*>` already stay as they are), after one space: the model only
  /// decides which of the miner's constant words are values. Nil when nothing is left to decide.
  public static func grammar(for template: String) -> String? {
    let words = collapse(template).split(separator: " ").map(String.init)
    guard words.contains(where: { !$0.contains("<*>") }) else { return nil }
    var rules: [String] = []
    var root: [String] = []
    for (k, word) in words.enumerated() {
      if word.contains("<*>") {
        root.append(literal(word))
      } else {
        rules.append("w\(k) ::= \(literal(word)) | \"<*>\"")
        root.append("w\(k)")
      }
    }
    return (["root ::= \" \" " + root.joined(separator: " \" \" ")] + rules).joined(separator: "\n")
  }

  /// A GBNF string literal for `s`.
  static func literal(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      default:
        if scalar.value < 0x20 || scalar.value == 0x7F {
          out += String(format: "\\x%02X", scalar.value)
        } else {
          out.unicodeScalars.append(scalar)
        }
      }
    }
    return out + "\""
  }

  /// The template in a model's answer: the first text between backticks (or the first non-empty
  /// line when there are none), with white space collapsed; nil when there is nothing.
  public static func answer(_ output: String) -> String? {
    var text = output
    if let open = text.firstIndex(of: "`") {
      let rest = text[text.index(after: open)...]
      text = String(rest.prefix { $0 != "`" })
    } else {
      text = String(text.split(whereSeparator: \.isNewline).first { !$0.allSatisfy(\.isWhitespace) } ?? "")
    }
    let collapsed = collapse(text)
    return collapsed.isEmpty ? nil : collapsed
  }

  /// Whether `template` may replace the miner's: it keeps a constant word and matches every line.
  public static func accepts(_ template: String, lines: [String]) -> Bool {
    let constants = template.components(separatedBy: "<*>").joined()
    guard constants.contains(where: { $0.isLetter || $0.isNumber }) else { return false }
    return lines.allSatisfy { matches(template, $0) }
  }

  /// Whether `line` is an instance of `template` (`<*>` matches any run of characters, empty
  /// included; white space runs compare as one space, ends trimmed).
  public static func matches(_ template: String, _ line: String) -> Bool {
    let parts = collapse(template).components(separatedBy: "<*>").map { Array($0.utf8) }
    let text = Array(collapse(line).utf8)
    guard let first = parts.first, let last = parts.last else { return false }
    if parts.count == 1 { return first == text }
    guard text.count >= first.count + last.count, text.starts(with: first), text.suffix(last.count).elementsEqual(last)
    else { return false }
    // `*`-only globs: each middle literal at its leftmost place after the one before is enough.
    var at = first.count
    let end = text.count - last.count
    for part in parts.dropFirst().dropLast() where !part.isEmpty {
      guard let found = find(part, in: text, from: at, to: end) else { return false }
      at = found + part.count
    }
    return true
  }

  private static func find(_ needle: [UInt8], in hay: [UInt8], from: Int, to end: Int) -> Int? {
    guard needle.count <= end - from else { return nil }
    var k = from
    while k + needle.count <= end {
      if hay[k] == needle[0], hay[k..<(k + needle.count)].elementsEqual(needle) { return k }
      k += 1
    }
    return nil
  }

  /// White space runs as one space, ends trimmed.
  public static func collapse(_ s: String) -> String {
    s.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
  }
}
