import Foundation

/// The templates of one log file as ingest mines them: what the workspace
/// stores per document (`LogTemplateStore`).
public struct LogTemplateIndex: Sendable, Codable, Equatable {
  /// One template of the file. Its local id is its index in `templates`
  /// (templates are in order of their first line).
  public struct Entry: Sendable, Codable, Equatable {
    public var text: String
    /// Events (event-starting lines) of this template.
    public var count: Int
    /// 1-based line numbers.
    public var firstLine: Int
    public var lastLine: Int
    /// Earliest and latest event time.
    public var firstTime: Double?
    public var lastTime: Double?
    /// Line numbers of the first few events.
    public var examples: [Int]

    /// Adds the events of `other`, another part of the same template.
    mutating func absorb(_ other: Entry) {
      count += other.count
      firstLine = min(firstLine, other.firstLine)
      lastLine = max(lastLine, other.lastLine)
      if let t = other.firstTime, firstTime.map({ t < $0 }) ?? true { firstTime = t }
      if let t = other.lastTime, lastTime.map({ t > $0 }) ?? true { lastTime = t }
      examples = Array((examples + other.examples).sorted().prefix(LogTemplateIndex.exampleCount))
    }
  }

  /// The header layout found (`LogHeaderLayout.rawValue`).
  public var layout: String
  public var templates: [Entry]
  /// Per line (index = line number − 1): its template's local id, or −1 for a
  /// continuation line (part of the event above it).
  public var lineTemplates: [Int32]
  /// The miner's template cap was reached: later lines were counted by their nearest template.
  public var saturated: Bool
  /// JSON lines without a message field (their whole line was mined as the message).
  public var linesWithoutMessage = 0

  /// Examples kept per template.
  static let exampleCount = 3

  /// Mines the lines of `bytes` (one decompressed log file).
  ///
  /// - Parameters:
  ///   - referenceDate: The file's modification time, for years the header does not carry.
  ///   - maxLineBytes: Longer lines are mined on their first `maxLineBytes` bytes (as ingest cuts them).
  ///   - parts: Mine this many consecutive parts of the file at once, each with its own
  ///     miner, and join their templates by text (a large file on all cores). Headers
  ///     without a year take it from the order of lines: a part whose first such header
  ///     got another year than the lines before it give is mined again after them.
  ///   - minPartBytes: The smallest part worth mining apart.
  public static func mine(
    _ bytes: UnsafeBufferPointer<UInt8>, referenceDate: Date, maxLineBytes: Int = 64 * 1024,
    miner: TemplateMiner = TemplateMiner(), parts: Int = 1, minPartBytes: Int = 16 << 20
  ) -> LogTemplateIndex {
    guard let base = bytes.baseAddress, !bytes.isEmpty else {
      return LogTemplateIndex(layout: LogHeaderLayout.none.rawValue, templates: [], lineTemplates: [], saturated: false)
    }
    let count = bytes.count
    // The layout from the first 200 lines.
    var sample: [String] = []
    var start = 0
    while start < count && sample.count < 200 {
      let end = lineEnd(base, from: start, count: count)
      sample.append(
        String(decoding: UnsafeBufferPointer(start: base + start, count: min(end, start + 4096) - start), as: UTF8.self)
      )
      start = end + 1
    }
    let parser = {
      var p = LogHeaderParser(sample: sample, referenceDate: referenceDate)
      p.keepsFields = false
      return p
    }()
    let n = max(1, min(parts, count / max(1, minPartBytes)))
    // Part boundaries at line starts.
    var bounds = [0]
    for k in 1..<max(1, n) {
      let cut = lineEnd(base, from: count * k / n, count: count) + 1
      if cut > bounds.last!, cut < count { bounds.append(cut) }
    }
    bounds.append(count)
    let ranges = (0..<bounds.count - 1).map { bounds[$0]..<bounds[$0 + 1] }
    if ranges.count == 1 {
      var p = parser
      return join([Part.mine(base, ranges[0], parser: &p, miner: miner, maxLineBytes: maxLineBytes)], layout: parser)
    }
    let results = PartResults(count: ranges.count)
    // The bytes outlive the parts (the caller holds them); the address crosses threads as a number.
    let address = UInt(bitPattern: base)
    DispatchQueue.concurrentPerform(iterations: ranges.count) { k in
      var p = parser
      let base = UnsafePointer<UInt8>(bitPattern: address)!
      results.set(k, Part.mine(base, ranges[k], parser: &p, miner: miner, maxLineBytes: maxLineBytes))
    }
    var mined = results.values
    // Headers without a year (syslog, logcat) take it from the lines before them: a
    // part whose first such header got another year than the part before it would
    // have given it is mined again, after that part. Once the first header agrees,
    // the rest of the part does too (the year and last month then agree).
    for k in 1..<mined.count {
      guard let first = mined[k].end.firstYearless else {
        // No year-less header in this part: the year state passes through it unchanged.
        mined[k].end = mined[k - 1].end
        continue
      }
      var continued = mined[k - 1].end
      let s = first.stamp
      _ = continued.yearless(s[0], s[1], s[2], s[3], s[4])
      if continued.year != first.year {
        var p = mined[k - 1].end
        mined[k] = Part.mine(base, ranges[k], parser: &p, miner: miner, maxLineBytes: maxLineBytes)
      }
    }
    return join(mined, layout: parser)
  }

  /// The templates of one part of a file, with line numbers counted from the part's start.
  struct Part: Sendable {
    var templates: [Entry]
    var lineTemplates: [Int32]
    var saturated: Bool
    var withoutMessage: Int
    /// The parser after the part's last line.
    var end: LogHeaderParser

    static func mine(
      _ base: UnsafePointer<UInt8>, _ range: Range<Int>, parser: inout LogHeaderParser, miner: TemplateMiner,
      maxLineBytes: Int
    ) -> Part {
      var miner = miner
      var raw: [Int32] = []
      raw.reserveCapacity(range.count / 80 + 1)
      // Per raw miner id: first/last line, times, examples.
      var stats: [Entry] = []
      var withoutMessage = 0
      var start = range.lowerBound
      let count = range.upperBound
      var lineNumber = 0
      while start < count {
        var end = lineEnd(base, from: start, count: count)
        let next = end + 1
        if end > start && base[end - 1] == 0x0D { end -= 1 }
        end = min(end, start + maxLineBytes)
        lineNumber += 1
        let line = UnsafeBufferPointer(start: base + start, count: end - start)
        start = next
        let continuation =
          LogLine.isContinuation(bytes: line)
          ?? LogLine.isContinuation(Substring(String(decoding: line, as: UTF8.self)))
        if continuation {
          raw.append(-1)
          continue
        }
        let header = parser.parse(line)
        let id: Int
        if parser.layout == .jsonLines {
          if header != nil, let m = LogHeaderParser.jsonMessage(String(decoding: line, as: UTF8.self)) {
            id = miner.add(m)
          } else {
            if line.first == UInt8(ascii: "{") { withoutMessage += 1 }
            id = miner.add(bytes: line)
          }
        } else {
          let from = min(header?.messageStart ?? 0, line.count)
          id = miner.add(bytes: UnsafeBufferPointer(rebasing: line[from...]))
        }
        raw.append(Int32(id))
        while stats.count <= id {
          stats.append(Entry(text: "", count: 0, firstLine: 0, lastLine: 0, examples: []))
        }
        let time = header?.time
        if stats[id].count == 0 { stats[id].firstLine = lineNumber }
        stats[id].count += 1
        stats[id].lastLine = lineNumber
        // Earliest and latest event time (lines out of order stay in range).
        if let time {
          if stats[id].firstTime.map({ time < $0 }) ?? true { stats[id].firstTime = time }
          if stats[id].lastTime.map({ time > $0 }) ?? true { stats[id].lastTime = time }
        }
        if stats[id].examples.count < exampleCount { stats[id].examples.append(lineNumber) }
      }
      // The second pass (families, optional trailing fields), then merged templates fold into the
      // one they joined; local ids are dense, in order of first line.
      miner.consolidate()
      var merged: [Int: Entry] = [:]
      for (id, s) in stats.enumerated() where s.count > 0 {
        let root = miner.resolve(id)
        guard var into = merged[root] else {
          merged[root] = s
          continue
        }
        into.absorb(s)
        merged[root] = into
      }
      let roots = merged.keys.sorted { merged[$0]!.firstLine < merged[$1]!.firstLine }
      var local = [Int32](repeating: -1, count: stats.count)
      var templates: [Entry] = []
      templates.reserveCapacity(roots.count)
      for (i, root) in roots.enumerated() {
        var e = merged[root]!
        // The masked form, which the join of parts and the workspace store match word by word.
        e.text = miner.template(root).maskedText
        templates.append(e)
        local[root] = Int32(i)
      }
      for i in raw.indices where raw[i] >= 0 {
        raw[i] = local[miner.resolve(Int(raw[i]))]
      }
      return Part(
        templates: templates, lineTemplates: raw, saturated: miner.saturated, withoutMessage: withoutMessage,
        end: parser)
    }
  }

  /// Parts mined at once, each stored by its index.
  final class PartResults: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Part?]
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ k: Int, _ part: Part) { lock.withLock { slots[k] = part } }
    var values: [Part] { lock.withLock { slots.map { $0! } } }
  }

  /// One index from consecutive parts: templates of the same text are one, in order of first line.
  static func join(_ parts: [Part], layout parser: LogHeaderParser) -> LogTemplateIndex {
    if parts.count == 1 {
      let p = parts[0]
      var index = LogTemplateIndex(
        layout: parser.layout.rawValue, templates: p.templates, lineTemplates: p.lineTemplates,
        saturated: p.saturated)
      index.linesWithoutMessage = p.withoutMessage
      return index
    }
    var templates: [Entry] = []
    var byText: [String: Int32] = [:]
    var lines: [Int32] = []
    lines.reserveCapacity(parts.reduce(0) { $0 + $1.lineTemplates.count })
    var offset = 0
    for part in parts {
      var map = [Int32](repeating: -1, count: part.templates.count)
      for (i, var e) in part.templates.enumerated() {
        e.firstLine += offset
        e.lastLine += offset
        e.examples = e.examples.map { $0 + offset }
        if let g = byText[e.text] {
          templates[Int(g)].absorb(e)
          map[i] = g
        } else {
          map[i] = Int32(templates.count)
          byText[e.text] = map[i]
          templates.append(e)
        }
      }
      for v in part.lineTemplates { lines.append(v >= 0 ? map[Int(v)] : -1) }
      offset += part.lineTemplates.count
    }
    var index = LogTemplateIndex(
      layout: parser.layout.rawValue, templates: templates, lineTemplates: lines,
      saturated: parts.contains(where: \.saturated))
    index.linesWithoutMessage = parts.reduce(0) { $0 + $1.withoutMessage }
    return index
  }

  /// The index of the newline ending the line that starts at `from`, or `count`.
  static func lineEnd(_ base: UnsafePointer<UInt8>, from: Int, count: Int) -> Int {
    guard let found = memchr(base + from, 0x0A, count - from) else { return count }
    return UnsafeRawPointer(base).distance(to: UnsafeRawPointer(found))
  }

  // MARK: - Per-line ids as bytes

  /// `lineTemplates` as little-endian 32-bit integers (what the workspace stores, compressed).
  public var encodedLines: Data {
    #if _endian(little)
      return lineTemplates.withUnsafeBytes { Data($0) }
    #else
      var out = Data(capacity: lineTemplates.count * 4)
      for v in lineTemplates { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
      return out
    #endif
  }

  /// Per-line ids from `encodedLines`' bytes.
  public static func decodeLines(_ data: Data) -> [Int32] {
    var out = [Int32](repeating: 0, count: data.count / 4)
    data.withUnsafeBytes { raw in
      for i in out.indices { out[i] = Int32(littleEndian: raw.loadUnaligned(fromByteOffset: i * 4, as: Int32.self)) }
    }
    return out
  }
}
