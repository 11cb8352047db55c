import Foundation

/// Extracts log files (plain, .gz, .zst) into sections of whole events with
/// line-range locators into the decompressed file.
struct LogExtractor {
  var maxLines = 40
  var maxBytes = 4096

  func extract(path: String, displayPath: String) throws -> ExtractedDocument {
    let data = try Decompression.read(path: path)
    let text = TextLines(data)
    let lines = text.lines
    let ranges = LineGrouper.group(lines, maxLines: maxLines, maxBytes: maxBytes) { i in
      !LogLine.isContinuation(lines[i])
    }
    var sections: [Section] = []
    var severities: [String: Int] = [:]
    for r in ranges {
      let body = lines[r].joined(separator: "\n")
      if body.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { continue }
      let severity = lines[r].compactMap(LogLine.severity).max(by: { LogLine.rank($0) < LogLine.rank($1) })
      if let severity { severities[severity, default: 0] += 1 }
      sections.append(
        Section(
          locator: Locator(path: displayPath, lineStart: r.lowerBound + 1, lineEnd: r.upperBound),
          text: body, severity: severity))
    }
    var meta = ["lines": String(lines.count)]
    if path.hasSuffix(".gz") { meta["compression"] = "gzip" }
    if path.hasSuffix(".zst") { meta["compression"] = "zstd" }
    return ExtractedDocument(
      kind: .log, title: nil, metadata: meta, sections: sections, warnings: text.warnings,
      extractor: "log-1")
  }
}

/// Recognises log-line structure: continuation lines and severities.
enum LogLine {
  static let levels = ["TRACE", "DEBUG", "INFO", "NOTICE", "WARN", "WARNING", "ERROR", "CRITICAL", "FATAL", "PANIC"]

  /// A line that continues the previous event: indented, a stack-trace line,
  /// or a line that starts with neither a timestamp, a bracket, a brace nor a severity.
  static func isContinuation(_ line: Substring) -> Bool {
    guard let first = line.first else { return false }
    if first == " " || first == "\t" { return true }
    if line.hasPrefix("Caused by:") || line.hasPrefix("...") { return true }
    if first.isNumber || first == "[" || first == "{" || first == "<" { return false }
    let head = line.prefix(12).uppercased()
    if levels.contains(where: { head.hasPrefix($0) }) { return false }
    // syslog: "Mar  9 02:10:01 host ..."
    let months = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    if months.contains(where: { head.hasPrefix($0 + " ") }) { return false }
    // An exception name such as "java.sql.SQLException: …" continues the event above.
    return line.range(of: #"^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)+(Exception|Error)\b"#, options: .regularExpression) != nil
      || line.hasPrefix("Traceback")
  }

  /// The severity word of a line, normalised (WARNING → WARN).
  static func severity(_ line: Substring) -> String? {
    let head = line.prefix(120)
    for level in levels.reversed() where head.contains(level) {
      return level == "WARNING" ? "WARN" : level
    }
    return nil
  }

  static func rank(_ level: String) -> Int { levels.firstIndex(of: level) ?? 0 }
}
