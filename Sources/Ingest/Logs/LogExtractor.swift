import Foundation

/// Extracts log files (plain, .gz, .zst, JSON lines) into sections of whole
/// events with line-range locators into the decompressed file, the highest
/// severity and the first and last event time of each section.
struct LogExtractor {
  var maxLines = 40
  var maxBytes = 4096
  /// The year given to syslog timestamps the header layout does not place
  /// (when unset: the year of the file's modification time).
  var syslogYear: Int?
  /// Replace secrets with `[REDACTED:kind]`.
  var redact = true
  /// Cores the byte-level pass may use for one file.
  var parallelism = max(1, ProcessInfo.processInfo.activeProcessorCount)

  /// Extracts `path` into sections (the byte-level pass, or the reference
  /// pass for text it cannot handle).
  func extract(path: String, displayPath: String) throws -> ExtractedDocument {
    let data = try Decompression.read(path: path)
    var scan = scan(for: path)
    scan.wantSections = true
    guard let out = try? scan.run(data, displayPath: displayPath) else {
      return extractReference(data: data, path: path, displayPath: displayPath)
    }
    return ExtractedDocument(
      kind: .log, title: nil, metadata: metadata(path: path, out), sections: out.sections,
      warnings: warnings(out), extractor: DocumentKind.log.extractorVersion)
  }

  /// Extracts `path` straight into the blob's JSON (what ingest stores).
  func extractEncoded(path: String, displayPath: String) throws -> EncodedDocument {
    try extractEncoded(raw: Decompression.readRaw(path: path), path: path, displayPath: displayPath)
  }

  /// `extractEncoded` on the file's bytes already read (ingest hashes the same bytes).
  func extractEncoded(raw: Data, path: String, displayPath: String) throws -> EncodedDocument {
    let data = try Decompression.decompress(raw, path: path)
    var scan = scan(for: path)
    let large = data.count > 8 << 20
    // Large logs: compressed and hashed as the pass writes them, at zstd's
    // fastest level (level 3 alone cost more CPU than the whole pass).
    if large { scan.blobLevel = 1 }
    // The fingerprint (of the first 4 MiB, one core's work) of a large log is
    // taken while the pass runs, for the same reason as the hash in `Ingestor`.
    let configured = scan
    // Templates are mined beside the multi-core pass over the same bytes; a
    // large file in parts on all cores (the miner is stateful: each part has its
    // own, and their templates are joined by text), else in one sequential pass.
    let referenceDate = configured.referenceDate
    let maxLineBytes = configured.maxLineBytes
    let side = { @Sendable in
      data.withUnsafeBytes { raw in
        let bytes = raw.bindMemory(to: UInt8.self)
        return (
          SimHash.fingerprint(bytes),
          LogTemplateIndex.mine(
            bytes, referenceDate: referenceDate, maxLineBytes: maxLineBytes,
            parts: ProcessInfo.processInfo.activeProcessorCount)
        )
      }
    }
    let run = { Result { try configured.run(data, displayPath: displayPath) } }
    let (result, (print, templates)) = large ? alongside(side, run) : (run(), side())
    let out: LogScan.Output
    do { out = try result.get() } catch is LogScan.NeedsReference {
      var doc = EncodedDocument(extractReference(data: data, path: path, displayPath: displayPath))
      doc.templates = templates
      doc.warnings += Self.warnings(templates)
      return doc
    }
    var doc = EncodedDocument(
      kind: .log, title: nil, metadata: metadata(path: path, out), sectionsJSON: out.json, blob: out.blob,
      sectionCount: out.sectionCount, pageCount: nil, charCount: out.charCount,
      warnings: warnings(out) + Self.warnings(templates), extractor: DocumentKind.log.extractorVersion,
      // The raw text, not the sections (no String of them here): words are
      // the same, bar redactions and whitespace-only sections.
      fingerprint: print)
    doc.templates = templates
    doc.metadata["templates"] = String(templates.templates.count)
    doc.metadata["layout"] = templates.layout
    return doc
  }

  /// The file's modification time (the year of headers that carry none), now when unknown.
  static func modificationDate(_ path: String) -> Date {
    ((try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date) ?? Date()
  }

  static func warnings(_ templates: LogTemplateIndex) -> [String] {
    var out: [String] = []
    if templates.saturated {
      out.append(
        "too many distinct log templates (over \(TemplateMiner().maxTemplates) in the file, or \(TemplateMiner().maxLeafTemplates) of one length and start): later lines were counted under their nearest template"
      )
    }
    if templates.linesWithoutMessage > 0 {
      let n = templates.linesWithoutMessage
      out.append(
        "\(n) JSON line\(n == 1 ? " has" : "s have") no message field (msg, message, …): the whole line was taken as the message for templates"
      )
    }
    return out
  }

  /// The byte-level pass with this extractor's settings.
  var scan: LogScan {
    LogScan(
      maxLines: maxLines, maxBytes: maxBytes, syslogYear: syslogYear ?? Self.year(of: Date()), redact: redact,
      parallelism: parallelism)
  }

  /// The pass for the file at `path`: years from its modification time.
  func scan(for path: String) -> LogScan {
    var scan = scan
    scan.referenceDate = Self.modificationDate(path)
    if syslogYear == nil { scan.syslogYear = Self.year(of: scan.referenceDate) }
    return scan
  }

  static func year(of date: Date) -> Int {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC")!
    return calendar.component(.year, from: date)
  }

  private func metadata(path: String, _ out: LogScan.Output) -> [String: String] {
    var meta = ["lines": String(out.lineCount)]
    if let format = Compression.named(path) { meta["compression"] = format.rawValue }
    if out.jsonLines > 0 { meta["format"] = "json-lines" }
    let iso = ISO8601DateFormatter()
    if let t = out.firstTime { meta["first_time"] = iso.string(from: Date(timeIntervalSince1970: t)) }
    if let t = out.lastTime { meta["last_time"] = iso.string(from: Date(timeIntervalSince1970: t)) }
    for (level, n) in out.severities { meta["sections.\(level)"] = String(n) }
    return meta
  }

  private func warnings(_ out: LogScan.Output) -> [String] {
    (out.cutLines > 0 ? ["\(out.cutLines) overlong lines cut"] : []) + out.redactor.warnings
  }

  /// The reference pass: the whole text decoded into one `String` (invalid
  /// UTF-8 replaced), then split, grouped and scanned line by line. The
  /// byte-level pass must give the same document; tests compare the two.
  func extractReference(data: Data, path: String, displayPath: String) -> ExtractedDocument {
    let text = TextLines(data)
    let lines = text.lines
    var starts = [Bool](repeating: false, count: lines.count)
    for i in lines.indices { starts[i] = !LogLine.isContinuation(lines[i]) }
    let ranges = LineGrouper.group(lines, maxLines: maxLines, maxBytes: maxBytes) { i in starts[i] }
    var sections: [Section] = []
    var severities: [String: Int] = [:]
    var jsonLines = 0
    var redactor = Redactor(enabled: redact)
    let modified = Self.modificationDate(path)
    var clock = EventClock(
      layout: EventClock.layout(sample: lines[...]), referenceDate: modified,
      syslogYear: syslogYear ?? Self.year(of: modified))
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
      var firstAt: Int?
      for i in r where starts[i] {
        if let t = clock.time(lines[i]) {
          first = t
          firstAt = i
          break
        }
      }
      for i in r.reversed() where starts[i] {
        if i == firstAt {
          last = first
          break
        }
        if let t = clock.time(lines[i]) {
          last = t
          break
        }
      }
      let locator = Locator(path: displayPath, lineStart: r.lowerBound + 1, lineEnd: r.upperBound)
      body = redactor.redact(body, locator: locator)
      sections.append(
        Section(locator: locator, text: body, severity: severity, firstTimestamp: first, lastTimestamp: last))
    }
    var meta = ["lines": String(lines.count)]
    if let format = Compression.named(path) { meta["compression"] = format.rawValue }
    if jsonLines > 0 { meta["format"] = "json-lines" }
    let iso = ISO8601DateFormatter()
    if let t = sections.lazy.compactMap(\.firstTimestamp).first {
      meta["first_time"] = iso.string(from: Date(timeIntervalSince1970: t))
    }
    if let t = sections.reversed().lazy.compactMap(\.lastTimestamp).first {
      meta["last_time"] = iso.string(from: Date(timeIntervalSince1970: t))
    }
    for (level, n) in severities { meta["sections.\(level)"] = String(n) }
    return ExtractedDocument(
      kind: .log, title: nil, metadata: meta, sections: sections, warnings: text.warnings + redactor.warnings,
      extractor: DocumentKind.log.extractorVersion)
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

  /// `isContinuation` on a line's UTF-8 bytes, or `nil` when the answer
  /// needs Unicode (a non-ASCII byte among the first 13): the caller then
  /// decodes the line and asks the `Substring` version.
  static func isContinuation(bytes line: UnsafeBufferPointer<UInt8>) -> Bool? {
    guard let first = line.first else { return false }
    if first == 0x20 || first == 0x09 { return true }
    if (first >= 0x30 && first <= 0x39) || first == UInt8(ascii: "[") || first == UInt8(ascii: "{")
      || first == UInt8(ascii: "<")
    {
      return false
    }
    // With 13 ASCII bytes the first 12 characters are exactly the first 12
    // bytes (an ASCII byte never extends the character before it, apart from
    // CR LF, and a line holds no LF), so byte prefixes equal character prefixes.
    let headCount = min(line.count, 13)
    for i in 0..<headCount where line[i] >= 0x80 { return nil }
    func hasPrefix(_ prefix: StaticString) -> Bool {
      let n = prefix.utf8CodeUnitCount
      guard line.count >= n else { return false }
      let p = prefix.utf8Start
      for i in 0..<n where line[i] != p[i] { return false }
      return true
    }
    if hasPrefix("Caused by:") || hasPrefix("...") { return true }
    // The upper-cased first 8 bytes, against each level word and month (all of 8 bytes
    // or fewer) as masked integers.
    var head: UInt64 = 0
    let headLength = min(line.count, 8)
    for i in 0..<headLength {
      var b = line[i]
      if b >= 0x61 && b <= 0x7A { b -= 0x20 }
      head |= UInt64(b) << (8 * UInt64(i))
    }
    for word in headWords where word.length <= headLength && head & word.mask == word.bits { return false }
    return isExceptionName(bytes: line) || hasPrefix("Traceback")
  }

  /// Level words and months followed by a space, each packed into an integer with the mask of its bytes.
  private static let headWords: [(bits: UInt64, mask: UInt64, length: Int)] = (levels + months.map { $0 + " " }).map {
    word in
    let u = Array(word.utf8)
    precondition(u.count <= 8)
    var bits: UInt64 = 0
    for (i, c) in u.enumerated() { bits |= UInt64(c) << (8 * UInt64(i)) }
    return (bits, u.count == 8 ? ~0 : (1 << (8 * UInt64(u.count))) - 1, u.count)
  }

  /// Whether the line starts with a dotted name ending in Exception or Error
  /// (`java.sql.SQLException: …`). Hand-written: a regular expression here
  /// cost a tenth of log ingest time.
  static func isExceptionName(_ line: Substring) -> Bool {
    if let r = line.utf8.withContiguousStorageIfAvailable({ isExceptionName(bytes: $0) }) { return r }
    return Array(line.utf8.prefix(256)).withUnsafeBufferPointer { isExceptionName(bytes: $0) }
  }

  /// `isExceptionName` on a line's UTF-8 bytes.
  static func isExceptionName(bytes line: UnsafeBufferPointer<UInt8>) -> Bool {
    var components = 0
    var currentStart = 0
    var currentLength = 0
    func isIdentifierByte(_ b: UInt8, first: Bool) -> Bool {
      let letter = (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F || b == 0x24
      return letter || (!first && b >= 0x30 && b <= 0x39)
    }
    for i in 0..<min(line.count, 256) {
      let b = line[i]
      if b == UInt8(ascii: ".") {
        guard currentLength > 0 else { return false }
        components += 1
        currentStart = i + 1
        currentLength = 0
      } else if isIdentifierByte(b, first: currentLength == 0) {
        currentLength += 1
      } else {
        break
      }
    }
    guard components >= 1, currentLength > 0 else { return false }
    let last = UnsafeBufferPointer(rebasing: line[currentStart..<(currentStart + currentLength)])
    return last.count > 9 && last.suffix(9).elementsEqual("Exception".utf8)
      || last.count > 5 && last.suffix(5).elementsEqual("Error".utf8)
      || last.elementsEqual("Exception".utf8) || last.elementsEqual("Error".utf8)
  }

  /// The highest severity word among the first 120 bytes of a line, normalised
  /// (WARNING → WARN). Works on bytes: this runs once per log line.
  static func severity(_ line: Substring) -> String? {
    let index: Int?
    if let r = line.utf8.withContiguousStorageIfAvailable({ severityIndex(bytes: $0) }) {
      index = r
    } else {
      index = Array(line.utf8.prefix(120)).withUnsafeBufferPointer { severityIndex(bytes: $0) }
    }
    return index.map { levels[$0] }
  }

  /// The index in `levels` of the highest severity word among the first 120
  /// bytes of a line, normalised (WARNING → WARN).
  static func severityIndex(bytes line: UnsafeBufferPointer<UInt8>) -> Int? {
    // Each run of capital letters is packed into a UInt64 and compared with
    // the packed level names: no allocation, one pass.
    var best = -1
    // A switch over the packed names: no array, no allocation in the loop.
    func level(_ packed: UInt64) -> Int {
      switch packed {
      case 0x54_52_41_43_45: 0  // TRACE
      case 0x44_45_42_55_47: 1  // DEBUG
      case 0x49_4E_46_4F: 2  // INFO
      case 0x4E_4F_54_49_43_45: 3  // NOTICE
      case 0x57_41_52_4E: 4  // WARN
      case 0x57_41_52_4E_49_4E_47: 5  // WARNING
      case 0x45_52_52_4F_52: 6  // ERROR
      case 0x43_52_49_54_49_43_41_4C: 7  // CRITICAL
      case 0x46_41_54_41_4C: 8  // FATAL
      case 0x50_41_4E_49_43: 9  // PANIC
      default: -1
      }
    }
    guard let base = line.baseAddress else { return nil }
    let n = min(line.count, 120)
    // A bit per byte of the first 120: set for a capital letter (eight
    // bytes per step); then only the runs of set bits are looked at.
    var capitals: UInt128 = 0
    var i = 0
    while i + 8 <= n {
      let word = SWAR.capitals(UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self))
      if word != 0 { capitals |= UInt128(SWAR.gatherHighBits(word)) << i }
      i += 8
    }
    while i < n {
      if base[i] &- 0x41 < 26 { capitals |= 1 << i }
      i += 1
    }
    // Only runs of four or more capitals can be a level: their starts are the
    // bits that begin four set bits and follow a clear one. Single capitals
    // ("Exception", "GET /x") are never visited.
    let four = capitals & (capitals >> 1) & (capitals >> 2) & (capitals >> 3)
    var starts = four & ~(capitals << 1)
    while starts != 0 {
      let start = starts.trailingZeroBitCount
      starts &= starts &- 1
      let length = (~(capitals >> start)).trailingZeroBitCount
      guard length <= 8 else { continue }
      // The run's bytes, first one most significant.
      var packed: UInt64 = 0
      if start + 8 <= line.count {
        let word = UnsafeRawPointer(base + start).loadUnaligned(as: UInt64.self)
        packed = (word << (64 - 8 * length)).byteSwapped
      } else {
        for j in start..<(start + length) { packed = packed << 8 | UInt64(base[j]) }
      }
      best = max(best, level(packed))
    }
    guard best >= 0 else { return nil }
    return best == warningIndex ? warnIndex : best
  }

  static let warnIndex = levels.firstIndex(of: "WARN") ?? 4
  private static let warningIndex = levels.firstIndex(of: "WARNING") ?? 5

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
