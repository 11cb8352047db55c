import Foundation

/// Extracts log files (plain, .gz, .zst, JSON lines) into sections of whole
/// events with line-range locators into the decompressed file, the highest
/// severity and the first and last event time of each section.
struct LogExtractor {
  var maxLines = 40
  var maxBytes = 4096
  /// The year given to syslog timestamps, which carry none.
  var syslogYear = Calendar(identifier: .gregorian).component(.year, from: Date())
  /// Replace secrets with `[REDACTED:kind]`.
  var redact = true

  func extract(path: String, displayPath: String) throws -> ExtractedDocument {
    let data = try Decompression.read(path: path)
    let text = TextLines(data)
    let lines = text.lines
    var starts = [Bool](repeating: false, count: lines.count)
    for i in lines.indices { starts[i] = !LogLine.isContinuation(lines[i]) }
    let ranges = LineGrouper.group(lines, maxLines: maxLines, maxBytes: maxBytes) { i in starts[i] }
    var sections: [Section] = []
    var severities: [String: Int] = [:]
    var jsonLines = 0
    var redactor = Redactor(enabled: redact)
    for r in ranges {
      var body = text.joined(r)
      if body.allSatisfy(\.isWhitespace) { continue }
      var severity: String?
      var rank = -1
      for line in lines[r] {
        let level: String?
        if line.first == "{", let record = JSONLogLine(line) {
          jsonLines += 1
          level = record.level
        } else {
          level = LogLine.severity(line)
        }
        if let level, LogLine.rank(level) > rank {
          severity = level
          rank = LogLine.rank(level)
        }
      }
      if let severity { severities[severity, default: 0] += 1 }
      // First and last event times: only event-starting lines carry one.
      var first: Double?
      var last: Double?
      for i in r where starts[i] {
        if let t = LogTimestamp.parse(lines[i], defaultYear: syslogYear) { first = t; break }
      }
      for i in r.reversed() where starts[i] {
        if let t = LogTimestamp.parse(lines[i], defaultYear: syslogYear) { last = t; break }
      }
      let locator = Locator(path: displayPath, lineStart: r.lowerBound + 1, lineEnd: r.upperBound)
      body = redactor.redact(body, locator: locator)
      sections.append(
        Section(locator: locator, text: body, severity: severity, firstTimestamp: first, lastTimestamp: last))
    }
    var meta = ["lines": String(lines.count)]
    if path.hasSuffix(".gz") { meta["compression"] = "gzip" }
    if path.hasSuffix(".zst") { meta["compression"] = "zstd" }
    if jsonLines > 0 { meta["format"] = "json-lines" }
    let iso = ISO8601DateFormatter()
    if let t = sections.lazy.compactMap(\.firstTimestamp).first { meta["first_time"] = iso.string(from: Date(timeIntervalSince1970: t)) }
    if let t = sections.reversed().lazy.compactMap(\.lastTimestamp).first { meta["last_time"] = iso.string(from: Date(timeIntervalSince1970: t)) }
    for (level, n) in severities { meta["sections.\(level)"] = String(n) }
    return ExtractedDocument(
      kind: .log, title: nil, metadata: meta, sections: sections, warnings: text.warnings + redactor.warnings,
      extractor: "log-2")
  }
}

/// Recognises log-line structure: continuation lines and severities.
enum LogLine {
  static let levels = ["TRACE", "DEBUG", "INFO", "NOTICE", "WARN", "WARNING", "ERROR", "CRITICAL", "FATAL", "PANIC"]
  private static let months = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]

  /// A line that continues the previous event: indented, a stack-trace line,
  /// or a line that starts with neither a timestamp, a bracket, a brace nor a severity.
  static func isContinuation(_ line: Substring) -> Bool {
    guard let first = line.utf8.first else { return false }
    if first == 0x20 || first == 0x09 { return true }
    // Digits (timestamps), brackets, braces and angle brackets start events.
    if (first >= 0x30 && first <= 0x39) || first == UInt8(ascii: "[") || first == UInt8(ascii: "{")
      || first == UInt8(ascii: "<")
    {
      return false
    }
    if line.hasPrefix("Caused by:") || line.hasPrefix("...") { return true }
    let head = line.prefix(12).uppercased()
    if levels.contains(where: { head.hasPrefix($0) }) { return false }
    // syslog: "Mar  9 02:10:01 host ..."
    if months.contains(where: { head.hasPrefix($0 + " ") }) { return false }
    // An exception name such as "java.sql.SQLException: …" continues the event above.
    return isExceptionName(line) || line.hasPrefix("Traceback")
  }

  /// Whether the line starts with a dotted name ending in Exception or Error
  /// (`java.sql.SQLException: …`). Hand-written: a regular expression here
  /// cost a tenth of log ingest time.
  static func isExceptionName(_ line: Substring) -> Bool {
    var components = 0
    var current: [UInt8] = []
    var last: [UInt8] = []
    func isIdentifierByte(_ b: UInt8, first: Bool) -> Bool {
      let letter = (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F || b == 0x24
      return letter || (!first && b >= 0x30 && b <= 0x39)
    }
    for b in line.utf8.prefix(256) {
      if b == UInt8(ascii: ".") {
        guard !current.isEmpty else { return false }
        components += 1
        current.removeAll(keepingCapacity: true)
      } else if isIdentifierByte(b, first: current.isEmpty) {
        current.append(b)
      } else {
        break
      }
    }
    last = current
    guard components >= 1, !last.isEmpty else { return false }
    return last.count > 9 && last.suffix(9).elementsEqual("Exception".utf8)
      || last.count > 5 && last.suffix(5).elementsEqual("Error".utf8)
      || last.elementsEqual("Exception".utf8) || last.elementsEqual("Error".utf8)
  }

  /// The highest severity word among the first 120 bytes of a line, normalised
  /// (WARNING → WARN). Works on bytes: this runs once per log line.
  static func severity(_ line: Substring) -> String? {
    // Each run of capital letters is packed into a UInt64 and compared with
    // the packed level names: no allocation, one pass.
    var best = -1
    var packed: UInt64 = 0
    var length = 0
    func finish() {
      if length >= 4 && length <= 8, let i = packedLevels.firstIndex(of: packed), i > best { best = i }
      packed = 0
      length = 0
    }
    func scan<S: Sequence<UInt8>>(_ bytes: S) {
      for byte in bytes {
        if byte >= 0x41 && byte <= 0x5A {
          if length < 9 { packed = packed << 8 | UInt64(byte) }
          length += 1
        } else if length > 0 {
          finish()
        }
      }
    }
    // Contiguous bytes avoid the generic (slow) Substring.UTF8View iterator.
    if line.utf8.withContiguousStorageIfAvailable({ scan($0.prefix(120)) }) == nil { scan(line.utf8.prefix(120)) }
    if length > 0 { finish() }
    guard best >= 0 else { return nil }
    return levels[best] == "WARNING" ? "WARN" : levels[best]
  }

  private static let packedLevels: [UInt64] = levels.map { $0.utf8.reduce(0) { $0 << 8 | UInt64($1) } }

  /// A level name from a structured record, upper-cased and normalised.
  static func normalise(_ level: String) -> String {
    switch level.uppercased() {
    case "WARNING": "WARN"
    case "ERR": "ERROR"
    case "CRIT": "CRITICAL"
    case "EMERG", "EMERGENCY", "ALERT": "FATAL"
    case "INFORMATION": "INFO"
    case let other: other
    }
  }

  static func rank(_ level: String) -> Int { levels.firstIndex(of: level) ?? 0 }
}
