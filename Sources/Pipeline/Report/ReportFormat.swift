import Foundation
import Storage

/// The formats a job's report is written in.
public enum ReportFormat: String, Codable, Sendable, CaseIterable {
  case md, json, html, csv

  /// The file extension of the format.
  public var fileExtension: String { rawValue }
}

extension ReportWriter {
  /// The report of `job` in `format`.
  ///
  /// - Throws: `PipelineError.unknownJob` when the job has no tasks.
  public func render(job: String, format: ReportFormat, spec: JobSpec? = nil) throws -> String {
    let data = try ReportData(workspace: workspace, job: job, spec: spec)
    return try render(data, format: format, prices: spec?.prices)
  }

  func render(_ data: ReportData, format: ReportFormat, prices: JobSpec.Prices?) throws -> String {
    switch format {
    case .md: return markdown(data, prices: prices)
    case .json:
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
      return String(decoding: try encoder.encode(json(data)), as: UTF8.self)
    case .html: return ReportHTML(data: data).render()
    case .csv: return ReportCSV.render(data)
    }
  }

  /// Writes the job's report in each of its formats (`report.formats`, default Markdown)
  /// where the job says (default `reports/JOB.md` beside the job file; other formats
  /// beside it with their extension).
  ///
  /// - Returns: The Markdown report's path (or the first format's).
  public func write(job spec: JobSpec) throws -> String {
    let rel = spec.reportFile
    let url =
      (rel.hasPrefix("/")
      ? URL(fileURLWithPath: rel) : URL(fileURLWithPath: spec.baseDirectory).appendingPathComponent(rel))
      .standardizedFileURL
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    let data = try ReportData(workspace: workspace, job: spec.name, spec: spec)
    var written: [String] = []
    for format in spec.reportFormats {
      let target =
        format == .md && url.pathExtension == "md"
        ? url : url.deletingPathExtension().appendingPathExtension(format.fileExtension)
      try AtomicFile.write(Data(try render(data, format: format, prices: spec.prices).utf8), to: target)
      written.append(target.path)
    }
    if let coding = data.coding {
      try AtomicFile.write(Data(coding.csv.utf8), to: CodingTable.csvURL(for: spec))
    }
    return written.first ?? url.path
  }
}

/// The CSV form: one row per task, RFC 4180 quoting.
enum ReportCSV {
  static let header = [
    "kind", "level", "ordinal", "state", "attempts", "prompt_tokens", "output_tokens", "seconds", "cited_verified",
    "cited_outside", "cited_unknown", "statements", "uncited_statements", "quotes_not_found", "sources_read", "cited",
    "error", "output",
  ]

  static func render(_ data: ReportData) -> String {
    if let items = renderItems(data) { return items }
    var out = header.joined(separator: ",") + "\r\n"
    for t in data.tasks {
      let c = data.checks[t.id]
      var row: [String] = [t.kind.rawValue, String(t.level), String(t.ordinal + 1), t.state.rawValue]
      row.append(String(t.attempts))
      row.append(t.promptTokens.map(String.init) ?? "")
      row.append(t.outputTokens.map(String.init) ?? "")
      row.append(t.durationMs.map { String(format: "%.3f", $0 / 1000) } ?? "")
      for state in CitationState.allCases { row.append(c.map { String($0.count(state)) } ?? "") }
      row.append(c.map { String($0.statements) } ?? "")
      row.append(c.map { String($0.uncitedStatements) } ?? "")
      row.append(c.map { String($0.quotes.filter { !$0.found }.count) } ?? "")
      row.append(t.locatorList.joined(separator: " "))
      row.append(c.map { $0.citations.map { "\($0.citation) \($0.state.rawValue)" }.joined(separator: "; ") } ?? "")
      row.append(t.error ?? "")
      row.append(t.output ?? "")
      out += row.map(field).joined(separator: ",") + "\r\n"
    }
    return out
  }

  /// A field, quoted when it holds a comma, quote or line break; a leading
  /// `=`, `+`, `-` or `@` gets a `'` so spreadsheets do not run it as a formula.
  static func field(_ s: String) -> String {
    var v = s
    if let first = v.first, "=+-@".contains(first), Double(v) == nil { v = "'" + v }
    guard v.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return v }
    return "\"" + v.replacingOccurrences(of: "\"", with: "\"\"") + "\""
  }
}

extension ReportCSV {
  /// The objects a structured map output lists: a top-level array of objects,
  /// or an object whose one member is one (`{"pages": [{…}, …]}`).
  static func items(_ output: String) -> [[String: Any]]? {
    guard let value = try? JSONSerialization.jsonObject(with: Data(output.utf8)) else { return nil }
    if let list = value as? [[String: Any]] { return list }
    guard let object = value as? [String: Any], object.count == 1, let list = object.values.first as? [[String: Any]]
    else { return nil }
    return list
  }

  /// For a structured job (every finished map output lists objects), one row
  /// per listed object, say per page or document: its window, its members,
  /// and each citation member's state. Nil when the outputs are not all such lists.
  static func renderItems(_ data: ReportData) -> String? {
    let maps = data.tasks.filter { $0.kind == .map && $0.state == .done }
    guard !maps.isEmpty else { return nil }
    var rows: [(TaskRecord, [String: Any])] = []
    var keys: [String] = []
    var seen = Set<String>()
    for t in maps {
      guard let list = items(t.output ?? "") else { return nil }
      for item in list {
        rows.append((t, item))
        for k in item.keys.sorted() where seen.insert(k).inserted { keys.append(k) }
      }
    }
    guard !rows.isEmpty else { return nil }
    let cited = keys.filter { OutputParser.citationKeys.contains($0.lowercased()) }
    let checker = CitationChecker(lookup: data.lookup)
    var out = (["window"] + keys + cited.map { "\($0)_state" }).map(field).joined(separator: ",") + "\r\n"
    for (t, item) in rows {
      var row = [String(t.ordinal + 1)]
      for k in keys { row.append(text(item[k])) }
      for k in cited {
        let value = text(item[k])
        row.append(value.isEmpty ? "" : checker.state(of: value, sources: t.locators).state.rawValue)
      }
      out += row.map(field).joined(separator: ",") + "\r\n"
    }
    return out
  }

  /// A member's value as a cell: strings as they are, anything else as compact JSON.
  static func text(_ value: Any?) -> String {
    guard let value, !(value is NSNull) else { return "" }
    if let s = value as? String { return s }
    if let b = value as? Bool { return b ? "true" : "false" }
    if let n = value as? NSNumber { return n.stringValue }
    let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed])
    return data.map { String(decoding: $0, as: UTF8.self) } ?? ""
  }
}
