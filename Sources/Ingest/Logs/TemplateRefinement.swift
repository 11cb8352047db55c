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

  /// The instruction and the lines, for one call.
  public static func prompt(lines: [String]) -> String {
    """
    You will be given log messages that are all the same event. Replace every dynamic part \
    (numbers, ids, names, paths, addresses, values) with <*> and keep the constant words as they are. \
    Answer with the one template that matches all the messages, between backticks, and nothing else.

    Example messages:
    Connection from 10.0.0.5 port 22 closed
    Connection from 192.168.1.9 port 51000 closed
    Template: `Connection from <*> port <*> closed`

    Messages:
    \(lines.joined(separator: "\n"))
    Template:
    """
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
  static func collapse(_ s: String) -> String {
    s.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
  }
}
