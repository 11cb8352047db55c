import Foundation
import Ingest

/// Citation helpers: finding a model's own citations and checking them against what a task read.
///
/// The algebra of locator lists (compacting, each once) is on `[Locator]` (`Locator+Lists.swift`).
public enum Citations {
  /// Citations the text itself makes, in `[path#page=N]` / `[path#Lx-Ly]` form.
  public static func mentioned(in text: String) -> [Locator] {
    OutputParser.parse(text).citations.compactMap { Locator(citation: $0.text[...]) }
  }

  /// Whether `cited` lies within one of `covered` (same file; same page, or a line range inside).
  public static func isCovered(_ cited: Locator, by covered: [Locator]) -> Bool {
    CoverageIndex(covered).covers(cited)
  }
}

/// The locators a task read, indexed so that a citation is checked in
/// logarithmic time: pages and messages in sets, line ranges merged per file.
struct CoverageIndex {
  private var units = Set<String>()
  private var ranges: [String: [(Int, Int)]] = [:]
  /// The paths the task read.
  private(set) var paths = Set<String>()

  init(_ locators: [Locator]) {
    var raw: [String: [(Int, Int)]] = [:]
    for c in locators {
      paths.insert(c.path)
      if let p = c.page {
        units.insert("\(c.path)#page=\(p)")
      } else if let m = c.message {
        units.insert("\(c.path)#msg=\(m)")
      } else if let s = c.lineStart, let e = c.lineEnd {
        raw[c.path, default: []].append((s, e))
      } else {
        units.insert(c.path)
      }
    }
    for (path, list) in raw {
      var merged: [(Int, Int)] = []
      for r in list.sorted(by: { $0.0 < $1.0 }) {
        if let last = merged.last, r.0 <= last.1 + 1 {
          merged[merged.count - 1].1 = max(last.1, r.1)
        } else {
          merged.append(r)
        }
      }
      ranges[path] = merged
    }
  }

  /// Whether `cited` lies inside what was read (a whole file read covers any part of it).
  func covers(_ cited: Locator) -> Bool {
    if units.contains(cited.path) { return true }
    if let p = cited.page { return units.contains("\(cited.path)#page=\(p)") }
    if let m = cited.message { return units.contains("\(cited.path)#msg=\(m)") }
    guard let s = cited.lineStart, let e = cited.lineEnd, let list = ranges[cited.path] else { return false }
    // The last merged range starting at or before `s`.
    var lo = 0
    var hi = list.count
    while lo < hi {
      let mid = (lo + hi) / 2
      if list[mid].0 <= s { lo = mid + 1 } else { hi = mid }
    }
    return lo > 0 && list[lo - 1].1 >= e
  }
}

/// What a task's output says, found in one pass over it: citations (bracketed
/// locators, or in a JSON output every string value that is one), quoted
/// passages, and statements (sentences or list items of three words or more).
struct OutputParser {
  /// One citation as written, with the statement it belongs to.
  struct Cited {
    var text: String
    var statement: Int
    /// The closing bracket in the output (nil in JSON values): where a mark goes.
    var close: String.Index?
    /// The opening bracket.
    var open: String.Index? = nil
  }

  struct Quote {
    var text: String
    var statement: Int
  }

  var citations: [Cited] = []
  var quotes: [Quote] = []
  /// Per statement: how many citations it makes.
  var statementCitations: [Int] = []
  /// Whether the output was a JSON document (statements are not counted then).
  var json = false

  /// The longest bracketed text taken as a possible citation.
  static let maxBracket = 2000
  /// The longest quoted text checked.
  static let maxQuote = 1000

  static func parse(_ text: String) -> OutputParser {
    var out = OutputParser()
    let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
    if trimmed.first == "{" || trimmed.first == "[",
      let value = try? JSONSerialization.jsonObject(with: Data(trimmed.utf8), options: [.fragmentsAllowed]),
      !(value is String)
    {
      out.json = true
      out.collectJSON(value)
      return out
    }
    out.scanProse(text)
    return out
  }

  /// Members whose string values are citations whatever they hold (`"source": "contract.pdf, p. 2"` is a
  /// citation that names nothing); elsewhere only strings that look like a locator are.
  static let citationKeys: Set<String> = ["source", "sources", "citation", "citations", "locator", "locators", "cite"]

  private mutating func collectJSON(_ value: Any, cited: Bool = false) {
    if let s = value as? String {
      let part = s.trimmingCharacters(in: .whitespaces)
      let inner = part.hasPrefix("[") && part.hasSuffix("]") ? String(part.dropFirst().dropLast()) : part
      if Self.looksLikeCitation(inner[...]) || (cited && !inner.isEmpty) {
        citations.append(Cited(text: inner, statement: -1, close: nil))
      }
    } else if let a = value as? [Any] {
      for v in a { collectJSON(v, cited: cited) }
    } else if let d = value as? [String: Any] {
      for k in d.keys.sorted() { collectJSON(d[k] as Any, cited: Self.citationKeys.contains(k.lowercased())) }
    }
  }

  /// A bracketed part that claims to be a locator: a path, `#`, and a fragment.
  static func looksLikeCitation(_ s: Substring) -> Bool {
    guard let hash = s.firstIndex(of: "#"), hash != s.startIndex, s.index(after: hash) != s.endIndex else {
      return false
    }
    return !s.contains("\n")
  }

  /// One pass over prose: brackets, quotes and statement boundaries.
  ///
  /// A statement starts at its first word after a sentence end (`. `, `! `,
  /// `? `) or a line break. A citation belongs to the statement before it,
  /// also when it follows the sentence's full stop (`… failed. [app.log#L3]`),
  /// except at the start of a line, where it opens the next one (`- [a#L1] …`).
  private mutating func scanProse(_ text: String) {
    var words: [Int] = []
    var ended = true
    var endedByLine = true
    var inWord = false
    var open: String.Index?
    var openLength = 0
    var quoteOpen: String.Index?
    var quoteStatement = 0
    var i = text.startIndex

    func current(opening: Bool) -> Int {
      if words.isEmpty || (ended && opening) {
        words.append(0)
        statementCitations.append(0)
        ended = false
      }
      return words.count - 1
    }

    while i < text.endIndex {
      let c = text[i]
      let next = text.index(after: i)
      if open != nil { openLength += 1 }
      if openLength > Self.maxBracket { open = nil }
      if c == "[" {
        open = next
        openLength = 0
        inWord = false
      } else if c == "]", let start = open {
        open = nil
        let inner = text[start..<i]
        let isLink = next < text.endIndex && text[next] == "("
        if !isLink {
          for part in Self.splitCitations(inner) where Self.looksLikeCitation(part) {
            let s = current(opening: endedByLine)
            statementCitations[s] += 1
            citations.append(Cited(text: String(part), statement: s, close: i, open: text.index(before: start)))
          }
        }
      } else if open == nil {
        if c == "\"" || c == "\u{201C}" || c == "\u{201D}" {
          if let q = quoteOpen, c != "\u{201C}" {
            let body = text[q..<i]
            if !body.isEmpty, body.count <= Self.maxQuote, !body.contains("\n\n") {
              quotes.append(Quote(text: String(body), statement: quoteStatement))
            }
            quoteOpen = nil
          } else {
            quoteOpen = next
            quoteStatement = current(opening: true)
          }
          inWord = false
        } else if c.isLetter || c.isNumber {
          if !inWord {
            words[current(opening: true)] += 1
            inWord = true
          }
        } else {
          inWord = inWord && (c == "'" || c == "-" || c == "_")
          if c == "\n" {
            quoteOpen = nil
            ended = true
            endedByLine = true
          } else if (c == "." || c == "!" || c == "?") && (next == text.endIndex || text[next].isWhitespace) {
            ended = true
            endedByLine = false
          }
        }
      }
      i = next
    }
    // Fragments (headings, labels) are not statements; the citations of a
    // citation-only line head what follows it (the previous statement at the end).
    var kept: [Int] = []
    var renumber = [Int](repeating: -1, count: words.count)
    for (n, w) in words.enumerated() where w >= 3 {
      renumber[n] = kept.count
      kept.append(statementCitations[n])
    }
    var nextKept = -1
    for n in words.indices.reversed() {
      if renumber[n] >= 0 {
        nextKept = renumber[n]
      } else if words[n] == 0 {
        renumber[n] = nextKept >= 0 ? nextKept : (kept.isEmpty ? -1 : kept.count - 1)
        if renumber[n] >= 0 { kept[renumber[n]] += statementCitations[n] }
      }
    }
    statementCitations = kept
    for k in citations.indices { citations[k].statement = renumber[citations[k].statement] }
    for k in quotes.indices { quotes[k].statement = renumber[quotes[k].statement] }
  }

  /// `a#L1-L2, b#page=3; c#msg=x` → its parts.
  static func splitCitations(_ inner: Substring) -> [Substring] {
    guard inner.contains(",") || inner.contains(";") else { return [inner.trimmingCharacters(in: .whitespaces)[...]] }
    return inner.split(whereSeparator: { $0 == "," || $0 == ";" }).map {
      $0.trimmingCharacters(in: .whitespaces)[...]
    }
  }
}
