import Foundation

/// Header recognition and template mining over the lines of one log file, as
/// ingest sees them.
public enum LogTemplateMining {
  /// The template id of every line of `lines` (one file, as resolved after the last line), the miner,
  /// and the layout found.
  /// Lines without the layout's header (continuations) are mined whole; `consolidate` runs the
  /// miner's second pass (`TemplateMiner.consolidate()`) at the end, as ingest does.
  public static func mine(
    lines: [String], referenceDate: Date, miner: TemplateMiner = TemplateMiner(), consolidate: Bool = true
  ) -> (ids: [Int], miner: TemplateMiner, layout: LogHeaderLayout) {
    var parser = LogHeaderParser(sample: Array(lines.prefix(200)), referenceDate: referenceDate)
    parser.keepsFields = false
    var miner = miner
    var ids: [Int] = []
    ids.reserveCapacity(lines.count)
    for line in lines {
      var l = line
      let id: Int = l.withUTF8 { b in
        if parser.layout == .jsonLines {
          if parser.parse(b) != nil, let m = LogHeaderParser.jsonMessage(line) { return miner.add(m) }
          return miner.add(bytes: b)
        }
        let start = parser.parse(b)?.messageStart ?? 0
        return miner.add(bytes: UnsafeBufferPointer(rebasing: b[min(start, b.count)...]))
      }
      ids.append(id)
    }
    if consolidate { miner.consolidate() }
    // Ids of templates merged since are resolved to the template they joined.
    return (ids.map(miner.resolve), miner, parser.layout)
  }

  /// The message part of each line (what the miner is given).
  public static func messages(lines: [String], referenceDate: Date) -> [String] {
    var parser = LogHeaderParser(sample: Array(lines.prefix(200)), referenceDate: referenceDate)
    parser.keepsFields = false
    return lines.map { message(of: $0, parser: &parser) }
  }

  /// The message part of `line` under `parser`'s layout (the whole line when it has no header).
  public static func message(of line: String, parser: inout LogHeaderParser) -> String {
    if parser.layout == .jsonLines { return LogHeaderParser.jsonMessage(line) ?? line }
    let start = parser.parse(line)?.messageStart ?? 0
    return String(decoding: Array(line.utf8).dropFirst(start), as: UTF8.self)
  }
}
