import Foundation

/// Drain-style log template mining, reduced to what packing needs: each line's
/// variable parts (numbers, hex ids, IPs, UUIDs, timestamps, quoted strings)
/// are masked, and lines with the same masked form share a template.
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

  /// Collapses repeats within a document's log text: after `keep` lines of one
  /// template, further lines of it are dropped and counted; each section gets
  /// a trailing note naming the count, the template and the first line number.
  ///
  /// - Parameters:
  ///   - lines: The section's lines.
  ///   - firstLine: The 1-based line number of `lines[0]` in its file.
  ///   - seen: Template occurrence counts so far in this document (updated).
  /// - Returns: The kept text, and how many lines were collapsed.
  public func collapse(_ lines: [Substring], firstLine: Int, seen: inout [String: Int]) -> (
    text: String, collapsed: Int
  ) {
    var kept: [Substring] = []
    var dropped: [String: (count: Int, first: Int)] = [:]
    var order: [String] = []
    var collapsed = 0
    for (i, line) in lines.enumerated() {
      // Continuation lines (stack traces) always stay with their event.
      if line.first == " " || line.first == "\t" {
        kept.append(line)
        continue
      }
      let t = Self.template(of: line)
      let n = seen[t, default: 0] + 1
      seen[t] = n
      if n <= keep {
        kept.append(line)
      } else {
        if dropped[t] == nil {
          order.append(t)
          dropped[t] = (0, firstLine + i)
        }
        dropped[t]!.count += 1
        collapsed += 1
      }
    }
    var text = kept.joined(separator: "\n")
    for t in order {
      let d = dropped[t]!
      text += "\n(… \(d.count) more line\(d.count == 1 ? "" : "s") like: \(t) — first at line \(d.first))"
    }
    return (text, collapsed)
  }
}
