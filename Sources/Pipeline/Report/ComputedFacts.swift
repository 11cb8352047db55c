import Foundation
import Ingest
import Segmenter

/// Facts about what a job read, computed from the workspace with no model:
/// documents, pages, lines and bytes by kind; what failed or was left out and
/// why; for logs, events by severity and by hour; for PDFs and mail,
/// documents by date and author or sender; for code, files by language.
/// Every fact carries locators a reader can open with `longctx quote`.
///
/// Other blocks (a log-template table) are meant to be added as further
/// optional members here and rendered beside these.
public struct ComputedFacts: Codable, Sendable {
  /// What was read, per kind.
  public struct KindTotals: Codable, Sendable, Hashable {
    public var kind: String
    public var documents = 0
    public var pages = 0
    public var lines = 0
    public var bytes = 0
    public var characters = 0
  }

  /// A file ingest could not use, or used with a warning.
  public struct Exception: Codable, Sendable, Hashable {
    public var path: String
    public var severity: String
    public var reason: String
  }

  /// Log events at one severity.
  public struct SeverityCount: Codable, Sendable, Hashable {
    public var severity: String
    public var events: Int
    /// The first few sections holding such events.
    public var locators: [String]
  }

  /// A log template of the job's logs, with its count and first and last event time (issue 17).
  public struct TemplateFact: Codable, Sendable, Hashable {
    public var id: Int64
    public var template: String
    public var events: Int
    public var firstTime: String?
    public var lastTime: String?
    /// Its first event.
    public var locator: String
  }

  /// Log events in one hour (UTC), by severity.
  public struct HourCount: Codable, Sendable, Hashable {
    /// `2026-03-09T02:00Z`.
    public var hour: String
    public var events: [String: Int]
    public var locator: String
  }

  /// A PDF or a mail message with its date and author or sender.
  public struct DocumentFact: Codable, Sendable, Hashable {
    public var locator: String
    public var kind: String
    public var title: String?
    public var date: String?
    public var author: String?
  }

  /// Source files of one language.
  public struct LanguageCount: Codable, Sendable, Hashable {
    public var language: String
    public var files: Int
    public var lines: Int
    public var locators: [String]
  }

  /// A source file that others name, or a README or entry point (the planner's centrality).
  public struct CentralFile: Codable, Sendable, Hashable {
    public var locator: String
    public var score: Double
    public var reasons: [String]
  }

  public var read: [KindTotals] = []
  public var exceptions: [Exception] = []
  /// Whether `exceptions` is narrowed to the job's inputs (false: every exception of the workspace).
  public var exceptionsOfJob = false
  /// Chunks the plan left out, by reason: how many, and a few locators.
  public var leftOut: [String: Int] = [:]
  public var leftOutExamples: [String: [String]] = [:]
  public var leftOutCount = 0
  public var logEvents = 0
  public var bySeverity: [SeverityCount] = []
  public var byHour: [HourCount] = []
  /// The job's logs' templates by count (the first `templateLimit`), and how many there are.
  public var topTemplates: [TemplateFact] = []
  /// Pages and images whose text came from OCR, their mean word confidence, and a few of them.
  public var ocrPages = 0
  public var ocrConfidence: Double?
  public var ocrLocators: [String] = []
  public var templateCount = 0
  public var documents: [DocumentFact] = []
  public var languages: [LanguageCount] = []
  /// The most central source files, highest first.
  public var centralFiles: [CentralFile] = []

  /// How many locators each fact cites at most.
  static let citeLimit = 3
  /// Hours listed at most (the busiest, shown in time order).
  static let hourLimit = 48
  /// Templates listed at most.
  static let templateLimit = 10
}

extension ComputedFacts {
  /// Computes the facts of the documents at `paths` (stored display paths, in order).
  ///
  /// - Parameters:
  ///   - paths: The documents the job read.
  ///   - lookup: The workspace's documents.
  ///   - plan: The job's latest plan, for what it left out.
  ///   - exceptions: Ingest failures, skips and warnings to list.
  static func compute(
    paths: [String], lookup: SourceLookup, plan: Plan?, exceptions: [Exception], exceptionsOfJob: Bool
  ) -> ComputedFacts {
    var facts = ComputedFacts()
    facts.exceptions = exceptions
    facts.exceptionsOfJob = exceptionsOfJob
    var totals: [String: KindTotals] = [:]
    var severities: [String: (Int, [String])] = [:]
    var hours: [Int: ([String: Int], String)] = [:]
    var languages: [String: LanguageCount] = [:]
    let iso = ISO8601DateFormatter()
    for path in paths {
      guard let info = try? lookup.info(path: path) else { continue }
      let doc = info.document
      let kind = doc.kind.rawValue
      var t = totals[kind] ?? KindTotals(kind: kind)
      t.documents += 1
      t.pages += doc.pageCount ?? 0
      t.lines += info.lineCount
      t.bytes += doc.bytes
      t.characters += doc.charCount
      totals[kind] = t
      for s in info.sections {
        guard let ocr = s.ocr else { continue }
        facts.ocrPages += 1
        facts.ocrConfidence = (facts.ocrConfidence ?? 0) + ocr.confidence
        if facts.ocrLocators.count < citeLimit { facts.ocrLocators.append(s.locator.description) }
      }
      switch doc.kind {
      case .log:
        countEvents(info.sections, severities: &severities, hours: &hours, events: &facts.logEvents)
      case .pdf, .image, .office, .officeConverted, .html:
        facts.documents.append(
          DocumentFact(
            locator: doc.kind == .pdf || doc.kind == .image
              ? "\(path)#page=1" : info.sections.first?.locator.description ?? path, kind: kind,
            title: doc.title ?? doc.metadata["title"],
            date: doc.metadata["created"] ?? doc.metadata["modified"], author: doc.metadata["author"]))
      case .email, .outlook, .pst:
        for s in info.sections {
          let header = Self.mailHeader(s.text)
          facts.documents.append(
            DocumentFact(
              locator: s.locator.description, kind: kind, title: header["subject"], date: header["date"],
              author: header["from"]))
        }
      case .code:
        let language = doc.metadata["language"] ?? "other"
        var l = languages[language] ?? LanguageCount(language: language, files: 0, lines: 0, locators: [])
        l.files += 1
        l.lines += info.lineCount
        if l.locators.count < citeLimit {
          l.locators.append(info.lineCount > 0 ? "\(path)#L1-L\(info.lineCount)" : path)
        }
        languages[language] = l
      case .text, .archive:
        break
      }
    }
    facts.read = totals.values.sorted { $0.kind < $1.kind }
    if facts.ocrPages > 0, let sum = facts.ocrConfidence { facts.ocrConfidence = sum / Double(facts.ocrPages) }
    if facts.logEvents > 0, case let workspace = lookup.corpus.workspace,
      let templates = try? LogTemplateStore.templates(workspace, paths: paths)
    {
      facts.templateCount = templates.count
      facts.topTemplates = templates.prefix(templateLimit).map { t in
        TemplateFact(
          id: t.id, template: t.text, events: t.count,
          firstTime: t.firstTime.map { iso.string(from: Date(timeIntervalSince1970: $0)) },
          lastTime: t.lastTime.map { iso.string(from: Date(timeIntervalSince1970: $0)) },
          locator: t.firstLocator.description)
      }
    }
    facts.bySeverity = severities.map { SeverityCount(severity: $0.key, events: $0.value.0, locators: $0.value.1) }
      .sorted { (LogRank.rank($0.severity), $0.events) > (LogRank.rank($1.severity), $1.events) }
    let busiest = Set(
      hours.sorted { $0.value.0.values.reduce(0, +) > $1.value.0.values.reduce(0, +) }.prefix(hourLimit).map(\.key))
    facts.byHour = hours.keys.sorted().filter { busiest.contains($0) }.map { h in
      let iso = iso.string(from: Date(timeIntervalSince1970: Double(h) * 3600))
      return HourCount(hour: String(iso.prefix(13)) + ":00Z", events: hours[h]?.0 ?? [:], locator: hours[h]?.1 ?? "")
    }
    facts.documents.sort { ($0.date ?? "~", $0.locator) < ($1.date ?? "~", $1.locator) }
    facts.languages = languages.values.sorted { ($0.files, $1.language) > ($1.files, $0.language) }
    if let plan {
      facts.centralFiles = centralFiles(plan, lookup: lookup)
      facts.leftOutCount = plan.leftOut.count
      for item in plan.leftOut {
        let reason = Self.reasonKind(item.reason)
        facts.leftOut[reason, default: 0] += 1
        if facts.leftOutExamples[reason, default: []].count < citeLimit {
          facts.leftOutExamples[reason, default: []].append(item.locator.description)
        }
      }
    }
    return facts
  }

  /// Files the planner scored for centrality (README, entry point, named by others), from the chunks' reasons.
  static func centralFiles(_ plan: Plan, lookup: SourceLookup) -> [CentralFile] {
    var best: [String: CentralFile] = [:]
    for chunk in plan.windows.lazy.flatMap(\.chunks) {
      let path = chunk.locator.path
      guard best[path] == nil, let reasons = chunk.reasons else { continue }
      var score = 0.0
      var kept: [String] = []
      for r in reasons {
        if r == "README" {
          score += 2
        } else if r == "entry point" {
          score += 1.5
        } else if r.hasPrefix("referenced by "), let n = Int(r.dropFirst(14).prefix { $0.isNumber }) {
          score += 0.5 * log2(1 + Double(n))
        } else {
          continue
        }
        kept.append(r)
      }
      guard score > 0 else { continue }
      let lines = (try? lookup.info(path: path))??.lineCount ?? 0
      best[path] = CentralFile(locator: lines > 0 ? "\(path)#L1-L\(lines)" : path, score: score, reasons: kept)
    }
    return best.values.sorted { ($0.score, $1.locator) > ($1.score, $0.locator) }.prefix(10).map { $0 }
  }

  /// Counts each event line of `sections` by its header's level and hour.
  private static func countEvents(
    _ sections: [Section], severities: inout [String: (Int, [String])], hours: inout [Int: ([String: Int], String)],
    events: inout Int
  ) {
    let sample = sections.prefix(8).flatMap { $0.text.split(separator: "\n").prefix(40) }
    var parser = LogHeaderParser(sample: sample, referenceDate: Date())
    for s in sections {
      var hourOfSection = s.firstTimestamp.map { Int(($0 / 3600).rounded(.down)) }
      for line in s.text.split(separator: "\n") {
        guard line.first != " ", line.first != "\t" else { continue }
        var text = String(line)
        let header: LogHeader? = parser.layout == .none ? nil : text.withUTF8 { parser.parse($0) }
        if parser.layout != .none && header == nil { continue }  // a continuation line
        events += 1
        let level = header?.level ?? "unlabelled"
        var entry = severities[level] ?? (0, [])
        entry.0 += 1
        if entry.1.count < citeLimit, entry.1.last != s.locator.description { entry.1.append(s.locator.description) }
        severities[level] = entry
        if let t = header?.time { hourOfSection = Int((t / 3600).rounded(.down)) }
        if let h = hourOfSection {
          var slot = hours[h] ?? ([:], s.locator.description)
          slot.0[level, default: 0] += 1
          hours[h] = slot
        }
      }
    }
  }

  /// `From:`, `Date:` and `Subject:` of a rendered message (its first lines).
  static func mailHeader(_ text: String) -> [String: String] {
    var out: [String: String] = [:]
    for line in text.split(separator: "\n", omittingEmptySubsequences: false).prefix(8) {
      if line.isEmpty { break }
      guard let colon = line.firstIndex(of: ":") else { continue }
      let key = line[..<colon].lowercased()
      if ["from", "date", "subject"].contains(key) {
        out[key] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
      }
    }
    return out
  }

  /// The reason of a left-out chunk without its particulars.
  static func reasonKind(_ reason: String) -> String {
    if reason.hasPrefix("an exact duplicate") { return "exact duplicate" }
    if reason.hasPrefix("a near duplicate") { return "near duplicate" }
    return String(reason.prefix { $0 != "(" && $0 != ":" }).trimmingCharacters(in: .whitespaces)
  }
}

/// Severity order for sorting (highest first).
enum LogRank {
  static let order = [
    "EMERGENCY", "ALERT", "FATAL", "CRITICAL", "ERROR", "WARN", "NOTICE", "INFO", "DEBUG", "TRACE", "unlabelled",
  ]
  static func rank(_ level: String) -> Int { order.count - (order.firstIndex(of: level) ?? order.count) }
}

// MARK: - Markdown

extension ComputedFacts {
  /// The facts as the Markdown report's first section.
  public var markdown: String {
    var md =
      "## Computed facts\n\n_Counted from the workspace, no model involved; each figure cites where it comes from._\n\n"
    md += "### What was read\n\n| kind | documents | pages | lines | bytes |\n|---|---|---|---|---|\n"
    for t in read { md += "| \(t.kind) | \(t.documents) | \(t.pages) | \(t.lines) | \(t.bytes) |\n" }
    md += "\n"
    if ocrPages > 0 {
      md +=
        "Text from OCR (Tesseract): \(ocrPages) page\(ocrPages == 1 ? "" : "s"), mean word confidence \(String(format: "%.0f", ocrConfidence ?? 0)) ("
        + ocrLocators.map { "[\($0)]" }.joined(separator: " ") + (ocrPages > ocrLocators.count ? " …" : "") + ").\n\n"
    }
    let failed = exceptions.filter { $0.severity != "warning" }
    let warnings = exceptions.filter { $0.severity == "warning" }
    let scope =
      exceptionsOfJob ? "of this job's inputs" : "in the workspace (give the job file to narrow to its inputs)"
    if exceptions.isEmpty {
      md += "No file \(scope) failed, was skipped or has a warning.\n\n"
    } else {
      md += "Failed or skipped files \(scope): \(failed.count); warnings: \(warnings.count).\n\n"
      for e in failed.prefix(50) { md += "- \(e.severity): `\(e.path)`: \(e.reason)\n" }
      for e in warnings.prefix(20) { md += "- warning: `\(e.path)`: \(e.reason)\n" }
      if failed.count > 50 || warnings.count > 20 { md += "- … (`longctx report exceptions` lists them all)\n" }
      md += "\n"
    }
    if leftOutCount > 0 {
      md += "Left out of the windows: \(leftOutCount) chunks: "
      md +=
        leftOut.keys.sorted().map { key in
          let list = leftOutExamples[key] ?? []
          return "\(leftOut[key] ?? 0) \(key) (" + list.map { "[\($0)]" }.joined(separator: " ") + ")"
        }.joined(separator: "; ") + ".\n\n"
    }
    if logEvents > 0 {
      md += "### Log events by severity\n\n\(logEvents) events.\n\n| severity | events | for example |\n|---|---|---|\n"
      for s in bySeverity {
        md += "| \(s.severity) | \(s.events) | \(s.locators.map { "[\($0)]" }.joined(separator: " ")) |\n"
      }
      md += "\n"
      if !byHour.isEmpty {
        let levels = bySeverity.map(\.severity)
        md +=
          "### Log events by hour (UTC)\n\n| hour | " + levels.joined(separator: " | ") + " | first section |\n|---|"
        md += String(repeating: "---|", count: levels.count) + "---|\n"
        for h in byHour {
          md +=
            "| \(h.hour) | " + levels.map { String(h.events[$0] ?? 0) }.joined(separator: " | ")
            + " | [\(h.locator)] |\n"
        }
        md += "\n"
      }
    }
    if !topTemplates.isEmpty {
      md += "### Log templates by count\n\n\(templateCount) templates (`longctx templates` lists them all).\n\n"
      md += "| events | template | first | last | first event |\n|---:|---|---|---|---|\n"
      for t in topTemplates {
        md +=
          "| \(t.events) | `\(Self.cell(t.template).replacingOccurrences(of: "`", with: "'"))` | \(t.firstTime ?? "—") | \(t.lastTime ?? "—") | [\(t.locator)] |\n"
      }
      md += "\n"
    }
    if !documents.isEmpty {
      md += "### Documents by date\n\n| date | author or sender | title or subject | source |\n|---|---|---|---|\n"
      for d in documents.prefix(500) {
        md +=
          "| \(Self.cell(d.date ?? "—")) | \(Self.cell(d.author ?? "—")) | \(Self.cell(d.title ?? "—")) | [\(d.locator)] |\n"
      }
      if documents.count > 500 { md += "| … | | \(documents.count - 500) more | |\n" }
      md += "\n"
    }
    if !centralFiles.isEmpty {
      md += "### Most central source files\n\n| file | why |\n|---|---|\n"
      for c in centralFiles { md += "| [\(c.locator)] | \(Self.cell(c.reasons.joined(separator: ", "))) |\n" }
      md += "\n"
    }
    if !languages.isEmpty {
      md += "### Source files by language\n\n| language | files | lines | for example |\n|---|---|---|---|\n"
      for l in languages {
        md += "| \(l.language) | \(l.files) | \(l.lines) | \(l.locators.map { "[\($0)]" }.joined(separator: " ")) |\n"
      }
      md += "\n"
    }
    return md
  }

  /// A table cell: no pipes or line breaks.
  static func cell(_ s: String) -> String {
    s.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
  }
}
