import Foundation

/// The structured header of one log line: its event time, level, component,
/// process id and host, and where the message part starts.
///
/// Self-contained (Foundation only) so that the template benchmark can compile
/// it on its own with `swiftc -O`.
public struct LogHeader: Sendable, Equatable {
  /// Seconds since 1970 (UTC).
  public var time: Double?
  /// A normalised level (`INFO`, `WARN`…), or the word a layout carries there (BGL, RAS alerts).
  public var level: String? {
    get { levelCode != 0 ? LogHeaderParser.levelNames[Int(levelCode)] : self[0] }
    set {
      levelCode = 0
      self[0] = nil
      guard let v = newValue else { return }
      if let k = LogHeaderParser.levelNames.firstIndex(of: v), k > 0 { levelCode = UInt8(k) } else { self[0] = v }
    }
  }
  public var component: String? {
    get { self[1] }
    set { self[1] = newValue }
  }
  public var pid: String? {
    get { self[2] }
    set { self[2] = newValue }
  }
  public var host: String? {
    get { self[3] }
    set { self[3] = newValue }
  }
  /// UTF-8 byte offset in the line where the message part starts.
  public var messageStart: Int
  /// The level as an index into `LogHeaderParser.levelNames` (0: none, or a word of its own).
  var levelCode: UInt8 = 0
  /// A level word outside the table, component, pid and host; empty until one is set. Ingest's
  /// passes set none (`keepsFields = false`, levels as codes), so a header they make and drop
  /// holds one empty array: no String to retain or release per line.
  private var strings: [String?] = []

  private subscript(_ k: Int) -> String? {
    get { k < strings.count ? strings[k] : nil }
    set {
      if strings.isEmpty {
        guard newValue != nil else { return }
        strings = [nil, nil, nil, nil]
      }
      strings[k] = newValue
    }
  }

  public init(
    time: Double? = nil, level: String? = nil, component: String? = nil, pid: String? = nil,
    host: String? = nil, messageStart: Int = 0
  ) {
    self.time = time
    self.messageStart = messageStart
    self.level = level
    self.component = component
    self.pid = pid
    self.host = host
  }

  public static func == (a: LogHeader, b: LogHeader) -> Bool {
    a.time == b.time && a.messageStart == b.messageStart && a.levelCode == b.levelCode
      && (0..<4).allSatisfy { a[$0] == b[$0] }
  }
}

/// A header layout, detected once per file from its first lines.
public enum LogHeaderLayout: String, Sendable, CaseIterable {
  /// `{"time":…,"level":…,"msg":…}`: the message is the message field.
  case jsonLines
  /// `<34>1 2003-10-11T22:14:15.003Z host app 123 ID47 [sd] message`.
  case syslog5424
  /// `[<34>]Mar  9 02:10:01 host tag[pid]: message` (no year).
  case syslog3164
  /// `- 1117838570 2005.06.03 R02-M1-N0 2005-06-03-15.42.50.675872 R02-M1-N0 RAS KERNEL INFO message` (BGL)
  /// and `- 1131566461 2005.11.09 dn228 Nov 9 12:01:01 dn228/dn228 crond[2915]: message` (Thunderbird).
  case rasEpoch
  /// `134681 node-246 unix.hw state_change.unavailable 1077804742 1 message` (HPC): columns up to an epoch.
  case epochColumns
  /// `081109 203615 148 INFO dfs.DataNode$PacketResponder: message`.
  case hdfs
  /// `03-17 16:13:38.811  1702  2395 D WindowManager: message` (no year).
  case logcat
  /// `[Sun Dec 04 04:47:44 2005] [error] [client 1.2.3.4] message`.
  case apacheError
  /// `1.2.3.4 - - [10/Oct/2025:13:55:36 -0700] "GET / HTTP/1.1" 200 2326`: the request line onwards.
  case access
  /// A timestamp (ISO, `yyyy/mm/dd`, `yy/mm/dd`, `yyyymmdd-hh:mm:ss:SSS`, `[mm.dd hh:mm:ss]`, …)
  /// then any of pid, level, `[thread]`, component: log4j/logback, nginx error, Windows CBS,
  /// OpenStack, Spark, pipe-separated app logs.
  case general
  /// No header: the whole line is the message.
  case none

  /// The layout most of `lines` parse with (the first in declaration order on a tie),
  /// if a twentieth of them (and two, when there are two) do; `.none` otherwise.
  public static func detect<S: StringProtocol>(_ lines: [S]) -> LogHeaderLayout {
    var best = LogHeaderLayout.none
    var bestCount = 0
    for layout in allCases where layout != .none {
      var parser = LogHeaderParser(layout: layout, referenceDate: Date(timeIntervalSince1970: 0))
      var count = 0
      for line in lines where !line.isEmpty {
        var s = String(line)
        if s.withUTF8({ parser.parse($0) }) != nil { count += 1 }
      }
      if count > bestCount {
        best = layout
        bestCount = count
      }
    }
    // Continuation lines (stack traces, wrapped messages) may outnumber header lines.
    let n = lines.filter { !$0.isEmpty }.count
    return bestCount >= min(2, n) && bestCount * 20 >= n ? best : .none
  }
}

/// Splits lines of one file into header and message with one layout. Formats
/// without a year take it from `referenceDate` (the file's modification time,
/// which is at or after the first line) and from the order of lines: a month
/// six or more below the previous line's starts the next year, unless that year
/// would put the line after the modification time.
public struct LogHeaderParser: Sendable {
  public let layout: LogHeaderLayout
  let referenceTime: Double
  var year: Int
  var lastMonth = 0
  var yearFixed = false
  /// The first yearless stamp read (month, day, hour, minute, second) and the year
  /// it was given: what a part of a file mined on its own decided without the lines before it.
  var firstYearless: (stamp: [Int], year: Int)?
  /// Whether headers keep their component, pid and host as Strings, and RAS/BGL headers
  /// their level (left out when false; other layouts keep table levels as codes either way).
  /// Ingest's passes read a line's time and message start only, over millions of lines;
  /// the split is the same either way.
  public var keepsFields = true
  /// The minute of the last ISO time read (`Scan.isoTime(memo:)`).
  var minuteMemo = Scan.MinuteMemo()

  public init(layout: LogHeaderLayout, referenceDate: Date) {
    self.layout = layout
    referenceTime = referenceDate.timeIntervalSince1970
    year = Self.civilYear(referenceTime)
  }

  /// Detects the layout from `sample` and makes a parser.
  public init<S: StringProtocol>(sample: [S], referenceDate: Date) {
    self.init(layout: LogHeaderLayout.detect(sample), referenceDate: referenceDate)
  }

  /// The header of `line`, or `nil` when the line does not have the layout's
  /// header (a continuation line: all of it is message).
  public mutating func parse(_ line: String) -> LogHeader? {
    var s = line
    return s.withUTF8 { parse($0) }
  }

  public mutating func parse(_ b: UnsafeBufferPointer<UInt8>) -> LogHeader? {
    switch layout {
    case .jsonLines: return json(b)
    case .syslog5424: return syslog5424(b)
    case .syslog3164: return syslog3164(b)
    case .rasEpoch: return rasEpoch(b)
    case .epochColumns: return epochColumns(b)
    case .hdfs: return hdfs(b)
    case .logcat: return logcat(b)
    case .apacheError: return apacheError(b)
    case .access: return access(b)
    case .general: return general(b)
    case .none: return LogHeader()
    }
  }

  // MARK: - Layouts

  func json(_ b: UnsafeBufferPointer<UInt8>) -> LogHeader? {
    guard b.first == UInt8(ascii: "{"),
      let object = try? JSONSerialization.jsonObject(with: Data(b)) as? [String: Any]
    else { return nil }
    var h = LogHeader(messageStart: b.count)
    for key in ["time", "timestamp", "@timestamp", "ts", "t", "datetime", "date"] {
      if let v = object[key] as? String {
        let u = Array(v.utf8)
        h.time =
          u.withUnsafeBufferPointer { b -> Double? in
            var sc = Scan(b: b)
            return sc.isoTime()?.time
          } ?? Double(v).map(LogFieldValues.epochSeconds)
        break
      }
      if let v = object[key] as? NSNumber {
        h.time = LogFieldValues.epochSeconds(v.doubleValue)
        break
      }
    }
    for key in ["level", "severity", "lvl", "log.level", "loglevel", "levelname"] {
      if let v = object[key] as? String {
        h.level = Self.level(v)
        break
      }
      if let v = object[key] as? Int {
        h.level = LogFieldValues.numericLevel(v)
        break
      }
    }
    for key in ["logger", "component", "name", "module", "source"] {
      if let v = object[key] as? String {
        h.component = v
        break
      }
    }
    if let v = object["pid"] { h.pid = "\(v)" }
    if let v = object["hostname"] as? String ?? object["host"] as? String { h.host = v }
    // The message field is the whole message; it is not a byte range of the line.
    return h
  }

  /// The message of a JSON line (its message field), or `nil` when it has none.
  public static func jsonMessage(_ line: String) -> String? {
    guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
    for key in ["msg", "message", "MESSAGE", "@message", "log", "text", "event"] {
      if let v = object[key] as? String { return v }
    }
    return nil
  }

  func syslog5424(_ b: UnsafeBufferPointer<UInt8>) -> LogHeader? {
    var s = Scan(b: b)
    guard s.byte("<"), s.number(1...3) != nil, s.byte(">"), s.number(1...2) != nil, s.byte(" "),
      let t = s.isoTime()
    else { return nil }
    var h = LogHeader(time: t.time)
    guard s.byte(" "), let host = s.word(), s.byte(" "), let app = s.word(), s.byte(" "),
      let pid = s.word(), s.byte(" "), s.word() != nil, s.byte(" ")
    else { return nil }
    if keepsFields {
      h.host = s.field(host, unless: "-")
      h.component = s.field(app, unless: "-")
      h.pid = s.field(pid, unless: "-")
    }
    if s.byte("-") {
    } else {
      while s.peek == UInt8(ascii: "[") { guard s.skipBracket() else { return nil } }
    }
    _ = s.byte(" ")
    h.messageStart = s.i
    return h
  }

  mutating func syslog3164(_ b: UnsafeBufferPointer<UInt8>) -> LogHeader? {
    var s = Scan(b: b)
    if s.byte("<") { guard s.number(1...3) != nil, s.byte(">") else { return nil } }
    guard let (mo, d) = s.monthDay(), let (hh, mi, ss, frac) = s.clock() else { return nil }
    var h = LogHeader()
    h.time = yearless(mo, d, hh, mi, ss).map { $0 + frac }
    guard s.byte(" ") else { return nil }
    guard let host = s.word() else {
      h.messageStart = s.i
      return h
    }
    if keepsFields { h.host = s.field(host) }
    _ = s.spaces()
    h.messageStart = s.i
    s.tag(into: &h, keepsFields: keepsFields)
    return h
  }

  mutating func rasEpoch(_ b: UnsafeBufferPointer<UInt8>) -> LogHeader? {
    var s = Scan(b: b)
    guard let alert = s.word(),
      s.bytes(alert).elementsEqual([UInt8(ascii: "-")])
        || s.bytes(alert).allSatisfy({ $0 &- 0x41 < 26 || $0 == UInt8(ascii: "_") }),
      s.byte(" "), let epoch = s.number(10...10), s.byte(" "), s.number(4...4) != nil, s.byte("."),
      s.number(2...2) != nil, s.byte("."), s.number(2...2) != nil, s.byte(" "), let node = s.word(), s.byte(" ")
    else { return nil }
    var h = LogHeader(time: Double(epoch), host: keepsFields ? s.field(node) : nil)
    if keepsFields, alert.count != 1 || b[alert.lowerBound] != UInt8(ascii: "-") { h.level = s.field(alert) }
    let mark = s.i
    // BGL: yyyy-mm-dd-hh.mm.ss.ffffff node type component level message
    if s.number(4...4) != nil, s.byte("-") {
      guard s.word() != nil, s.byte(" "), s.word() != nil, s.byte(" "), s.word() != nil, s.byte(" "),
        let component = s.word(), s.byte(" "), let level = s.word()
      else { return nil }
      if keepsFields {
        h.component = s.field(component)
        h.level = Self.level(bytes: s.bytes(level)) ?? s.field(level)
      }
      _ = s.byte(" ")
      h.messageStart = s.i
      return h
    }
    // Thunderbird: Mon d hh:mm:ss user/host tag[pid]: message
    s.i = mark
    guard s.monthDay() != nil, s.clock() != nil, s.byte(" ") else { return nil }
    _ = s.word()
    _ = s.spaces()
    h.messageStart = s.i
    s.tag(into: &h, keepsFields: keepsFields)
    return h
  }

  func epochColumns(_ b: UnsafeBufferPointer<UInt8>) -> LogHeader? {
    // Up to 6 columns, the last an epoch in seconds, then optionally one short number (a flag).
    var s = Scan(b: b)
    // Column ranges; Strings only for the two the header keeps.
    var columns: [Range<Int>] = []
    columns.reserveCapacity(6)
    while columns.count < 6 {
      let start = s.i
      if columns.count >= 2, let e = s.number(10...10), s.peek == UInt8(ascii: " ") || s.atEnd {
        var h = LogHeader(time: Double(e))
        if keepsFields {
          h.host = s.field(columns[1])
          h.component = columns.count >= 3 ? s.field(columns[2]) : nil
        }
        _ = s.byte(" ")
        let flag = s.i
        _ = s.byte("-")
        if s.number(1...2) != nil, s.byte(" ") {} else { s.i = flag }
        h.messageStart = s.i
        return h
      }
      s.i = start
      while s.i < b.count, b[s.i] != 0x20, b[s.i] != 0x09 { s.i += 1 }
      guard s.i > start, s.byte(" ") else { return nil }
      columns.append(start..<(s.i - 1))
    }
    return nil
  }

  func hdfs(_ b: UnsafeBufferPointer<UInt8>) -> LogHeader? {
    var s = Scan(b: b)
    guard let yy = s.num(2), let mo = s.num(2), let d = s.num(2), s.byte(" "), let hh = s.num(2), let mi = s.num(2),
      let ss = s.num(2), s.byte(" ")
    else { return nil }
    var h = LogHeader(time: Self.seconds(2000 + yy, mo, d, hh, mi, ss))
    guard h.time != nil else { return nil }
    let pidStart = s.i
    if s.number(1...10) != nil, keepsFields { h.pid = s.field(pidStart..<s.i) }
    _ = s.spaces()
    guard let level = s.word(), case let code = Self.levelCode(bytes: s.bytes(level)), code != 0 else { return nil }
    h.levelCode = code
    _ = s.spaces()
    h.messageStart = s.i
    if let c = s.word(), c.count > 0, b[c.upperBound - 1] == UInt8(ascii: ":") {
      if keepsFields { h.component = s.field(c.lowerBound..<(c.upperBound - 1)) }
      _ = s.byte(" ")
      h.messageStart = s.i
    }
    return h
  }

  mutating func logcat(_ b: UnsafeBufferPointer<UInt8>) -> LogHeader? {
    var s = Scan(b: b)
    guard let mo = s.num(2), s.byte("-"), let d = s.num(2), s.byte(" "), let (hh, mi, ss, frac) = s.clock(),
      s.spaces() > 0, case let pidStart = s.i, s.number(1...7) != nil, case let pid = pidStart..<s.i,
      s.spaces() > 0, s.number(1...7) != nil, s.spaces() > 0,
      let lv = s.word(), lv.count == 1, case let level = Self.levelCode(bytes: s.bytes(lv)), level != 0, s.byte(" ")
    else { return nil }
    var h = LogHeader(pid: keepsFields ? s.field(pid) : nil)
    h.levelCode = level
    h.time = yearless(mo, d, hh, mi, ss).map { $0 + frac }
    let mark = s.i
    // The tag runs up to ": " (it may hold spaces).
    while !s.atEnd, !(s.peek == UInt8(ascii: ":") && (s.i + 1 == b.count || b[s.i + 1] == 0x20)) { s.i += 1 }
    if s.atEnd {
      h.messageStart = mark
      return h
    }
    if keepsFields { h.component = s.field(mark..<s.i).trimmingCharacters(in: .whitespaces) }
    s.i += 1
    _ = s.byte(" ")
    h.messageStart = s.i
    return h
  }

  func apacheError(_ b: UnsafeBufferPointer<UInt8>) -> LogHeader? {
    // [Sun Dec 04 04:47:44 2005] or [Sun Dec 04 04:47:44.123456 2005]
    var s = Scan(b: b)
    guard s.byte("["), s.word() != nil, s.byte(" "), let (mo, d) = s.monthDay(), let (hh, mi, ss, frac) = s.clock(),
      s.byte(" "), let y = s.num(4), s.byte("]")
    else { return nil }
    var h = LogHeader(time: Self.seconds(y, mo, d, hh, mi, ss).map { $0 + frac })
    _ = s.spaces()
    // [module:level] or [level], then optional [pid N:tid M], [client …]
    while s.peek == UInt8(ascii: "[") {
      let start = s.i + 1
      guard s.skipBracket() else { break }
      let inner = String(decoding: UnsafeBufferPointer(rebasing: b[start..<(s.i - 1)]), as: UTF8.self)
      if h.level == nil, let l = Self.level(String(inner.split(separator: ":").last ?? "")) {
        h.level = l
        if inner.utf8.contains(UInt8(ascii: ":")) { h.component = String(inner.split(separator: ":")[0]) }
      } else if inner.hasPrefix("pid ") {
        h.pid = String(inner.dropFirst(4).prefix { $0.isNumber })
      } else if !inner.hasPrefix("client ") {
        s.i = start - 1
        break
      }
      _ = s.spaces()
    }
    h.messageStart = s.i
    return h.level == nil ? nil : h
  }

  func access(_ b: UnsafeBufferPointer<UInt8>) -> LogHeader? {
    var s = Scan(b: b)
    guard let host = s.word(), s.byte(" "), s.word() != nil, s.byte(" ") else { return nil }
    // The user field may be quoted or hold spaces only rarely; take up to " [".
    while !s.atEnd, s.peek != UInt8(ascii: "[") { s.i += 1 }
    guard s.byte("["), let d = s.num(2), s.byte("/"), let mo = s.month(), s.byte("/"), let y = s.num(4),
      s.byte(":"), let (hh, mi, ss, _) = s.clock()
    else { return nil }
    var offset = 0
    if s.byte(" "), s.peek == UInt8(ascii: "+") || s.peek == UInt8(ascii: "-") {
      let sign = s.peek == UInt8(ascii: "+") ? 1 : -1
      s.i += 1
      if let oh = s.num(2), let om = s.num(2) { offset = sign * (oh * 3600 + om * 60) }
    }
    guard s.byte("]") else { return nil }
    _ = s.byte(" ")
    var h = LogHeader(
      time: Self.seconds(y, mo, d, hh, mi, ss).map { $0 - Double(offset) }, host: keepsFields ? s.field(host) : nil)
    h.messageStart = s.i
    return h
  }

  mutating func general(_ b: UnsafeBufferPointer<UInt8>) -> LogHeader? {
    var s = Scan(b: b)
    var found: (time: Double?, end: Int)?
    // The timestamp starts the line or follows at most one other token (a file name, a host).
    for attempt in 0..<2 {
      let start = s.i
      let bracket = s.byte("[")
      if let t = generalTime(&s) {
        if bracket { _ = s.byte("]") }
        found = (t, s.i)
        break
      }
      s.i = start
      guard attempt == 0, s.word() != nil, s.byte(" ") else { break }
    }
    guard let f = found else { return nil }
    var h = LogHeader(time: f.time)
    // Separators after the time: ",", "|", ":" then spaces.
    if s.byte("|") {
      // time|component|pid|message
      let c = s.through(UInt8(ascii: "|"))
      guard s.byte("|") else {
        h.messageStart = c.lowerBound
        return h
      }
      let p = s.through(UInt8(ascii: "|"))
      if s.byte("|") {
        if keepsFields { h.pid = s.field(p) }
      } else {
        s.i = p.lowerBound
      }
      if keepsFields { h.component = s.field(c) }
      h.messageStart = s.i
      return h
    }
    _ = s.byte(",") || s.byte(":")
    _ = s.spaces()
    h.messageStart = s.i
    // What was found, whether or not it is kept as a String.
    var hasPid = false
    var hasComponent = false
    var fields = 0
    // Fields separated by a lone `-` or `|` (`time - LEVEL [thread] - message`,
    // `time | LEVEL | thread | message`): the separator is header, and with `|` so is each
    // one-word field followed by another `|`.
    var pipes = false
    while fields < 9, !s.atEnd {
      let start = s.i
      if s.i + 1 < b.count, b[s.i] == UInt8(ascii: "-") || b[s.i] == UInt8(ascii: "|"), b[s.i + 1] == 0x20,
        fields > 0 || s.i > f.end
      {
        pipes = pipes || b[s.i] == UInt8(ascii: "|")
        s.i += 1
        _ = s.spaces()
        h.messageStart = s.i
        fields += 1
        continue
      }
      if pipes, let field = Self.pipeField(b, from: s.i) {
        if h.levelCode == 0, case let l = Self.levelCode(bytes: UnsafeBufferPointer(rebasing: b[s.i..<field])), l != 0 {
          h.levelCode = l
        } else if !hasComponent {
          hasComponent = true
          if keepsFields { h.component = s.field(s.i..<field) }
        }
        s.i = field
        _ = s.spaces()
        fields += 1
        continue
      }
      if s.peek == UInt8(ascii: "[") {
        guard s.skipBracket() else { break }
        // `[error]` (nginx) is the level.
        if h.levelCode == 0, !hasComponent, s.i - start <= 13 {
          h.levelCode = Self.levelCode(bytes: UnsafeBufferPointer(rebasing: b[(start + 1)..<(s.i - 1)]))
        }
        _ = s.spaces()
        h.messageStart = s.i
        fields += 1
        if hasComponent { break }
        continue
      }
      // The token's bytes; a String only for what the header keeps.
      let tokenStart = s.i
      while s.i < b.count, b[s.i] != 0x20, b[s.i] != 0x09 { s.i += 1 }
      guard s.i > tokenStart else { break }
      let t = UnsafeBufferPointer(rebasing: b[tokenStart..<s.i])
      let colon = t.last == UInt8(ascii: ":")
      let bare = colon ? UnsafeBufferPointer(rebasing: t.dropLast()) : t
      if !hasPid, h.levelCode == 0, !hasComponent, t.count <= 8, t.allSatisfy({ $0 &- 0x30 < 10 }) {
        hasPid = true
        if keepsFields { h.pid = String(decoding: t, as: UTF8.self) }
      } else if h.levelCode == 0, !hasComponent, case let l = Self.levelCode(bytes: bare), l != 0 {
        h.levelCode = l
      } else if !hasComponent, colon, t.count > 1 {
        hasComponent = true
        var component = tokenStart..<(s.i - 1)
        // Laravel's `local.ERROR:`: channel and level.
        if h.levelCode == 0, let dot = bare.lastIndex(of: UInt8(ascii: ".")),
          case let l = Self.levelCode(bytes: UnsafeBufferPointer(rebasing: bare[(dot + 1)...])), l != 0
        {
          h.levelCode = l
          component = tokenStart..<(tokenStart + dot)
        }
        if keepsFields { h.component = s.field(component) }
        _ = s.spaces()
        h.messageStart = s.i
        break
      } else if !hasComponent, let dash = s.dashAhead(from: start) {
        // `program - message`, `program *64 - message`, `logger - LEVEL - message`
        hasComponent = true
        if keepsFields { h.component = s.field(start..<dash) }
        s.i = dash + 3
        h.messageStart = s.i
        if h.levelCode == 0, let next = s.dashAhead(from: s.i),
          case let l = Self.levelCode(bytes: UnsafeBufferPointer(rebasing: b[s.i..<next])), l != 0
        {
          h.levelCode = l
          s.i = next + 3
          h.messageStart = s.i
        }
        break
      } else if !hasComponent, h.levelCode != 0,
        s.spacesAhead() >= 2
          || (t.contains(UInt8(ascii: ".")) && Self.isLetter(t.first!) && Self.isLetter(t.last!)
            && !t.contains(UInt8(ascii: "/")))
      {
        hasComponent = true
        if keepsFields { h.component = String(decoding: t, as: UTF8.self) }
        _ = s.spaces()
        h.messageStart = s.i
        // A bracketed context right after the component (OpenStack's [req-…]) is header too.
        if s.peek == UInt8(ascii: "[") { continue }
        break
      } else {
        s.i = start
        break
      }
      _ = s.spaces()
      h.messageStart = s.i
      fields += 1
    }
    return h
  }

  /// The end of a one-word field at `i` followed by spaces and a lone `|` (`worker-3 | `), if it is one.
  static func pipeField(_ b: UnsafeBufferPointer<UInt8>, from i: Int) -> Int? {
    var j = i
    while j < b.count, b[j] != 0x20, b[j] != 0x09, b[j] != UInt8(ascii: "|") { j += 1 }
    guard j > i, j - i <= 64 else { return nil }
    var k = j
    while k < b.count, b[k] == 0x20 || b[k] == 0x09 { k += 1 }
    guard k < b.count, b[k] == UInt8(ascii: "|"), k + 1 == b.count || b[k + 1] == 0x20 else { return nil }
    return j
  }

  /// The time formats of `.general`, at the cursor.
  mutating func generalTime(_ s: inout Scan) -> Double? {
    let start = s.i
    if let t = s.isoTime(memo: &minuteMemo) { return t.time }
    s.i = start
    // yyyy/mm/dd hh:mm:ss, yy/mm/dd hh:mm:ss
    if let a = s.number(2...4), case let width = s.i - start, s.byte("/"), let mo = s.num(2), s.byte("/"),
      let d = s.num(2), s.byte(" "), let (hh, mi, ss, frac) = s.clock()
    {
      let y = width == 2 ? 2000 + a : a
      return Self.seconds(y, mo, d, hh, mi, ss).map { $0 + frac }
    }
    s.i = start
    // yyyymmdd-hh:mm:ss:SSS
    if let y = s.num(4), let mo = s.num(2), let d = s.num(2), s.byte("-"), let hh = s.number(1...2), s.byte(":"),
      let mi = s.number(1...2), s.byte(":"), let ss = s.number(1...2)
    {
      var frac = 0.0
      if s.byte(":") || s.byte("."), let f = s.fraction(1...6) { frac = f }
      return Self.seconds(y, mo, d, hh, mi, ss).map { $0 + frac }
    }
    s.i = start
    // mm.dd hh:mm:ss or mm-dd hh:mm:ss (no year)
    if let mo = s.num(2), s.byte(".") || s.byte("-"), let d = s.num(2), s.byte(" "), let (hh, mi, ss, frac) = s.clock()
    {
      return yearless(mo, d, hh, mi, ss).map { $0 + frac }
    }
    s.i = start
    // Mon dd hh:mm:ss [yyyy]
    if let (mo, d) = s.monthDay(), let (hh, mi, ss, frac) = s.clock() {
      let mark = s.i
      if s.byte(" "), let y = s.num(4) { return Self.seconds(y, mo, d, hh, mi, ss).map { $0 + frac } }
      s.i = mark
      return yearless(mo, d, hh, mi, ss).map { $0 + frac }
    }
    s.i = start
    return nil
  }

  /// A time without a year: the year comes from the reference date and the order of lines.
  mutating func yearless(_ mo: Int, _ d: Int, _ hh: Int, _ mi: Int, _ ss: Int) -> Double? {
    guard (1...12).contains(mo) else { return nil }
    if !yearFixed {
      defer { firstYearless = ([mo, d, hh, mi, ss], year) }
      yearFixed = true
      // The first line is not after the file's modification time (a day's slack for zones).
      if let t = Self.seconds(year, mo, d, hh, mi, ss), t > referenceTime + 86400 { year -= 1 }
    } else if mo + 6 <= lastMonth, let t = Self.seconds(year + 1, mo, d, hh, mi, ss), t <= referenceTime + 86400 {
      // December → January: the next year (a smaller step back is lines out of order,
      // and no line is after the file's modification time).
      year += 1
    }
    lastMonth = mo
    return Self.seconds(year, mo, d, hh, mi, ss)
  }

  // MARK: - Helpers

  static let levels: [String: String] = [
    "TRACE": "TRACE", "DEBUG": "DEBUG", "DBG": "DEBUG", "FINE": "DEBUG", "FINER": "TRACE", "FINEST": "TRACE",
    "INFO": "INFO", "INFORMATION": "INFO", "NOTICE": "NOTICE", "WARN": "WARN", "WARNING": "WARN",
    "ERROR": "ERROR", "ERR": "ERROR", "SEVERE": "ERROR", "CRIT": "CRITICAL", "CRITICAL": "CRITICAL",
    "FATAL": "FATAL", "ALERT": "ALERT", "EMERG": "EMERGENCY", "EMERGENCY": "EMERGENCY", "PANIC": "FATAL",
    "V": "TRACE", "D": "DEBUG", "I": "INFO", "W": "WARN", "E": "ERROR", "F": "FATAL", "A": "FATAL",
  ]

  /// The normalised level of a level word (`Info`, `WARNING`, `W`), or `nil`.
  static func level(_ word: String) -> String? {
    var w = word
    return w.withUTF8 { level(bytes: $0) }
  }

  /// The normalised levels, by `LogHeader.levelCode`.
  static let levelNames = [
    "", "TRACE", "DEBUG", "INFO", "NOTICE", "WARN", "ERROR", "CRITICAL", "FATAL", "ALERT", "EMERGENCY",
  ]

  /// `level(_:)` on a word's bytes.
  static func level(bytes u: UnsafeBufferPointer<UInt8>) -> String? {
    let code = levelCode(bytes: u)
    return code == 0 ? nil : levelNames[Int(code)]
  }

  /// `level(bytes:)` as an index into `levelNames` (0: no level).
  static func levelCode(bytes u: UnsafeBufferPointer<UInt8>) -> UInt8 {
    // Most words of a header are ruled out by their first byte (T D F I N W E S C A P V, any case).
    guard !u.isEmpty, u.count <= 15, (0x00D9_427A as UInt32) >> UInt32((u[0] | 0x20) &- 0x60) & 1 == 1 else {
      return 0
    }
    // Upper-cased ASCII bytes packed into two words, matched as constants: no String, table
    // or hash per word (`levels` is the same table; `levelsMatchTheirTable` checks both).
    var key = PackedWord()
    for k in 0..<u.count {
      let c = u[k]
      guard c < 0x80 else { return 0 }
      if u.count == 1, c >= 0x61 && c <= 0x7A { return 0 }  // a lone `i` is no level; `I` is
      key.add(c >= 0x61 && c <= 0x7A ? c - 0x20 : c, at: k)
    }
    key.length(u.count)
    switch (key.low, key.high) {
    case (0x0000000000000041, 0x0100000000000000): return 8  // A
    case (0x0000000000000044, 0x0100000000000000): return 2  // D
    case (0x0000000000000045, 0x0100000000000000): return 6  // E
    case (0x0000000000000046, 0x0100000000000000): return 8  // F
    case (0x0000000000000049, 0x0100000000000000): return 3  // I
    case (0x0000000000000056, 0x0100000000000000): return 1  // V
    case (0x0000000000000057, 0x0100000000000000): return 5  // W
    case (0x0000000000474244, 0x0300000000000000): return 2  // DBG
    case (0x0000000000525245, 0x0300000000000000): return 6  // ERR
    case (0x00000000454E4946, 0x0400000000000000): return 2  // FINE
    case (0x000000004E524157, 0x0400000000000000): return 5  // WARN
    case (0x000000004F464E49, 0x0400000000000000): return 3  // INFO
    case (0x0000000054495243, 0x0400000000000000): return 7  // CRIT
    case (0x00000043494E4150, 0x0500000000000000): return 8  // PANIC
    case (0x0000004543415254, 0x0500000000000000): return 1  // TRACE
    case (0x0000004752454D45, 0x0500000000000000): return 10  // EMERG
    case (0x0000004755424544, 0x0500000000000000): return 2  // DEBUG
    case (0x0000004C41544146, 0x0500000000000000): return 8  // FATAL
    case (0x00000052454E4946, 0x0500000000000000): return 1  // FINER
    case (0x000000524F525245, 0x0500000000000000): return 6  // ERROR
    case (0x0000005452454C41, 0x0500000000000000): return 9  // ALERT
    case (0x0000454349544F4E, 0x0600000000000000): return 4  // NOTICE
    case (0x0000455245564553, 0x0600000000000000): return 6  // SEVERE
    case (0x00005453454E4946, 0x0600000000000000): return 1  // FINEST
    case (0x00474E494E524157, 0x0700000000000000): return 5  // WARNING
    case (0x434E454752454D45, 0x0900000000000059): return 10  // EMERGENCY
    case (0x4C41434954495243, 0x0800000000000000): return 7  // CRITICAL
    case (0x54414D524F464E49, 0x0B000000004E4F49): return 3  // INFORMATION
    default: return 0
    }
  }

  /// An ASCII letter, or a byte of a multi-byte UTF-8 sequence (read as a letter).
  @inline(__always) static func isLetter(_ c: UInt8) -> Bool { (c | 0x20) &- 0x61 < 26 || c >= 0x80 }

  /// Up to 15 ASCII bytes and their count as two integers (the count in the top byte,
  /// so that `INFO` and `INFO\0` differ).
  struct PackedWord: Hashable {
    var low: UInt64 = 0
    var high: UInt64 = 0
    mutating func add(_ c: UInt8, at k: Int) {
      if k < 8 { low |= UInt64(c) << (8 * UInt64(k)) } else { high |= UInt64(c) << (8 * UInt64(k - 8)) }
    }
    mutating func length(_ n: Int) { high |= UInt64(n) << 56 }
  }

  /// Days-from-civil (Howard Hinnant).
  static func seconds(_ y: Int, _ m: Int, _ d: Int, _ h: Int, _ mi: Int, _ s: Int) -> Double? {
    guard (1...12).contains(m), (1...31).contains(d), h < 24, mi < 60, s < 61 else { return nil }
    let yy = m <= 2 ? y - 1 : y
    let era = (yy >= 0 ? yy : yy - 399) / 400
    let yoe = yy - era * 400
    let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return Double((era * 146097 + doe - 719468) * 86400 + h * 3600 + mi * 60 + s)
  }

  static func civilYear(_ t: Double) -> Int {
    let days = Int((t / 86400).rounded(.down)) + 719468
    let era = (days >= 0 ? days : days - 146096) / 146097
    let doe = days - era * 146097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let m = mp < 10 ? mp + 3 : mp - 9
    return yoe + era * 400 + (m <= 2 ? 1 : 0)
  }
}
