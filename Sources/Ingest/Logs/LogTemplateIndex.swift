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
  public static func mine(
    _ bytes: UnsafeBufferPointer<UInt8>, referenceDate: Date, maxLineBytes: Int = 64 * 1024,
    miner: TemplateMiner = TemplateMiner()
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
    var parser = LogHeaderParser(sample: sample, referenceDate: referenceDate)
    var miner = miner
    var raw: [Int32] = []
    raw.reserveCapacity(count / 80 + 1)
    // Per raw miner id: first/last line, times, examples.
    var stats: [Entry] = []
    var withoutMessage = 0
    start = 0
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
    // Merged templates fold into the one they joined; local ids are dense, in order of first line.
    var merged: [Int: Entry] = [:]
    for (id, s) in stats.enumerated() where s.count > 0 {
      let root = miner.resolve(id)
      guard var into = merged[root] else {
        merged[root] = s
        continue
      }
      into.count += s.count
      into.firstLine = min(into.firstLine, s.firstLine)
      into.lastLine = max(into.lastLine, s.lastLine)
      if let t = s.firstTime, into.firstTime.map({ t < $0 }) ?? true { into.firstTime = t }
      if let t = s.lastTime, into.lastTime.map({ t > $0 }) ?? true { into.lastTime = t }
      into.examples = Array((into.examples + s.examples).sorted().prefix(exampleCount))
      merged[root] = into
    }
    let roots = merged.keys.sorted { merged[$0]!.firstLine < merged[$1]!.firstLine }
    var local = [Int32](repeating: -1, count: stats.count)
    var templates: [Entry] = []
    templates.reserveCapacity(roots.count)
    for (i, root) in roots.enumerated() {
      var e = merged[root]!
      e.text = miner.template(root).text
      templates.append(e)
      local[root] = Int32(i)
    }
    for i in raw.indices where raw[i] >= 0 {
      raw[i] = local[miner.resolve(Int(raw[i]))]
    }
    var index = LogTemplateIndex(
      layout: parser.layout.rawValue, templates: templates, lineTemplates: raw, saturated: miner.saturated)
    index.linesWithoutMessage = withoutMessage
    return index
  }

  /// The index of the newline ending the line that starts at `from`, or `count`.
  private static func lineEnd(_ base: UnsafePointer<UInt8>, from: Int, count: Int) -> Int {
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
