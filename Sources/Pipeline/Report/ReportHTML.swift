import Foundation
import Ingest

/// The HTML report: one self-contained file (inline style, script and SVG;
/// no network), every text escaped. Each citation is a link that opens the
/// cited source text in place (the texts are embedded once per locator);
/// tables sort on a click on their header; long outputs are collapsed.
struct ReportHTML {
  let data: ReportData

  /// Characters of one embedded source text at most (the rest: `longctx quote`).
  static let sourceLimit = 6000
  /// Outputs longer than this start collapsed.
  static let openLimit = 1200

  /// Embedded source texts: key → index, and their JSON entries.
  private final class Store {
    var index: [String: Int] = [:]
    var entries: [[String: String]] = []
    var factLinks = 0
  }
  private let store = Store()

  init(data: ReportData) { self.data = data }

  func render() -> String {
    let tasks = data.tasks
    let maps = tasks.filter { $0.kind == .map }
    let failed = tasks.filter { $0.state == .failed }
    var body = "<header><h1>Report: \(esc(data.job))</h1>"
    let prompt = tasks.compactMap(\.promptTokens).reduce(0, +)
    let output = tasks.compactMap(\.outputTokens).reduce(0, +)
    body +=
      "<p>\(maps.count) windows, \(tasks.count) tasks (\(failed.count) failed); \(prompt) prompt and \(output) output tokens; model <code>\(esc(data.model))</code>.</p>"
    let c = data.counts
    body +=
      "<p class=\"counts\" id=\"citation-counts\">Citations in the model's text: <span class=\"b verified\">\(c.verified) verified ✓</span> <span class=\"b outside\">\(c.outside) outside ⚠</span> <span class=\"b unknown\">\(c.unknown) unknown ✗</span>; "
    body +=
      c.statements > 0
      ? "\(c.uncitedStatements) of \(c.statements) statements cite nothing" : "no prose statements to count"
    if c.quotes > 0 { body += "; \(c.quotes) quotes checked, \(c.quotesNotFound) not found" }
    body += ".</p></header>"
    body += facts()
    body += "<section id=\"answer\"><h2>Summary</h2>"
    if let top = data.top, maps.count > 1 || top.kind == .map {
      body +=
        "<p class=\"label\">The model's answer, not checked beyond its citations and quotes: the mark after each citation says whether the workspace holds it and the task read it.</p>"
      body += statement(top, open: true)
    } else {
      body += "<p><em>No summary: no task finished.</em></p>"
    }
    body += "</section>" + (data.coding?.html ?? "") + "<section id=\"windows\"><h2>Windows</h2>"
    for t in maps {
      body += "<h3 id=\"w\(t.ordinal + 1)\">Window \(t.ordinal + 1)</h3>"
      switch t.state {
      case .done: body += statement(t, open: (t.output ?? "").count <= Self.openLimit && maps.count <= 300)
      case .failed:
        body += "<p class=\"fail\">Failed after \(t.attempts) attempts: \(esc(t.error ?? "unknown error"))</p>"
        if let raw = t.output, !raw.isEmpty {
          body += "<details><summary>Raw output (rejected)</summary><pre>\(esc(raw))</pre></details>"
        }
      case .pending, .leased: body += "<p><em>Not run yet.</em></p>"
      }
    }
    body += "</section>"
    let documents = tasks.filter { $0.kind == .document && $0.state == .done }
    if !documents.isEmpty {
      body += "<section id=\"documents\"><h2>Documents</h2>"
      var shown = Set<String>()
      for t in documents.sorted(by: { ($0.level, $0.ordinal) > ($1.level, $1.ordinal) }) {
        let name = DocumentReduce.document(of: t)
        if shown.insert(name).inserted { body += "<h3>\(esc(name))</h3>" + statement(t, open: false) }
      }
      body += "</section>"
    }
    body += taskTable()
    return Self.page(title: "Report: \(data.job)", body: body, sources: sourcesJSON())
  }

  // MARK: - Parts

  private func statement(_ task: TaskRecord, open: Bool) -> String {
    let text = (task.output ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    guard let check = data.checks[task.id] else { return "<pre class=\"out\">\(esc(text))</pre>" }
    var html = ""
    let parsed = OutputParser.parse(text)
    let prose =
      parsed.json ? "<pre class=\"out\">\(esc(text))</pre>" : "<div class=\"out\">\(linked(text, parsed, check))</div>"
    if open {
      html += prose
    } else {
      let preview = String(text.prefix(160)).replacingOccurrences(of: "\n", with: " ")
      html += "<details class=\"long\"><summary>\(esc(preview))… (\(text.count) characters)</summary>\(prose)</details>"
    }
    var seen = Set<String>()
    let cited = check.citations.filter { seen.insert($0.citation).inserted }
    html += "<p class=\"cited\">Cited in the text: "
    html += cited.isEmpty ? "nothing" : cited.map { link($0, label: $0.citation) }.joined(separator: " ")
    if check.statements > 0 { html += ". Statements citing nothing: \(check.uncitedStatements) of \(check.statements)" }
    html += ".</p><p class=\"read\">Sources (what this task read): "
    html += task.locatorList.prefix(200).map { "<code>\(esc($0))</code>" }.joined(separator: " ")
    if task.locatorList.count > 200 { html += " … and \(task.locatorList.count - 200) more" }
    html += "</p>"
    for q in check.quotes where !q.found {
      html +=
        "<p class=\"quote-missing\">Quote not found ✗: “\(esc(q.quote))” is not in \(esc(q.checkedAgainst.joined(separator: ", "))).</p>"
    }
    return html
  }

  /// The output with each bracketed citation made a link.
  private func linked(_ text: String, _ parsed: OutputParser, _ check: OutputCheck) -> String {
    var html = ""
    var from = text.startIndex
    var k = 0
    let n = min(parsed.citations.count, check.citations.count)
    while k < n {
      guard let open = parsed.citations[k].open, let close = parsed.citations[k].close, open >= from else {
        k += 1
        continue
      }
      html += esc(String(text[from..<open]))
      var links: [String] = []
      while k < n && parsed.citations[k].close == close {
        links.append(link(check.citations[k], label: parsed.citations[k].text))
        k += 1
      }
      html += "[" + links.joined(separator: ", ") + "]"
      from = text.index(after: close)
    }
    html += esc(String(text[from...]))
    return html.replacingOccurrences(of: "\n", with: "<br>")
  }

  /// A citation link with its mark; its source text goes into the store.
  private func link(_ c: CitationCheck, label: String, mark: Bool = true) -> String {
    let key = c.resolved ?? c.citation
    let id: Int
    if let existing = store.index[key] {
      id = existing
    } else {
      id = store.entries.count
      store.index[key] = id
      var entry = ["l": key, "s": c.state.rawValue]
      if let reason = c.reason { entry["r"] = reason }
      if c.state != .unknown, let loc = Locator(citation: key[...]), let text = try? data.lookup.text(of: loc).text {
        entry["t"] =
          text.count > Self.sourceLimit
          ? String(text.prefix(Self.sourceLimit))
            + "\n… (\(text.count - Self.sourceLimit) more characters: longctx quote '\(key)')"
          : text
      }
      store.entries.append(entry)
    }
    guard mark else {
      return "<a href=\"#\" class=\"cite fact\" data-k=\"\(id)\" title=\"show the text\">\(esc(label))</a><span></span>"
    }
    return
      "<a href=\"#\" class=\"cite \(c.state.rawValue)\" data-k=\"\(id)\" title=\"\(esc(c.reason ?? c.state.rawValue))\">\(esc(label))</a><span class=\"mark \(c.state.rawValue)\">\(esc(c.state.mark))</span>"
  }

  private func sourcesJSON() -> String {
    let json = (try? JSONSerialization.data(withJSONObject: store.entries, options: [])) ?? Data("[]".utf8)
    // Safe inside <script>: no `</script>` or `<!--` can close or open anything.
    return String(decoding: json, as: UTF8.self).replacingOccurrences(of: "<", with: "\\u003c")
      .replacingOccurrences(of: ">", with: "\\u003e").replacingOccurrences(of: "&", with: "\\u0026")
  }

  private func taskTable() -> String {
    var html =
      "<section id=\"tasks\"><h2>Tasks</h2><table class=\"sortable\"><thead><tr><th>task</th><th>state</th><th>attempts</th><th>prompt tokens</th><th>output tokens</th><th>seconds</th><th>verified</th><th>outside</th><th>unknown</th><th>uncited statements</th></tr></thead><tbody>"
    for t in data.tasks {
      let name = t.kind == .map ? "map \(t.ordinal + 1)" : "\(t.kind) \(t.level).\(t.ordinal + 1)"
      let c = data.checks[t.id]
      var cells: [String] = [esc(name), t.state.rawValue, String(t.attempts)]
      cells.append(t.promptTokens.map(String.init) ?? "")
      cells.append(t.outputTokens.map(String.init) ?? "")
      cells.append(t.durationMs.map { String(format: "%.1f", $0 / 1000) } ?? "")
      for state in CitationState.allCases { cells.append(c.map { String($0.count(state)) } ?? "") }
      cells.append(c.map { String($0.uncitedStatements) } ?? "")
      html += "<tr>" + cells.map { "<td>\($0)</td>" }.joined() + "</tr>"
    }
    return html + "</tbody></table></section>"
  }

  // MARK: - Computed facts

  private func facts() -> String {
    let f = data.facts
    var html =
      "<section id=\"facts\"><h2>Computed facts</h2><p class=\"label\">Counted from the workspace, no model involved.</p>"
    html += table(
      ["kind", "documents", "pages", "lines", "bytes"],
      f.read.map { [esc($0.kind), String($0.documents), String($0.pages), String($0.lines), String($0.bytes)] })
    if !f.exceptions.isEmpty {
      html += "<h3>Failed, skipped and warnings</h3>"
      html += table(
        ["severity", "file", "reason"],
        f.exceptions.prefix(500).map { [esc($0.severity), "<code>\(esc($0.path))</code>", esc($0.reason)] })
    } else {
      html += "<p>No file failed, was skipped or has a warning.</p>"
    }
    if f.leftOutCount > 0 {
      html += "<p>Left out of the windows: \(f.leftOutCount) chunks: "
      html += f.leftOut.keys.sorted().map { "\(f.leftOut[$0] ?? 0) \(esc($0))" }.joined(separator: "; ") + ".</p>"
    }
    if f.logEvents > 0 {
      html += "<h3>Log events by severity</h3><p>\(f.logEvents) events.</p>"
      html += table(
        ["severity", "events", "for example"],
        f.bySeverity.map { [esc($0.severity), String($0.events), $0.locators.map { code($0) }.joined(separator: " ")] })
      if !f.byHour.isEmpty { html += "<h3>Log events by hour (UTC)</h3>" + hourChart(f) }
      if !f.topTemplates.isEmpty {
        html += "<h3>Log templates by count</h3><p>\(f.templateCount) templates.</p>"
        html += table(
          ["events", "template", "first", "last", "first event"],
          f.topTemplates.map {
            [String($0.events), esc($0.template), esc($0.firstTime ?? "—"), esc($0.lastTime ?? "—"), code($0.locator)]
          })
      }
    }
    html += fillChart()
    if !f.documents.isEmpty {
      html += "<h3>Documents by date</h3>" + documentChart(f)
      html += table(
        ["date", "author or sender", "title or subject", "source"],
        f.documents.prefix(1000).map {
          [esc($0.date ?? ""), esc($0.author ?? ""), esc($0.title ?? ""), code($0.locator)]
        })
    }
    if !f.languages.isEmpty {
      html += "<h3>Source files by language</h3>"
      html += table(
        ["language", "files", "lines", "for example"],
        f.languages.map {
          [esc($0.language), String($0.files), String($0.lines), $0.locators.map { code($0) }.joined(separator: " ")]
        })
    }
    if !f.centralFiles.isEmpty {
      html += "<h3>Most central source files</h3>"
      html += table(
        ["file", "why"], f.centralFiles.map { [code($0.locator), esc($0.reasons.joined(separator: ", "))] })
    }
    return html + "</section>"
  }

  /// A locator a fact cites: a link that shows its text, for the first `factLinks` of them.
  private func code(_ s: String) -> String {
    guard store.factLinks < Self.factLinks, Locator(citation: s[...]) != nil else { return "<code>\(esc(s))</code>" }
    store.factLinks += 1
    let check = CitationCheck(citation: s, state: .verified)
    return "<code>" + link(check, label: s, mark: false) + "</code>"
  }

  /// Locators of the computed facts that get their text embedded.
  static let factLinks = 200

  private func table(_ header: [String], _ rows: [[String]]) -> String {
    "<table class=\"sortable\"><thead><tr>" + header.map { "<th>\(esc($0))</th>" }.joined() + "</tr></thead><tbody>"
      + rows.map { "<tr>" + $0.map { "<td>\($0)</td>" }.joined() + "</tr>" }.joined() + "</tbody></table>"
  }

  static let colors: [String: String] = [
    "FATAL": "#7b1fa2", "CRITICAL": "#7b1fa2", "EMERGENCY": "#7b1fa2", "ALERT": "#7b1fa2", "ERROR": "#d32f2f",
    "WARN": "#f9a825", "NOTICE": "#0288d1", "INFO": "#43a047", "DEBUG": "#9e9e9e", "TRACE": "#bdbdbd",
  ]

  /// Stacked bars: events per hour by severity.
  private func hourChart(_ f: ComputedFacts) -> String {
    let width = 760.0
    let height = 180.0
    let levels = f.bySeverity.map(\.severity).reversed()
    let maxTotal = max(1, f.byHour.map { $0.events.values.reduce(0, +) }.max() ?? 1)
    let bar = width / Double(max(1, f.byHour.count))
    var svg =
      "<svg id=\"chart-hours\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(width)) \(Int(height) + 30)\" role=\"img\"><title>Log events per hour by severity</title>"
    for (i, h) in f.byHour.enumerated() {
      var y = height
      for level in levels {
        let n = h.events[level] ?? 0
        guard n > 0 else { continue }
        let hgt = height * Double(n) / Double(maxTotal)
        y -= hgt
        svg +=
          "<rect x=\"\(fmt(Double(i) * bar + 1))\" y=\"\(fmt(y))\" width=\"\(fmt(max(1, bar - 2)))\" height=\"\(fmt(hgt))\" fill=\"\(Self.colors[level] ?? "#607d8b")\"><title>\(esc(h.hour)) \(esc(level)): \(n)</title></rect>"
      }
    }
    if let first = f.byHour.first, let last = f.byHour.last {
      svg += "<text x=\"0\" y=\"\(Int(height) + 20)\" font-size=\"12\">\(esc(first.hour))</text>"
      svg +=
        "<text x=\"\(Int(width))\" y=\"\(Int(height) + 20)\" font-size=\"12\" text-anchor=\"end\">\(esc(last.hour))</text>"
    }
    svg += "</svg><p class=\"legend\">"
    svg += f.bySeverity.map {
      "<span style=\"color:\(Self.colors[$0.severity] ?? "#607d8b")\">■</span> \(esc($0.severity)) (\($0.events))"
    }.joined(separator: " ")
    svg += "; busiest \(f.byHour.count) hours, max \(maxTotal) events in an hour.</p>"
    return svg
  }

  /// Bars: each window's tokens against the budget.
  private func fillChart() -> String {
    guard let plan = data.plan, !plan.windows.isEmpty, plan.budget > 0 else { return "" }
    let width = 760.0
    let height = 100.0
    let n = plan.windows.count
    let bar = width / Double(n)
    var svg =
      "<h3>Fill of each window</h3><svg id=\"chart-fill\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\"><title>Tokens of each window against the budget of \(plan.budget)</title>"
    if n <= 400 {
      for (i, w) in plan.windows.enumerated() {
        let h = height * min(1, Double(w.tokens) / Double(plan.budget))
        svg +=
          "<rect x=\"\(fmt(Double(i) * bar))\" y=\"\(fmt(height - h))\" width=\"\(fmt(max(0.5, bar - 1)))\" height=\"\(fmt(h))\" fill=\"#1976d2\"><title>window \(i + 1): \(w.tokens) of \(plan.budget) tokens</title></rect>"
      }
    } else {
      // Thousands of windows: one path, a point per window.
      var d = "M0 \(Int(height))"
      for (i, w) in plan.windows.enumerated() {
        d += " L\(fmt(Double(i) * bar)) \(fmt(height * (1 - min(1, Double(w.tokens) / Double(plan.budget)))))"
      }
      d += " L\(Int(width)) \(Int(height)) Z"
      svg += "<path d=\"\(d)\" fill=\"#1976d2\"/>"
    }
    return svg
      + "</svg><p class=\"legend\">\(n) windows, mean fill \(String(format: "%.1f", plan.meanFill * 100))% of \(plan.budget) tokens.</p>"
  }

  /// Bars: documents (PDFs, messages) per day, or per month over a longer span.
  private func documentChart(_ f: ComputedFacts) -> String {
    let iso = ISO8601DateFormatter()
    let mail = DateFormatter()
    mail.locale = Locale(identifier: "en_US_POSIX")
    let day = DateFormatter()
    day.locale = Locale(identifier: "en_US_POSIX")
    day.timeZone = TimeZone(identifier: "UTC")
    day.dateFormat = "yyyy-MM-dd"
    var dates: [Date] = []
    for d in f.documents {
      guard let text = d.date else { continue }
      if let t = iso.date(from: text) {
        dates.append(t)
        continue
      }
      for format in ["EEE, d MMM yyyy HH:mm:ss Z", "d MMM yyyy HH:mm:ss Z", "EEE, d MMM yyyy HH:mm Z"] {
        mail.dateFormat = format
        if let t = mail.date(from: text) {
          dates.append(t)
          break
        }
      }
    }
    guard dates.count >= 2 else { return "" }
    var buckets: [String: Int] = [:]
    for d in dates { buckets[day.string(from: d), default: 0] += 1 }
    if buckets.count > 60 {
      var months: [String: Int] = [:]
      for (k, v) in buckets { months[String(k.prefix(7)), default: 0] += v }
      buckets = months
    }
    let keys = buckets.keys.sorted()
    guard keys.count >= 2 else { return "" }
    let width = 760.0
    let height = 100.0
    let top = Double(buckets.values.max() ?? 1)
    let bar = width / Double(keys.count)
    var svg =
      "<svg id=\"chart-documents\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(width)) \(Int(height) + 24)\" role=\"img\"><title>Documents by date</title>"
    for (i, k) in keys.enumerated() {
      let n = buckets[k] ?? 0
      let h = height * Double(n) / top
      svg +=
        "<rect x=\"\(fmt(Double(i) * bar + 1))\" y=\"\(fmt(height - h))\" width=\"\(fmt(max(1, bar - 2)))\" height=\"\(fmt(h))\" fill=\"#6d4c41\"><title>\(esc(k)): \(n)</title></rect>"
    }
    svg += "<text x=\"0\" y=\"\(Int(height) + 18)\" font-size=\"12\">\(esc(keys[0]))</text>"
    svg +=
      "<text x=\"\(Int(width))\" y=\"\(Int(height) + 18)\" font-size=\"12\" text-anchor=\"end\">\(esc(keys[keys.count - 1]))</text></svg>"
    return svg
      + "<p class=\"legend\">\(dates.count) dated documents over \(keys.count) \(keys[0].count == 7 ? "months" : "days").</p>"
  }

  private func fmt(_ v: Double) -> String { String(format: "%.1f", v) }

  // MARK: - Page

  static func page(title: String, body: String, sources: String) -> String {
    """
    <!DOCTYPE html>
    <html lang="en"><head><meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>\(esc(title))</title>
    <style>
    body{font:15px/1.45 system-ui,sans-serif;max-width:60em;margin:1em auto;padding:0 1em;color:#222}
    h1{font-size:1.5em}h2{border-bottom:1px solid #ccc;margin-top:1.6em}
    table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:2px 6px;text-align:left;vertical-align:top}
    th{background:#f3f3f3;cursor:pointer}th.asc:after{content:" ▲"}th.desc:after{content:" ▼"}
    .b{padding:1px 6px;border-radius:3px}.verified{color:#1b5e20}.outside{color:#e65100}.unknown{color:#b71c1c}
    .b.verified{background:#e8f5e9}.b.outside{background:#fff3e0}.b.unknown{background:#ffebee}
    a.cite{text-decoration:none;border-bottom:1px dotted}.mark{font-size:.85em;margin-left:2px}
    blockquote.src{margin:.4em 0;padding:.4em .8em;background:#f7f7f7;border-left:3px solid #1976d2;white-space:pre-wrap;font:13px/1.35 ui-monospace,monospace}
    .label{color:#555;font-style:italic}.cited,.read{font-size:.9em;color:#444}.quote-missing,.fail{color:#b71c1c}
    .out{margin:.5em 0}pre{white-space:pre-wrap}svg.chart{width:100%;height:auto;background:#fafafa}
    </style></head><body>
    \(body)
    <script type="application/json" id="sources">\(sources)</script>
    <script>
    (function(){
    var src=JSON.parse(document.getElementById('sources').textContent);
    document.addEventListener('click',function(e){
    var a=e.target.closest('a.cite');if(!a)return;e.preventDefault();
    var next=a.nextElementSibling&&a.nextElementSibling.nextElementSibling;
    if(next&&next.classList.contains('src')){next.remove();return;}
    var s=src[+a.dataset.k]||{};var q=document.createElement('blockquote');q.className='src';
    q.textContent=s.t!==undefined?('['+s.l+']\\n'+s.t):('['+s.l+'] '+(s.r||'no stored text'));
    a.nextElementSibling.after(q);});
    document.querySelectorAll('table.sortable th').forEach(function(th){th.addEventListener('click',function(){
    var table=th.closest('table'),body=table.tBodies[0],i=Array.prototype.indexOf.call(th.parentNode.children,th);
    var asc=!th.classList.contains('asc');table.querySelectorAll('th').forEach(function(h){h.classList.remove('asc','desc');});
    th.classList.add(asc?'asc':'desc');
    var rows=Array.prototype.slice.call(body.rows);
    rows.sort(function(a,b){var x=a.cells[i].textContent,y=b.cells[i].textContent,nx=parseFloat(x),ny=parseFloat(y);
    var c=(!isNaN(nx)&&!isNaN(ny))?nx-ny:x.localeCompare(y);return asc?c:-c;});
    rows.forEach(function(r){body.appendChild(r);});});});
    })();
    </script>
    </body></html>

    """
  }
}

/// `text` escaped for HTML element content and attribute values.
private func esc(_ text: String) -> String {
  var out = ""
  out.reserveCapacity(text.utf8.count)
  for c in text.unicodeScalars {
    switch c {
    case "&": out += "&amp;"
    case "<": out += "&lt;"
    case ">": out += "&gt;"
    case "\"": out += "&quot;"
    case "'": out += "&#39;"
    default: out.unicodeScalars.append(c)
    }
  }
  return out
}
