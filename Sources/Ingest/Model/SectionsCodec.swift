import Foundation

/// Writes `[Section]` as the same JSON that `JSONEncoder` would (keys and
/// values; `JSONDecoder` reads both), several times faster: it runs over
/// every extracted byte and `JSONEncoder` was a fifth of log ingest time.
enum SectionsCodec {
  /// The JSON array of `sections`.
  static func encode(_ sections: [Section]) -> Data {
    var out: [UInt8] = []
    out.reserveCapacity(sections.reduce(64) { $0 + $1.text.utf8.count + 128 })
    out.append(UInt8(ascii: "["))
    for (i, s) in sections.enumerated() {
      if i > 0 { out.append(UInt8(ascii: ",")) }
      withUTF8(s.text) { text in
        appendSection(
          locator: s.locator, text: text, severity: s.severity, firstTimestamp: s.firstTimestamp,
          lastTimestamp: s.lastTimestamp, symbols: s.symbols, ocr: s.ocr, to: &out)
      }
    }
    out.append(UInt8(ascii: "]"))
    return Data(out)
  }

  /// Appends one section object (no separator) whose text is the UTF-8
  /// bytes `text`: the byte-level log path writes sections without making
  /// a `String` of their text.
  static func appendSection(
    locator: Locator, text: UnsafeBufferPointer<UInt8>, severity: String?, firstTimestamp: Double?,
    lastTimestamp: Double?, symbols: [String]? = nil, ocr: OCRInfo? = nil, to out: inout [UInt8]
  ) {
    append(#"{"locator":{"path":"#, to: &out)
    string(locator.path, to: &out)
    if let page = locator.page { append(#","page":\#(page)"#, to: &out) }
    if let a = locator.lineStart { append(#","lineStart":\#(a)"#, to: &out) }
    if let b = locator.lineEnd { append(#","lineEnd":\#(b)"#, to: &out) }
    if let m = locator.message {
      append(#","message":"#, to: &out)
      string(m, to: &out)
    }
    if let f = locator.folder {
      append(#","folder":"#, to: &out)
      string(f, to: &out)
    }
    if let p = locator.paragraph { append(#","paragraph":\#(p)"#, to: &out) }
    if let p = locator.paragraphEnd { append(#","paragraphEnd":\#(p)"#, to: &out) }
    if let s = locator.sheet {
      append(#","sheet":"#, to: &out)
      string(s, to: &out)
    }
    if let c = locator.cells {
      append(#","cells":"#, to: &out)
      string(c, to: &out)
    }
    if let s = locator.slide { append(#","slide":\#(s)"#, to: &out) }
    append(#"},"text":"#, to: &out)
    out.append(UInt8(ascii: "\""))
    escape(text, to: &out)
    out.append(UInt8(ascii: "\""))
    if let severity {
      append(#","severity":"#, to: &out)
      string(severity, to: &out)
    }
    if let t = firstTimestamp, t.isFinite { append(#","firstTimestamp":\#(t)"#, to: &out) }
    if let t = lastTimestamp, t.isFinite { append(#","lastTimestamp":\#(t)"#, to: &out) }
    if let symbols {
      append(#","symbols":["#, to: &out)
      for (i, name) in symbols.enumerated() {
        if i > 0 { out.append(UInt8(ascii: ",")) }
        string(name, to: &out)
      }
      out.append(UInt8(ascii: "]"))
    }
    if let ocr {
      append(#","ocr":{"engine":"#, to: &out)
      string(ocr.engine, to: &out)
      append(#","languages":"#, to: &out)
      string(ocr.languages, to: &out)
      let confidence = ocr.confidence.isFinite ? ocr.confidence : 0
      append(#","confidence":\#(confidence),"dpi":\#(ocr.dpi)}"#, to: &out)
    }
    out.append(UInt8(ascii: "}"))
  }

  /// Calls `body` with the contiguous UTF-8 bytes of `s`.
  static func withUTF8<R>(_ s: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
    if let r = s.utf8.withContiguousStorageIfAvailable(body) { return r }
    var copy = s
    return copy.withUTF8(body)
  }

  private static func append(_ s: String, to out: inout [UInt8]) { out.append(contentsOf: s.utf8) }

  private static let hex = Array("0123456789abcdef".utf8)

  /// A JSON string literal: quotes, backslashes and control characters escaped.
  private static func string(_ s: String, to out: inout [UInt8]) {
    out.append(UInt8(ascii: "\""))
    withUTF8(s) { escape($0, to: &out) }
    out.append(UInt8(ascii: "\""))
  }

  /// The escaped contents of a JSON string literal (no quotes).
  private static func escape(_ buf: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
    // Copy runs that need no escaping in one go.
    guard let base = buf.baseAddress else { return }
    var run = 0
    var i = 0
    let n = buf.count
    while i < n {
      // Eight bytes at a time while none needs escaping (SWAR: "has a byte
      // below 0x20, equal to 0x22 or equal to 0x5C" on one 64-bit word).
      // When one does, jump straight to the first that does: the lowest
      // flagged byte of each mask is exact, so the lowest of their union is.
      if i + 8 <= n {
        let x = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
        let flagged = SWAR.lessMask(x, 0x20) | SWAR.byteMask(x, 0x22) | SWAR.byteMask(x, 0x5C)
        if flagged == 0 {
          i += 8
          continue
        }
        i += flagged.trailingZeroBitCount >> 3
      }
      let b = base[i]
      i += 1
      guard b < 0x20 || b == 0x22 || b == 0x5C else { continue }
      let at = i - 1
      if at > run { out.append(contentsOf: UnsafeBufferPointer(rebasing: buf[run..<at])) }
      run = at + 1
      // Byte by byte: an array literal per escape cost an allocation per line.
      out.append(0x5C)
      switch b {
      case 0x22, 0x5C: out.append(b)
      case 0x0A: out.append(UInt8(ascii: "n"))
      case 0x0D: out.append(UInt8(ascii: "r"))
      case 0x09: out.append(UInt8(ascii: "t"))
      default:
        out.append(UInt8(ascii: "u"))
        out.append(0x30)
        out.append(0x30)
        out.append(hex[Int(b >> 4)])
        out.append(hex[Int(b & 0xF)])
      }
    }
    if buf.count > run { out.append(contentsOf: UnsafeBufferPointer(rebasing: buf[run..<buf.count])) }
  }
}

/// Byte tests on eight bytes at once ("SIMD within a register"); exact for
/// whether any byte matches, not for which.
enum SWAR {
  static let ones: UInt64 = 0x0101_0101_0101_0101
  static let highs: UInt64 = 0x8080_8080_8080_8080

  /// The top bit of bytes of `x` below `n` (`n` ≤ 128): the lowest one set is
  /// exact; above it, a borrow may flag a byte that is not.
  @inline(__always) static func lessMask(_ x: UInt64, _ n: UInt8) -> UInt64 {
    (x &- ones &* UInt64(n)) & ~x & highs
  }

  /// Some byte of `x` lies strictly between `m` and `n` (`m` ≤ 127, `n` ≤ 128).
  @inline(__always) static func hasBetween(_ x: UInt64, _ m: UInt8, _ n: UInt8) -> Bool {
    let low = x & (ones &* 127)
    return ((ones &* (127 &+ UInt64(n))) &- low) & ~x & (low &+ ones &* (127 &- UInt64(m))) & highs != 0
  }

  /// The top bit of each byte of `x` that is an ASCII capital letter.
  @inline(__always) static func capitals(_ x: UInt64) -> UInt64 {
    // Per byte, with the top bit forced on: no borrow crosses bytes.
    let y = x | highs
    let atLeastA = (y &- ones &* 0x41) & highs
    let pastZ = (y &- ones &* 0x5B) & highs
    return atLeastA & ~pastZ & ~x & highs
  }

  /// The top bits of the eight bytes of `x`, byte `i`'s as bit `i`.
  @inline(__always) static func gatherHighBits(_ x: UInt64) -> UInt64 {
    ((x & highs) &* 0x0002_0408_1020_4081) >> 56
  }

  /// The top bit of bytes of `x` equal to `b`: the lowest one set is exact
  /// (as for `lessMask`).
  @inline(__always) static func byteMask(_ x: UInt64, _ b: UInt8) -> UInt64 {
    let v = x ^ (ones &* UInt64(b))
    return (v &- ones) & ~v & highs
  }
}
