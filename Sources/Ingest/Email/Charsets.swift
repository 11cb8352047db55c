import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Character sets seen in real mail, decoded through iconv (glibc's on Linux):
/// the one place in the mail code that calls C.
///
/// Labels are read the way mail clients read them: `iso-8859-1` and `us-ascii`
/// as windows-1252 (what their 8-bit bytes nearly always are), `ks_c_5601-1987`
/// and `euc-kr` as CP949, `shift_jis` as CP932, `gb2312` as GB18030: each the
/// superset its senders actually wrote.
enum Charsets {
  /// `bytes` as text in `charset` (UTF-8 when none is given). Bytes the
  /// charset cannot decode become U+FFFD; an unknown charset is read as UTF-8,
  /// or windows-1252 when the bytes are not UTF-8.
  static func decode(_ bytes: [UInt8], charset: String?) -> String {
    if bytes.isEmpty { return "" }
    let label = normalized(charset)
    if label.isEmpty
      || ["utf-8", "utf8", "us-ascii", "ascii", "unicode-1-1-utf-8", "x-unknown", "unknown-8bit"]
        .contains(label)
    {
      if let text = String(validating: bytes, as: UTF8.self) { return text }
      // Declared UTF-8 that is not: decoded lossily; 8-bit bytes under any other
      // label are windows-1252 far more often than anything else.
      if label.hasPrefix("utf") || label.hasPrefix("unicode") { return String(decoding: bytes, as: UTF8.self) }
      return iconvDecode(bytes, from: "CP1252") ?? String(decoding: bytes, as: UTF8.self)
    }
    for name in iconvNames(label) {
      if let text = iconvDecode(bytes, from: name) { return text }
    }
    return String(validating: bytes, as: UTF8.self)
      ?? iconvDecode(bytes, from: "CP1252") ?? String(decoding: bytes, as: UTF8.self)
  }

  private static func normalized(_ charset: String?) -> String {
    (charset ?? "").trimmingCharacters(in: CharacterSet(charactersIn: "\"' \t")).lowercased()
  }

  /// The iconv names to try for a (lowercased) mail charset label, best first.
  private static func iconvNames(_ label: String) -> [String] {
    switch label {
    case "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1", "l1", "cp819", "ibm819", "windows-1252",
      "cp1252", "x-cp1252":
      return ["CP1252"]
    case "ks_c_5601-1987", "ks_c_5601", "ks_c_5601-1989", "ksc5601", "ksc_5601", "ks-c-5601", "euc-kr", "euckr",
      "cp949", "x-windows-949", "windows-949", "uhc":
      return ["CP949", "EUC-KR"]
    case "shift_jis", "shift-jis", "sjis", "x-sjis", "ms_kanji", "csshiftjis", "windows-31j", "cp932", "ms932":
      return ["CP932", "SHIFT_JIS"]
    case "iso-2022-jp", "csiso2022jp", "iso-2022-jp-1", "iso-2022-jp-2":
      // -2 is a superset of the plain form (and of the -1 form's extra set).
      return ["ISO-2022-JP-2", "ISO-2022-JP"]
    case "euc-jp", "x-euc-jp", "eucjp": return ["EUC-JP-MS", "EUC-JP"]
    case "gb2312", "gbk", "x-gbk", "cp936", "euc-cn", "csgb2312", "gb_2312-80", "chinese": return ["GB18030"]
    case "big5", "x-big5", "big5-hkscs", "cn-big5", "csbig5": return ["BIG5-HKSCS", "BIG5"]
    case "windows-874", "x-windows-874": return ["CP874"]
    case "iso-8859-8-i", "iso-8859-8-e": return ["ISO-8859-8"]
    case "iso-8859-6-i", "iso-8859-6-e": return ["ISO-8859-6"]
    case "macintosh", "x-mac-roman", "mac": return ["MACINTOSH"]
    case "unicode-1-1-utf-7", "utf-7", "x-utf-7": return ["UTF-7"]
    default:
      // `windows-1251` → `CP1251`; most other labels are iconv names already.
      if label.hasPrefix("windows-"), let n = Int(label.dropFirst("windows-".count)) { return ["CP\(n)"] }
      return [label.uppercased()]
    }
  }

  /// Converts `bytes` from `name` to UTF-8 with iconv, replacing undecodable
  /// bytes with U+FFFD; `nil` when iconv does not know `name`.
  private static func iconvDecode(_ bytes: [UInt8], from name: String) -> String? {
    let cd = iconv_open("UTF-8", name)
    if cd == iconv_t(bitPattern: -1) { return nil }
    defer { iconv_close(cd) }
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count * 2)
    var input = bytes
    var scratch = [UInt8](repeating: 0, count: 16_384)
    input.withUnsafeMutableBytes { (inRaw: UnsafeMutableRawBufferPointer) in
      scratch.withUnsafeMutableBytes { (outRaw: UnsafeMutableRawBufferPointer) in
        guard let inBase = inRaw.baseAddress, let outBase = outRaw.baseAddress else { return }
        var inPtr: UnsafeMutablePointer<CChar>? = inBase.assumingMemoryBound(to: CChar.self)
        var inLeft = inRaw.count
        // One more call with no input flushes a stateful encoding's shift sequence.
        var flushed = false
        while !flushed {
          var outPtr: UnsafeMutablePointer<CChar>? = outBase.assumingMemoryBound(to: CChar.self)
          var outLeft = outRaw.count
          let result: Int
          if inLeft > 0 {
            result = iconv(cd, &inPtr, &inLeft, &outPtr, &outLeft)
          } else {
            result = iconv(cd, nil, nil, &outPtr, &outLeft)
            flushed = true
          }
          let failure = errno
          out.append(contentsOf: UnsafeRawBufferPointer(start: outBase, count: outRaw.count - outLeft))
          guard result == -1, !flushed else { continue }
          if failure == E2BIG { continue }
          // An invalid or truncated sequence: one replacement character, then on.
          out.append(contentsOf: [0xEF, 0xBF, 0xBD])
          if failure != EILSEQ && failure != EINVAL {
            inLeft = 0
            continue
          }
          inPtr = inPtr.map { $0 + 1 }
          inLeft -= 1
        }
      }
    }
    return String(decoding: out, as: UTF8.self)
  }
}
