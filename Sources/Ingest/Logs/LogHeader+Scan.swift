import Foundation

/// A cursor over a line's bytes.
struct Scan {
  let b: UnsafeBufferPointer<UInt8>
  var i = 0

  var atEnd: Bool { i >= b.count }
  var peek: UInt8? { i < b.count ? b[i] : nil }

  mutating func byte(_ c: Unicode.Scalar) -> Bool {
    guard i < b.count, b[i] == UInt8(ascii: c) else { return false }
    i += 1
    return true
  }

  mutating func num(_ n: Int) -> Int? {
    guard i + n <= b.count else { return nil }
    var v = 0
    for k in 0..<n {
      let c = b[i + k]
      guard c >= 0x30 && c <= 0x39 else { return nil }
      v = v * 10 + Int(c - 0x30)
    }
    i += n
    return v
  }

  /// A run of digits whose length is in `range` (followed by a non-digit).
  mutating func digits(_ range: ClosedRange<Int>) -> String? {
    var j = i
    while j < b.count, b[j] >= 0x30 && b[j] <= 0x39 { j += 1 }
    guard range.contains(j - i) else { return nil }
    let s = String(decoding: UnsafeBufferPointer(rebasing: b[i..<j]), as: UTF8.self)
    i = j
    return s
  }

  /// A run of digits whose length is in `range` (followed by a non-digit), as a number.
  mutating func number(_ range: ClosedRange<Int>) -> Int? {
    var j = i
    var v = 0
    while j < b.count, b[j] >= 0x30 && b[j] <= 0x39 {
      if j - i < 18 { v = v * 10 + Int(b[j] - 0x30) }
      j += 1
    }
    guard range.contains(j - i) else { return nil }
    i = j
    return v
  }

  /// A run of digits whose length is in `range` read as a decimal fraction (`125` → 0.125).
  mutating func fraction(_ range: ClosedRange<Int>) -> Double? {
    var j = i
    var v = 0
    var scale = 1
    while j < b.count, b[j] >= 0x30 && b[j] <= 0x39 {
      if j - i < 18 {
        v = v * 10 + Int(b[j] - 0x30)
        scale *= 10
      }
      j += 1
    }
    guard range.contains(j - i) else { return nil }
    i = j
    // Up to 15 digits both are exact Doubles, so the quotient is the nearest Double
    // to the fraction, as `Double("0." + digits)` gives it (callers take at most 9).
    return Double(v) / Double(scale)
  }

  /// The bytes up to the next space or the end (nil when empty).
  mutating func token() -> String? {
    var j = i
    while j < b.count, b[j] != 0x20, b[j] != 0x09 { j += 1 }
    guard j > i else { return nil }
    let s = String(decoding: UnsafeBufferPointer(rebasing: b[i..<j]), as: UTF8.self)
    i = j
    return s
  }

  /// The bytes up to the next space or the end, as a range (nil when empty).
  mutating func word() -> Range<Int>? {
    var j = i
    while j < b.count, b[j] != 0x20, b[j] != 0x09 { j += 1 }
    guard j > i else { return nil }
    defer { i = j }
    return i..<j
  }

  /// The bytes up to `c` or the end, as a range.
  mutating func through(_ c: UInt8) -> Range<Int> {
    var j = i
    while j < b.count, b[j] != c { j += 1 }
    defer { i = j }
    return i..<j
  }

  func bytes(_ r: Range<Int>) -> UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(rebasing: b[r]) }

  /// The bytes of `r` as a String (a header field).
  func field(_ r: Range<Int>) -> String { String(decoding: bytes(r), as: UTF8.self) }

  /// `field(_:)`, or nil when the bytes are `placeholder` (syslog's `-`).
  func field(_ r: Range<Int>, unless placeholder: String) -> String? {
    bytes(r).elementsEqual(placeholder.utf8) ? nil : field(r)
  }

  mutating func until(_ c: UInt8) -> String {
    var j = i
    while j < b.count, b[j] != c { j += 1 }
    let s = String(decoding: UnsafeBufferPointer(rebasing: b[i..<j]), as: UTF8.self)
    i = j
    return s
  }

  mutating func spaces() -> Int {
    let start = i
    while i < b.count, b[i] == 0x20 || b[i] == 0x09 { i += 1 }
    return i - start
  }

  func spacesAhead() -> Int {
    var j = i
    while j < b.count, b[j] == 0x20 || b[j] == 0x09 { j += 1 }
    return j - i
  }

  /// Where ` - ` starts when it follows the token at `start` or the one after it.
  func dashAhead(from start: Int) -> Int? {
    var j = start
    for _ in 0..<2 {
      while j < b.count, b[j] != 0x20 { j += 1 }
      if j + 1 < b.count, b[j + 1] == UInt8(ascii: "[") { return nil }
      if j + 2 < b.count, b[j + 1] == UInt8(ascii: "-"), b[j + 2] == 0x20 { return j }
      j += 1
    }
    return nil
  }

  func followedBy(_ text: String) -> Bool {
    let u = Array(text.utf8)
    guard i + u.count <= b.count else { return false }
    for k in 0..<u.count where b[i + k] != u[k] { return false }
    return true
  }

  /// Skips `[…]` (nested brackets counted).
  mutating func skipBracket() -> Bool {
    guard byte("[") else { return false }
    var depth = 1
    while i < b.count {
      if b[i] == UInt8(ascii: "[") {
        depth += 1
      } else if b[i] == UInt8(ascii: "]") {
        depth -= 1
        if depth == 0 {
          i += 1
          return true
        }
      }
      i += 1
    }
    return false
  }

  /// `Jan` … `Dec` at the cursor, as 1 … 12 (three bytes matched as one integer).
  mutating func month() -> Int? {
    guard i + 3 <= b.count else { return nil }
    let n: Int
    switch UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 {
    case 0x6E614A: n = 1  // Jan
    case 0x626546: n = 2  // Feb
    case 0x72614D: n = 3  // Mar
    case 0x727041: n = 4  // Apr
    case 0x79614D: n = 5  // May
    case 0x6E754A: n = 6  // Jun
    case 0x6C754A: n = 7  // Jul
    case 0x677541: n = 8  // Aug
    case 0x706553: n = 9  // Sep
    case 0x74634F: n = 10  // Oct
    case 0x766F4E: n = 11  // Nov
    case 0x636544: n = 12  // Dec
    default: return nil
    }
    i += 3
    return n
  }

  /// `Mar  9 ` / `Mar 09 ` (consumes the space after the day).
  mutating func monthDay() -> (Int, Int)? {
    let start = i
    guard let mo = month(), spaces() > 0, let d = number(1...2), spaces() > 0 else {
      i = start
      return nil
    }
    return (mo, d)
  }

  /// `hh:mm:ss[.fff|,fff]` (the fraction left unread when `withFraction` is false).
  mutating func clock(withFraction: Bool = true) -> (Int, Int, Int, Double)? {
    let start = i
    guard let h = num(2), byte(":"), let m = num(2), byte(":"), let s = num(2) else {
      i = start
      return nil
    }
    var frac = 0.0
    let mark = i
    if withFraction, byte(".") || byte(","), let f = fraction(1...9) { frac = f } else { i = mark }
    return (h, m, s, frac)
  }

  /// `yyyy-mm-dd[T ]hh:mm:ss[.fff][Z|±hh[:]mm]`.
  mutating func isoTime() -> (time: Double, end: Int)? {
    var memo = MinuteMemo()
    return isoTime(memo: &memo)
  }

  /// The minute (`yyyy-mm-ddThh:mm`, 16 bytes) of the last ISO time read and its seconds
  /// since 1970: lines of one minute read their seconds only.
  struct MinuteMemo {
    var key: (UInt64, UInt64)?
    var seconds = 0
  }

  /// `isoTime()`, reading only the seconds and what follows when the line's minute is `memo`'s.
  mutating func isoTime(memo: inout MinuteMemo) -> (time: Double, end: Int)? {
    let start = i
    if i + 19 <= b.count, let key = memo.key, b[i + 16] == UInt8(ascii: ":") {
      let raw = UnsafeRawPointer(b.baseAddress! + i)
      if raw.loadUnaligned(as: UInt64.self) == key.0, raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self) == key.1 {
        i += 17
        if let s = num(2), s < 61 {
          let (frac, offset) = isoTail()
          return (Double(memo.seconds + s) + frac - Double(offset), i)
        }
        i = start
      }
    }
    guard let y = num(4), byte("-"), let mo = num(2), byte("-"), let d = num(2), byte("T") || byte(" "),
      let (h, mi, s, _) = clock(withFraction: false)
    else {
      i = start
      return nil
    }
    let (frac, offset) = isoTail()
    guard let t = LogHeaderParser.seconds(y, mo, d, h, mi, s) else {
      i = start
      return nil
    }
    if start + 16 <= b.count {
      let raw = UnsafeRawPointer(b.baseAddress! + start)
      memo.key = (raw.loadUnaligned(as: UInt64.self), raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
      memo.seconds = Int(t) - s
    }
    return (t + frac - Double(offset), i)
  }

  /// What follows an ISO time's seconds: a fraction, then `Z` or an offset `±hh[:]mm`.
  private mutating func isoTail() -> (frac: Double, offset: Int) {
    var frac = 0.0
    let mark = i
    if byte(".") || byte(","), let f = fraction(1...9) { frac = f } else { i = mark }
    var offset = 0
    if byte("Z") {
    } else if let c = peek, c == UInt8(ascii: "+") || c == UInt8(ascii: "-") {
      let mark = i
      i += 1
      if let oh = num(2) {
        _ = byte(":")
        let om = num(2) ?? 0
        offset = (c == UInt8(ascii: "+") ? 1 : -1) * (oh * 3600 + om * 60)
      } else {
        i = mark
      }
    }
    return (frac, offset)
  }

  /// A syslog tag at the cursor: `name[pid]:`, `name:`, with an optional ` (…)` before the colon.
  /// Moves the message start past it when found.
  mutating func tag(into h: inout LogHeader, keepsFields: Bool = true) {
    let start = i
    var j = i
    var words = 0
    // The tag may hold spaces (`Microsoft Word[14463]:`): up to 3 words, 64 bytes.
    while j < b.count, j - i < 64, b[j] != UInt8(ascii: "["), b[j] != UInt8(ascii: ":") {
      if b[j] == 0x20 {
        words += 1
        if words >= 3 || (j + 1 < b.count && b[j + 1] == UInt8(ascii: "(")) { break }
      }
      j += 1
    }
    guard j > i, j < b.count, b[j] != 0x20 || (j + 1 < b.count && b[j + 1] == UInt8(ascii: "(")) else { return }
    let name = i..<j
    i = j
    var pid: Range<Int>?
    if byte("[") {
      pid = through(UInt8(ascii: "]"))
      guard byte("]") else {
        i = start
        return
      }
    }
    if peek == 0x20, i + 1 < b.count, b[i + 1] == UInt8(ascii: "(") {
      let mark = i
      i += 2
      _ = until(UInt8(ascii: ")"))
      if !byte(")") { i = mark }
    }
    guard byte(":") else {
      i = start
      return
    }
    if keepsFields {
      h.component = field(name)
      h.pid = pid.map(field)
    }
    _ = spaces()
    h.messageStart = i
  }
}
