import Foundation
import Ingest
import Storage

/// What changed in a period of an incremental job's logs, computed from the
/// templates ingest mined (no model): templates never seen before this
/// period, templates whose count rose or fell tenfold against the rolling
/// average of earlier periods, and events by severity, each cited.
///
/// Rules (documented in README):
/// - *new*: the template has events in this period's new lines and the
///   workspace first saw it after the previous completed run finished (a
///   template that only generalised keeps its id and its age, so it is not new);
/// - *rose*: this period's count ≥ 10 × the mean count over the last
///   `window` completed periods that recorded counts, and ≥ 10 events;
/// - *fell*: that mean ≥ 10 and this period's count ≤ a tenth of it (0 included);
/// - the first period has no history: its templates are listed by count only.
struct TemplateChanges: Sendable {
  struct Item: Sendable, Equatable {
    var id: Int64
    var text: String
    var count: Int
    /// The first event of this template in the period's new lines (for *fell*: its last locator, if any).
    var locator: Locator?
    /// Mean count over the earlier periods (nil for the first period).
    var average: Double?
  }

  /// Periods the rolling average covers.
  static let window = 7
  static let factor = 10.0
  static let minimumEvents = 10

  var firstPeriod: Bool
  var newTemplates: [Item] = []
  var rose: [Item] = []
  var fell: [Item] = []
  /// Events of the period's new lines by severity, most severe first, with the first of each.
  var severities: [(level: String, count: Int, first: Locator)] = []
  /// Events per template in the period's new lines (recorded for later periods' averages).
  var counts: [Int64: Int] = [:]
  var events = 0
  /// Every template with events this period, by count (the first period's list).
  var top: [Item] = []

  /// Computes the changes of the period whose new lines `sources` name.
  ///
  /// - Parameters:
  ///   - since: When the previous completed run finished (nil for the first period).
  ///   - history: Per earlier completed period, newest first, its template counts.
  static func compute(
    workspace: Workspace, sources: [SourceWatermark], since: Double?, history: [[Int64: Int]]
  ) throws -> TemplateChanges {
    var out = TemplateChanges(firstPeriod: since == nil)
    var first: [Int64: Locator] = [:]
    var levels: [String: (count: Int, first: Locator)] = [:]
    let corpus = Corpus(workspace: workspace)
    var texts: [Int64: String] = [:]
    for source in sources where source.lines > 0 {
      guard let from = source.firstNew, let to = source.lastNew,
        let lines = try LogTemplateStore.documentLines(workspace, documentHash: source.documentHash)
      else { continue }
      texts.merge(lines.texts) { a, _ in a }
      for n in from...max(from, to) {
        guard let id = lines.template(ofLine: n) else { continue }
        out.counts[id, default: 0] += 1
        out.events += 1
        if first[id] == nil { first[id] = Locator(path: source.path, lineStart: n, lineEnd: n) }
      }
      // Severities of the new events, from the stored text of their lines.
      let sections = try corpus.sections(ofDocument: source.documentHash, displayPath: source.path)
      for (n, line) in PeriodScope.numberedLines(sections) where n >= from && n <= to {
        guard lines.template(ofLine: n) != nil, let level = LogSeverity.of(line) else { continue }
        let here = Locator(path: source.path, lineStart: n, lineEnd: n)
        levels[level, default: (0, here)].count += 1
      }
    }
    out.severities = levels.map { (level: $0.key, count: $0.value.count, first: $0.value.first) }
      .sorted { (LogSeverity.rank($0.level), $1.level) > (LogSeverity.rank($1.level), $0.level) }
    let catalog = try LogTemplateStore.catalog(workspace)
    let recent = Array(history.prefix(window))
    func average(_ id: Int64) -> Double? {
      recent.isEmpty ? nil : Double(recent.reduce(0) { $0 + ($1[id] ?? 0) }) / Double(recent.count)
    }
    func item(_ id: Int64, _ count: Int) -> Item {
      Item(id: id, text: texts[id] ?? "#\(id)", count: count, locator: first[id], average: average(id))
    }
    let byCount = out.counts.sorted { ($0.value, $1.key) > ($1.value, $0.key) }
    out.top = byCount.map { item($0.key, $0.value) }
    guard let since else { return out }
    out.newTemplates = byCount.filter { (catalog[$0.key]?.createdAt ?? 0) > since }.map { item($0.key, $0.value) }
    let isNew = Set(out.newTemplates.map(\.id))
    out.rose = byCount.filter { id, count in
      guard !isNew.contains(id), let avg = average(id), count >= minimumEvents else { return false }
      return Double(count) >= factor * avg
    }.map { item($0.key, $0.value) }
    // Fell: templates of earlier periods whose count dropped tenfold (or to nothing).
    let earlier = Set(recent.flatMap(\.keys))
    var fallen: [Item] = []
    for id in earlier {
      guard let avg = average(id), avg >= Double(minimumEvents) else { continue }
      let count = out.counts[id] ?? 0
      if Double(count) * factor <= avg {
        fallen.append(
          Item(id: id, text: texts[id] ?? catalog[id]?.text ?? "#\(id)", count: count, locator: first[id], average: avg)
        )
      }
    }
    out.fell = fallen.sorted { ($0.average ?? 0, $1.id) > ($1.average ?? 0, $0.id) }
    return out
  }

  /// The section as Markdown; empty when the period had no log events.
  func markdown(limit: Int = 20) -> String {
    guard events > 0 || !fell.isEmpty else { return "" }
    var md = "## What changed in the logs (computed, no model)\n\n"
    md += "\(events) events of \(counts.count) templates in this period's new lines."
    if !severities.isEmpty {
      md +=
        " By severity: " + severities.map { "\($0.level) \($0.count) (first [\($0.first)])" }.joined(separator: ", ")
    }
    md += "\n\n"
    func row(_ i: Item) -> String {
      let avg = i.average.map { String(format: "%.1f", $0) } ?? "–"
      let at = i.locator.map { "[\($0)]" } ?? "–"
      return
        "| \(i.count) | \(avg) | `\(i.text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "`", with: "'"))` | \(at) |\n"
    }
    func table(_ title: String, _ items: [Item]) -> String {
      guard !items.isEmpty else { return "" }
      var t = "### \(title)\n\n| events | mean before | template | first |\n|---:|---:|---|---|\n"
      for i in items.prefix(limit) { t += row(i) }
      if items.count > limit { t += "\n… and \(items.count - limit) more (`longctx templates` lists all).\n" }
      return t + "\n"
    }
    if firstPeriod {
      md += "The first period: there is nothing to compare with yet.\n\n"
      md += table("Templates by count", top)
      return md
    }
    md += "New templates: \(newTemplates.count); rose tenfold: \(rose.count); fell tenfold: \(fell.count) "
    md += "(against the mean of the last \(Self.window) periods).\n\n"
    md += table("Templates never seen before this period", newTemplates)
    md += table("Rose tenfold or more", rose)
    md += table("Fell tenfold or more", fell)
    return md
  }
}
