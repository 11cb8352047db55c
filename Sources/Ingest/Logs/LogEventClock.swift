import Foundation

/// The severity of one log line as ingest grades it (a header's level word, a
/// JSON record's level field), and how severe a level is.
public enum LogSeverity {
  /// The normalised level of `line` (`ERROR`, `WARN`…), or `nil`.
  public static func of(_ line: Substring) -> String? {
    if line.first == "{", let record = JSONLogLine(line) { return record.level }
    return LogLine.severity(line)
  }

  /// Higher is more severe; unknown levels rank lowest.
  public static func rank(_ level: String) -> Int { LogLine.rank(level) }
}

/// Event times of log lines: the file's header layout (`LogHeaderParser`, which
/// knows logcat, Apache error, HDFS, log4j, RAS and epoch columns, and takes
/// years a header lacks from the file's modification time and the order of
/// lines), else the formats `LogTimestamp` finds at a line's start.
struct EventClock {
  private var parser: LogHeaderParser?
  let syslogYear: Int

  init(layout: LogHeaderLayout, referenceDate: Date, syslogYear: Int) {
    // JSON lines keep `LogTimestamp`'s reading of their time field.
    parser =
      layout == .none || layout == .jsonLines ? nil : LogHeaderParser(layout: layout, referenceDate: referenceDate)
    // Only the time is read.
    parser?.keepsFields = false
    self.syslogYear = syslogYear
  }

  /// The layout of a file from its first lines (up to 200, each read on its first 4 KiB).
  static func layout(lines: Int, _ line: (Int) -> UnsafeBufferPointer<UInt8>) -> LogHeaderLayout {
    var sample: [String] = []
    for i in 0..<min(lines, 200) {
      let b = line(i)
      sample.append(String(decoding: UnsafeBufferPointer(rebasing: b[..<min(b.count, 4096)]), as: UTF8.self))
    }
    return LogHeaderLayout.detect(sample)
  }

  /// `layout(lines:_:)` on lines as text.
  static func layout(sample lines: ArraySlice<Substring>) -> LogHeaderLayout {
    LogHeaderLayout.detect(lines.prefix(200).map { String(decoding: Array($0.utf8.prefix(4096)), as: UTF8.self) })
  }

  mutating func time(_ line: UnsafeBufferPointer<UInt8>) -> Double? {
    if line.first != UInt8(ascii: "{"), let t = parser?.parse(line)?.time { return t }
    return LogTimestamp.parse(bytes: line, defaultYear: syslogYear)
  }

  mutating func time(_ line: Substring) -> Double? {
    var s = String(line)
    return s.withUTF8 { time($0) }
  }
}
