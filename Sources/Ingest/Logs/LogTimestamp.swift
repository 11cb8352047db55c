import Foundation

/// Finds the timestamp of a log line: ISO 8601 / RFC 3339 (`2026-03-09T02:54:06.120Z`,
/// `2026-03-09 02:54:06,120`), syslog (`Mar  9 02:10:01`, year taken from
/// `defaultYear`), Apache/nginx access logs (`[10/Oct/2025:13:55:36 -0700]`),
/// leading epoch seconds or milliseconds, and the time field of JSON lines.
enum LogTimestamp {
  /// Seconds since 1970 (UTC) of the timestamp that starts `line`, if any.
  static func parse(_ line: Substring, defaultYear: Int) -> Double? {
    var bytes = [UInt8]()
    bytes.reserveCapacity(96)
    for b in line.utf8.prefix(96) { bytes.append(b) }
    if bytes.first == UInt8(ascii: "{") { return JSONLogLine(line)?.time }
    return parse(prefix: bytes, defaultYear: defaultYear)
  }

  /// `parse` on a line's UTF-8 bytes. A JSON line (first byte `{`) is
  /// decoded and parsed as JSON.
  static func parse(bytes line: UnsafeBufferPointer<UInt8>, defaultYear: Int) -> Double? {
    if line.first == UInt8(ascii: "{") {
      return JSONLogLine(Substring(String(decoding: line, as: UTF8.self)))?.time
    }
    return parse(prefix: Array(line.prefix(96)), defaultYear: defaultYear)
  }

  /// The non-JSON formats, on the first 96 bytes of a line.
  private static func parse(prefix bytes: [UInt8], defaultYear: Int) -> Double? {
    guard !bytes.isEmpty else { return nil }
    let first = bytes[0]
    var start = 0
    if first == UInt8(ascii: "[") { start = 1 }
    if let t = iso(bytes, start) { return t }
    if let t = epoch(bytes, start) { return t }
    if let t = syslog(bytes, defaultYear: defaultYear) { return t }
    if let open = bytes.firstIndex(of: UInt8(ascii: "[")), let t = access(bytes, open + 1) { return t }
    return nil
  }

  /// Parses an ISO 8601 date-time string (as found in JSON fields).
  static func iso(_ text: String) -> Double? { iso(Array(text.utf8), 0) }

  // MARK: - Formats

  static func iso(_ b: [UInt8], _ s: Int) -> Double? {
    guard b.count >= s + 19,
      let y = num(b, s, 4), b[s + 4] == 0x2D, let mo = num(b, s + 5, 2), b[s + 7] == 0x2D,
      let d = num(b, s + 8, 2), b[s + 10] == UInt8(ascii: "T") || b[s + 10] == 0x20,
      let h = num(b, s + 11, 2), b[s + 13] == 0x3A, let mi = num(b, s + 14, 2), b[s + 16] == 0x3A,
      let sec = num(b, s + 17, 2)
    else { return nil }
    var i = s + 19
    var fraction = 0.0
    if i < b.count && (b[i] == UInt8(ascii: ".") || b[i] == UInt8(ascii: ",")) {
      i += 1
      var scale = 0.1
      while i < b.count, let digit = digit(b[i]) {
        fraction += Double(digit) * scale
        scale /= 10
        i += 1
      }
    }
    var offset = 0
    if i < b.count && (b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-")) {
      let sign = b[i] == UInt8(ascii: "+") ? 1 : -1
      if let oh = num(b, i + 1, 2) {
        var om = 0
        if let m = num(b, i + 3, 2) {
          om = m
        } else if i + 3 < b.count && b[i + 3] == 0x3A, let m = num(b, i + 4, 2) {
          om = m
        }
        offset = sign * (oh * 3600 + om * 60)
      }
    }
    return seconds(y, mo, d, h, mi, sec, offset: offset).map { $0 + fraction }
  }

  static func epoch(_ b: [UInt8], _ s: Int) -> Double? {
    var i = s
    var value = 0
    // Only 10 or 13 digits are a time; a longer run (an ID, a long number)
    // must not overflow `value`.
    while i < b.count, let digit = digit(b[i]) {
      if i - s < 13 { value = value * 10 + digit }
      i += 1
    }
    let digits = i - s
    guard digits == 10 || digits == 13 else { return nil }
    if i < b.count
      && !(b[i] == 0x20 || b[i] == 0x09 || b[i] == UInt8(ascii: ".") || b[i] == UInt8(ascii: "]")
        || b[i] == UInt8(ascii: ","))
    {
      return nil
    }
    var fraction = 0.0
    if digits == 10 && i < b.count && b[i] == UInt8(ascii: ".") {
      i += 1
      var scale = 0.1
      while i < b.count, let digit = digit(b[i]) {
        fraction += Double(digit) * scale
        scale /= 10
        i += 1
      }
    }
    return digits == 13 ? Double(value) / 1000 : Double(value) + fraction
  }

  static func syslog(_ b: [UInt8], defaultYear: Int) -> Double? {
    guard b.count >= 15, let mo = month(b, 0), b[3] == 0x20 else { return nil }
    let d: Int
    if b[4] == 0x20, let v = num(b, 5, 1) { d = v } else if let v = num(b, 4, 2) { d = v } else { return nil }
    guard b[6] == 0x20, let h = num(b, 7, 2), b[9] == 0x3A, let mi = num(b, 10, 2), b[12] == 0x3A,
      let sec = num(b, 13, 2)
    else { return nil }
    return seconds(defaultYear, mo, d, h, mi, sec, offset: 0)
  }

  /// `10/Oct/2025:13:55:36 -0700` starting at `s`.
  static func access(_ b: [UInt8], _ s: Int) -> Double? {
    guard b.count >= s + 20, let d = num(b, s, 2), b[s + 2] == UInt8(ascii: "/"), let mo = month(b, s + 3),
      b[s + 6] == UInt8(ascii: "/"), let y = num(b, s + 7, 4), b[s + 11] == 0x3A,
      let h = num(b, s + 12, 2), b[s + 14] == 0x3A, let mi = num(b, s + 15, 2), b[s + 17] == 0x3A,
      let sec = num(b, s + 18, 2)
    else { return nil }
    var offset = 0
    let z = s + 21
    if b.count >= z + 5 && b[s + 20] == 0x20 && (b[z] == UInt8(ascii: "+") || b[z] == UInt8(ascii: "-")),
      let oh = num(b, z + 1, 2), let om = num(b, z + 3, 2)
    {
      offset = (b[z] == UInt8(ascii: "+") ? 1 : -1) * (oh * 3600 + om * 60)
    }
    return seconds(y, mo, d, h, mi, sec, offset: offset)
  }

  // MARK: - Helpers

  private static func digit(_ c: UInt8) -> Int? { c >= 0x30 && c <= 0x39 ? Int(c - 0x30) : nil }

  private static func num(_ b: [UInt8], _ s: Int, _ n: Int) -> Int? {
    guard s >= 0, s + n <= b.count else { return nil }
    var v = 0
    for i in s..<(s + n) {
      guard let d = digit(b[i]) else { return nil }
      v = v * 10 + d
    }
    return v
  }

  private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    .map { Array($0.utf8) }

  private static func month(_ b: [UInt8], _ s: Int) -> Int? {
    guard s + 3 <= b.count else { return nil }
    for (i, m) in months.enumerated() where b[s] == m[0] && b[s + 1] == m[1] && b[s + 2] == m[2] { return i + 1 }
    return nil
  }

  /// Days-from-civil (Howard Hinnant), so no Calendar is needed per line.
  static func seconds(_ y: Int, _ m: Int, _ d: Int, _ h: Int, _ mi: Int, _ s: Int, offset: Int) -> Double? {
    guard (1...12).contains(m), (1...31).contains(d), h < 24, mi < 60, s < 61 else { return nil }
    let yy = m <= 2 ? y - 1 : y
    let era = (yy >= 0 ? yy : yy - 399) / 400
    let yoe = yy - era * 400
    let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    let days = era * 146097 + doe - 719468
    return Double(days * 86400 + h * 3600 + mi * 60 + s - offset)
  }
}

/// The severity and time fields of one JSON-lines log record.
struct JSONLogLine {
  var level: String?
  var time: Double?

  static let levelKeys = ["level", "severity", "lvl", "log.level", "loglevel", "levelname"]
  static let timeKeys = ["time", "timestamp", "@timestamp", "ts", "t", "datetime", "date"]

  /// Parses `line` when it is a JSON object; `nil` otherwise.
  init?(_ line: Substring) {
    guard line.first == "{",
      let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
    else { return nil }
    for key in Self.levelKeys {
      if let v = object[key] as? String {
        level = LogLine.normalise(v)
        break
      }
      if let v = object[key] as? Int {
        level = LogFieldValues.numericLevel(v)
        break
      }  // pino/bunyan numeric levels
    }
    for key in Self.timeKeys {
      if let v = object[key] as? String {
        time = LogTimestamp.iso(v) ?? Double(v).map(LogFieldValues.epochSeconds)
        break
      }
      if let v = object[key] as? NSNumber {
        time = LogFieldValues.epochSeconds(v.doubleValue)
        break
      }
    }
  }

}
