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
      append(#"{"locator":{"path":"#, to: &out)
      string(s.locator.path, to: &out)
      if let page = s.locator.page { append(#","page":\#(page)"#, to: &out) }
      if let a = s.locator.lineStart { append(#","lineStart":\#(a)"#, to: &out) }
      if let b = s.locator.lineEnd { append(#","lineEnd":\#(b)"#, to: &out) }
      if let m = s.locator.message {
        append(#","message":"#, to: &out)
        string(m, to: &out)
      }
      append(#"},"text":"#, to: &out)
      string(s.text, to: &out)
      if let severity = s.severity {
        append(#","severity":"#, to: &out)
        string(severity, to: &out)
      }
      if let t = s.firstTimestamp, t.isFinite { append(#","firstTimestamp":\#(t)"#, to: &out) }
      if let t = s.lastTimestamp, t.isFinite { append(#","lastTimestamp":\#(t)"#, to: &out) }
      out.append(UInt8(ascii: "}"))
    }
    out.append(UInt8(ascii: "]"))
    return Data(out)
  }

  private static func append(_ s: String, to out: inout [UInt8]) { out.append(contentsOf: s.utf8) }

  private static let hex = Array("0123456789abcdef".utf8)

  /// A JSON string literal: quotes, backslashes and control characters escaped.
  private static func string(_ s: String, to out: inout [UInt8]) {
    out.append(UInt8(ascii: "\""))
    for b in s.utf8 {
      switch b {
      case UInt8(ascii: "\""): out.append(contentsOf: [0x5C, 0x22])
      case UInt8(ascii: "\\"): out.append(contentsOf: [0x5C, 0x5C])
      case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
      case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
      case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
      case 0..<0x20:
        out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 0xF)]])
      default: out.append(b)
      }
    }
    out.append(UInt8(ascii: "\""))
  }
}
