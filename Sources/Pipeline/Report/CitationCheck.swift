import Foundation
import Ingest

/// Whether a citation a model wrote holds.
public enum CitationState: String, Codable, Sendable, CaseIterable {
  /// The locator exists and lies inside what the task read.
  case verified
  /// The locator exists, but the task never saw it.
  case outside
  /// No such locator: no such file in the workspace, a page or line past the end, not a locator.
  case unknown

  /// The mark reports put after the citation.
  public var mark: String {
    switch self {
    case .verified: "✓"
    case .outside: "⚠ outside"
    case .unknown: "✗ unknown"
    }
  }
}

/// One citation of a task's output and its state.
public struct CitationCheck: Codable, Sendable, Hashable {
  /// The citation as written (without brackets).
  public var citation: String
  public var state: CitationState
  /// The stored locator it resolved to, when its path was written differently (`contract.pdf` for `../pdfs/contract.pdf`).
  public var resolved: String?
  /// Why it is outside or unknown.
  public var reason: String?
}

/// A quoted passage of a task's output and whether the cited text holds it.
public struct QuoteCheck: Codable, Sendable, Hashable {
  public var quote: String
  public var found: Bool
  /// Where it was looked for (the statement's citations, else the task's sources) and found.
  public var checkedAgainst: [String]
  public var foundIn: String?
}

/// Everything checked in one task's output.
public struct OutputCheck: Codable, Sendable, Hashable {
  public var citations: [CitationCheck]
  /// Statements (sentences, list items) of three words or more; 0 for a JSON output.
  public var statements: Int
  /// Statements that cite nothing.
  public var uncitedStatements: Int
  public var quotes: [QuoteCheck]

  /// How many citations are in `state`.
  public func count(_ state: CitationState) -> Int { citations.filter { $0.state == state }.count }
}

/// Citation and quote counts over a whole report.
public struct CitationCounts: Codable, Sendable, Hashable {
  public var verified = 0
  public var outside = 0
  public var unknown = 0
  public var statements = 0
  public var uncitedStatements = 0
  public var quotes = 0
  public var quotesNotFound = 0

  public var total: Int { verified + outside + unknown }

  mutating func add(_ check: OutputCheck) {
    verified += check.count(.verified)
    outside += check.count(.outside)
    unknown += check.count(.unknown)
    statements += check.statements
    uncitedStatements += check.uncitedStatements
    quotes += check.quotes.count
    quotesNotFound += check.quotes.filter { !$0.found }.count
  }

  /// The report's one count line.
  public var line: String {
    var s =
      "Citations: \(total) in the model's text: \(verified) verified ✓, \(outside) outside the task's sources ⚠, \(unknown) unknown ✗"
    s +=
      statements > 0
      ? "; \(uncitedStatements) of \(statements) statements cite nothing" : "; no prose statements to count"
    if quotes > 0 {
      s += "; \(quotes) quote\(quotes == 1 ? "" : "s") checked, \(quotesNotFound) not found in the cited text"
    }
    return s + "."
  }
}

/// Checks outputs against the workspace; one per report (it caches what it reads).
public final class CitationChecker {
  let lookup: SourceLookup

  /// - Parameter lookup: The workspace's documents.
  public init(lookup: SourceLookup) { self.lookup = lookup }

  /// Checks `output` of a task that read `sources`.
  ///
  /// - Returns: The checks, and the output with a mark after each bracketed citation.
  public func check(output: String, sources read: [Locator]) -> (check: OutputCheck, marked: String) {
    let parsed = OutputParser.parse(output)
    let coverage = CoverageIndex(read)
    var checks: [CitationCheck] = []
    var resolvedByStatement: [Int: [Locator]] = [:]
    var memo: [String: (CitationCheck, Locator?)] = [:]
    for cited in parsed.citations {
      let result: (CitationCheck, Locator?)
      if let m = memo[cited.text] {
        result = m
      } else {
        result = classify(cited.text, coverage: coverage)
        memo[cited.text] = result
      }
      checks.append(result.0)
      if let loc = result.1, cited.statement >= 0 { resolvedByStatement[cited.statement, default: []].append(loc) }
    }
    var quotes: [QuoteCheck] = []
    if !parsed.json {
      for q in parsed.quotes {
        let words = SourceLookup.normalize(q.text)
        guard words.count >= 3 else { continue }
        let cited = q.statement >= 0 ? resolvedByStatement[q.statement] ?? [] : []
        let against = cited.isEmpty ? read : cited
        // "a … b": each part must be there.
        let parts = words.replacingOccurrences(of: "...", with: "…").split(separator: "…").map {
          $0.trimmingCharacters(in: .whitespaces)
        }.filter { !$0.isEmpty }
        let hit = against.first { loc in
          guard let text = lookup.normalizedText(of: loc) else { return false }
          return parts.allSatisfy { text.contains($0) }
        }
        quotes.append(
          QuoteCheck(
            quote: q.text, found: hit != nil,
            checkedAgainst: against.count > 5
              ? ["the task's \(against.count) sources"] : against.map(\.description),
            foundIn: hit?.description))
      }
    }
    let check = OutputCheck(
      citations: checks, statements: parsed.statementCitations.count,
      uncitedStatements: parsed.statementCitations.filter { $0 == 0 }.count, quotes: quotes)
    return (check, Self.mark(output, parsed: parsed, checks: checks))
  }

  /// The state of one citation `text` in a task that read `sources`.
  func state(of text: String, sources: [Locator]) -> CitationCheck {
    classify(text, coverage: CoverageIndex(sources)).0
  }

  private func classify(_ text: String, coverage: CoverageIndex) -> (CitationCheck, Locator?) {
    guard let locator = Locator(citation: text[...]) else {
      return (
        CitationCheck(
          citation: text, state: .unknown, reason: SourceLookup.Missing.notALocator(text).description), nil
      )
    }
    do {
      let resolved = try lookup.check(locator, preferring: coverage.paths)
      let note = resolved.path == locator.path ? nil : resolved.description
      if coverage.covers(resolved) {
        return (CitationCheck(citation: text, state: .verified, resolved: note), resolved)
      }
      return (
        CitationCheck(
          citation: text, state: .outside, resolved: note, reason: "exists, but this task did not read it"), resolved
      )
    } catch {
      return (CitationCheck(citation: text, state: .unknown, reason: "\(error)"), nil)
    }
  }

  /// `output` with ` ✓` (or `⚠ outside`, `✗ unknown`) after each bracket holding citations.
  static func mark(_ output: String, parsed: OutputParser, checks: [CitationCheck]) -> String {
    guard !parsed.json, !checks.isEmpty else { return output }
    var out = ""
    out.reserveCapacity(output.utf8.count + checks.count * 4)
    var from = output.startIndex
    var k = 0
    while k < parsed.citations.count {
      guard let close = parsed.citations[k].close else {
        k += 1
        continue
      }
      // All citations of one bracket share its close index.
      var states: [CitationState] = []
      while k < parsed.citations.count && parsed.citations[k].close == close {
        states.append(checks[k].state)
        k += 1
      }
      let end = output.index(after: close)
      out += output[from..<end]
      let worst = states.contains(.unknown) ? CitationState.unknown : states.contains(.outside) ? .outside : .verified
      out += " " + worst.mark
      from = end
    }
    out += output[from...]
    return out
  }
}
