import Foundation

/// One parsed RFC 5322 / MIME entity: its headers and either a decoded body
/// or its parts. Parsing never throws; malformed input degrades to text.
struct MIMEEntity: Sendable {
  /// Header fields in order, names as written, values unfolded and RFC 2047-decoded.
  var headers: [(name: String, value: String)]
  /// The transfer-decoded body bytes of a leaf entity.
  var body: [UInt8]
  /// The parts of a multipart entity.
  var parts: [MIMEEntity]

  /// Parses `bytes` (a whole message or one part).
  init(_ bytes: ArraySlice<UInt8>, depth: Int = 0) {
    let (head, rest) = MIMEEntity.splitHeader(bytes)
    headers = MIMEEntity.parseHeaders(head)
    parts = []
    body = []
    let type = MIMEEntity.contentType(headerValue(self.headers, "content-type"))
    if type.mediaType.hasPrefix("multipart/"), let boundary = type.parameters["boundary"], depth < 20 {
      // Delimiters are matched exactly; a message whose delimiters only start
      // with its boundary (malformed, but seen) is split at those.
      var raw = MIMEEntity.splitMultipart(rest, boundary: boundary)
      if raw.isEmpty { raw = MIMEEntity.splitMultipart(rest, boundary: boundary, strict: false) }
      parts = raw.map { MIMEEntity($0, depth: depth + 1) }
      if !parts.isEmpty { return }
    }
    let encoding = (header("content-transfer-encoding") ?? "").lowercased().trimmingCharacters(in: .whitespaces)
    switch encoding {
    case "base64": body = TransferEncoding.base64(rest)
    case "quoted-printable": body = TransferEncoding.quotedPrintable(rest)
    default: body = Array(rest)
    }
  }

  /// The first value of header `name` (case-insensitive).
  func header(_ name: String) -> String? { headerValue(headers, name) }

  /// The media type (lowercased) and its parameters.
  var contentType: (mediaType: String, parameters: [String: String]) {
    MIMEEntity.contentType(header("content-type"))
  }

  /// The file name from Content-Disposition or Content-Type, if any.
  var fileName: String? {
    if let disposition = header("content-disposition") {
      let params = MIMEEntity.parameters(disposition)
      if let name = params["filename"] { return name }
    }
    return contentType.parameters["name"]
  }

  /// Whether the part is marked as an attachment (or is a named non-text part).
  var isAttachment: Bool {
    let disposition = (header("content-disposition") ?? "").lowercased()
    if disposition.hasPrefix("attachment") { return true }
    let type = contentType.mediaType
    return fileName != nil && !(type == "text/plain" || type == "text/html")
  }

  /// The body decoded to text with the part's charset.
  var text: String {
    Charsets.decode(body, charset: contentType.parameters["charset"])
  }

  // MARK: - Parsing

  /// Splits an entity at the blank line that ends its header (an empty line,
  /// whatever its line end: LF, CRLF or a mix). A line that is neither a field
  /// nor a folded continuation also ends the header, and starts the body, so
  /// no text is lost (a part with no header at all is all body).
  private static func splitHeader(_ bytes: ArraySlice<UInt8>) -> (ArraySlice<UInt8>, ArraySlice<UInt8>) {
    var lineStart = bytes.startIndex
    // An mbox envelope line before the header (attached messages saved from a mailbox).
    if bytes.starts(with: "From ".utf8), let end = bytes.firstIndex(of: 0x0A), !isFieldLine(bytes[lineStart..<end]) {
      let head = Array(bytes.prefix(65_536))
      if Mbox.headerFollows(head, at: end + 1 - bytes.startIndex) { lineStart = end + 1 }
    }
    let headerStart = lineStart
    var fields = 0
    while lineStart < bytes.endIndex {
      let newline = bytes[lineStart...].firstIndex(of: 0x0A)
      let next = newline.map { $0 + 1 } ?? bytes.endIndex
      var contentEnd = newline ?? bytes.endIndex
      if contentEnd > lineStart && bytes[contentEnd - 1] == 0x0D { contentEnd -= 1 }
      if contentEnd == lineStart { return (bytes[headerStart..<lineStart], bytes[next...]) }  // the blank line
      let first = bytes[lineStart]
      let continuation = (first == 0x20 || first == 0x09) && fields > 0
      if !continuation && !isFieldLine(bytes[lineStart..<contentEnd]) {
        return (bytes[headerStart..<lineStart], bytes[lineStart...])
      }
      if !continuation { fields += 1 }
      lineStart = next
    }
    return (bytes[headerStart...], bytes[bytes.endIndex...])
  }

  /// `Name: value`: a field name of printable ASCII other than `:`, then `:`.
  static func isFieldLine(_ line: ArraySlice<UInt8>) -> Bool {
    var i = line.startIndex
    while i < line.endIndex, line[i] != UInt8(ascii: ":") {
      guard (0x21...0x7E).contains(line[i]) else {
        // Some writers put spaces before the colon ("Subject : x").
        let rest = line[i...].drop { $0 == 0x20 || $0 == 0x09 }
        return i > line.startIndex && rest.first == UInt8(ascii: ":")
      }
      i += 1
    }
    return i > line.startIndex && i < line.endIndex
  }

  private static func parseHeaders(_ head: ArraySlice<UInt8>) -> [(name: String, value: String)] {
    var out: [(name: String, value: String)] = []
    for var raw in head.split(separator: 0x0A, omittingEmptySubsequences: false) {
      if raw.last == 0x0D { raw = raw.dropLast() }
      // RFC 6532 allows UTF-8 in fields; other 8-bit bytes are read as windows-1252.
      let line = Substring(Charsets.decode(Array(raw), charset: nil))
      if let first = line.first, first == " " || first == "\t" {
        if !out.isEmpty { out[out.count - 1].value += " " + line.trimmingCharacters(in: .whitespaces) }
      } else if let colon = line.firstIndex(of: ":") {
        let name = line[..<colon].trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty, !name.contains(" ") else { continue }
        out.append((name, line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
      }
    }
    return out.map { ($0.name, EncodedWords.decode($0.value)) }
  }

  static func contentType(_ value: String?) -> (mediaType: String, parameters: [String: String]) {
    guard let value else { return ("text/plain", [:]) }
    let media =
      value.split(separator: ";", maxSplits: 1).first.map {
        $0.trimmingCharacters(in: .whitespaces).lowercased()
      } ?? "text/plain"
    return (media.isEmpty ? "text/plain" : media, parameters(value))
  }

  /// `key=value` parameters after the first `;`, keys lowercased, quotes removed.
  /// RFC 2231 forms are joined and decoded: `filename*=utf-8''na%C3%AFve.pdf`,
  /// and continuations `filename*0*=…; filename*1*=…`.
  static func parameters(_ value: String) -> [String: String] {
    var out: [String: String] = [:]
    // RFC 2231 pieces: name → (section → (value, extended)).
    var pieces: [String: [Int: (String, Bool)]] = [:]
    var rest = Substring(value)
    guard let semi = rest.firstIndex(of: ";") else { return out }
    rest = rest[rest.index(after: semi)...]
    while !rest.isEmpty {
      rest = rest.drop(while: { $0 == " " || $0 == "\t" || $0 == ";" })
      guard let eq = rest.firstIndex(of: "=") else { break }
      let key = rest[..<eq].trimmingCharacters(in: .whitespaces).lowercased()
      rest = rest[rest.index(after: eq)...].drop(while: { $0 == " " })
      var val: String
      if rest.first == "\"" {
        rest = rest.dropFirst()
        let end = rest.firstIndex(of: "\"") ?? rest.endIndex
        val = String(rest[..<end])
        rest = end < rest.endIndex ? rest[rest.index(after: end)...] : rest[end...]
      } else {
        let end = rest.firstIndex(of: ";") ?? rest.endIndex
        val = rest[..<end].trimmingCharacters(in: .whitespaces)
        rest = rest[end...]
      }
      var name = key
      let extended = name.hasSuffix("*")
      if extended { name.removeLast() }
      if let star = name.lastIndex(of: "*"), let section = Int(name[name.index(after: star)...]) {
        pieces[String(name[..<star]), default: [:]][section] = (val, extended)
      } else if extended {
        pieces[name, default: [:]][0] = (val, true)
      } else if out[name] == nil {
        out[name] = val
      }
    }
    for (name, sections) in pieces {
      var bytes: [UInt8] = []
      var charset: String?
      let order = sections.keys.sorted()
      for section in order {
        guard let piece = sections[section] else { continue }
        var val = piece.0
        let extended = piece.1
        if extended && section == order.first {
          // charset'language'value
          let fields = val.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
          if fields.count == 3 {
            charset = fields[0].isEmpty ? nil : String(fields[0])
            val = String(fields[2])
          }
        }
        bytes += extended ? percentDecoded(val) : Array(val.utf8)
      }
      // The RFC 2231 form wins over a plain one (which is there for old readers).
      out[name] = Charsets.decode(bytes, charset: charset)
    }
    return out
  }

  private static func percentDecoded(_ value: String) -> [UInt8] {
    let utf8 = Array(value.utf8)
    var out: [UInt8] = []
    var i = 0
    while i < utf8.count {
      if utf8[i] == UInt8(ascii: "%"), i + 2 < utf8.count,
        let byte = UInt8(String(decoding: utf8[(i + 1)...(i + 2)], as: UTF8.self), radix: 16)
      {
        out.append(byte)
        i += 3
      } else {
        out.append(utf8[i])
        i += 1
      }
    }
    return out
  }

  /// The parts between `--boundary` lines. A delimiter line is the boundary
  /// exactly (then `--` on the closing one), with only white space after it, so
  /// `--b_alt` is not a delimiter of `b`; any line end (LF or CRLF) goes.
  private static func splitMultipart(
    _ body: ArraySlice<UInt8>, boundary: String, strict: Bool = true
  ) -> [ArraySlice<UInt8>] {
    let delimiter = Array("--\(boundary)".utf8)
    var parts: [ArraySlice<UInt8>] = []
    var partStart: Int?
    var lineStart = body.startIndex
    while lineStart < body.endIndex {
      let lineEnd = body[lineStart...].firstIndex(of: 0x0A) ?? body.endIndex
      let line = body[lineStart..<lineEnd]
      if line.starts(with: delimiter) {
        var after = line.dropFirst(delimiter.count)
        let closing = after.starts(with: [0x2D, 0x2D])
        if closing { after = after.dropFirst(2) }
        if !strict || after.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) {
          if let s = partStart {
            // The line end before the delimiter belongs to the delimiter.
            var end = lineStart
            if end > s && body[end - 1] == 0x0A { end -= 1 }
            if end > s && body[end - 1] == 0x0D { end -= 1 }
            parts.append(body[s..<end])
          }
          if closing { return parts }
          partStart = min(lineEnd + 1, body.endIndex)
        }
      }
      lineStart = lineEnd + 1
    }
    if let s = partStart, s < body.endIndex { parts.append(body[s...]) }  // unterminated
    return parts
  }
}

private func headerValue(_ headers: [(name: String, value: String)], _ name: String) -> String? {
  headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
}

/// Content-Transfer-Encoding decoders.
enum TransferEncoding {
  static func base64(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
    let cleaned = bytes.filter { !($0 == 0x0A || $0 == 0x0D || $0 == 0x20 || $0 == 0x09) }
    var text = String(decoding: cleaned, as: UTF8.self)
    while text.count % 4 != 0 { text += "=" }
    return Data(base64Encoded: text, options: .ignoreUnknownCharacters).map(Array.init) ?? Array(bytes)
  }

  static func quotedPrintable(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count)
    var i = bytes.startIndex
    while i < bytes.endIndex {
      let b = bytes[i]
      if b == UInt8(ascii: "=") {
        let n1 = i + 1 < bytes.endIndex ? bytes[i + 1] : 0
        let n2 = i + 2 < bytes.endIndex ? bytes[i + 2] : 0
        if n1 == 0x0A {
          i += 2
          continue
        }  // soft line break
        if n1 == 0x0D && n2 == 0x0A {
          i += 3
          continue
        }
        if let h = hex(n1), let l = hex(n2) {
          out.append(h << 4 | l)
          i += 3
          continue
        }
      }
      out.append(b)
      i += 1
    }
    return out
  }

  private static func hex(_ c: UInt8) -> UInt8? {
    switch c {
    case 0x30...0x39: c - 0x30
    case 0x41...0x46: c - 0x41 + 10
    case 0x61...0x66: c - 0x61 + 10
    default: nil
    }
  }
}

/// RFC 2047 encoded words: `=?utf-8?Q?caf=C3=A9?=`, `=?iso-8859-1?B?...?=`.
enum EncodedWords {
  static func decode(_ value: String) -> String {
    guard value.contains("=?") else { return value }
    let pattern = #"=\?([^?]+)\?([BbQq])\?([^?]*)\?="#
    guard let regex = try? NSRegularExpression(pattern: pattern) else { return value }
    let ns = value as NSString
    var out = ""
    var last = 0
    // Adjacent words in one charset are decoded together: senders split
    // multibyte characters (and ISO-2022-JP shift sequences) across words.
    var pending: [UInt8] = []
    var pendingCharset: String?
    func flush() {
      if let charset = pendingCharset { out += Charsets.decode(pending, charset: charset) }
      pending = []
      pendingCharset = nil
    }
    for match in regex.matches(in: value, range: NSRange(location: 0, length: ns.length)) {
      let between = ns.substring(with: NSRange(location: last, length: match.range.location - last))
      // Whitespace between two encoded words is dropped (RFC 2047 §6.2).
      var charset = ns.substring(with: match.range(at: 1))
      // RFC 2231 language suffix: `=?utf-8*en?Q?...?=`.
      if let star = charset.firstIndex(of: "*") { charset = String(charset[..<star]) }
      let adjacent = pendingCharset != nil && between.allSatisfy(\.isWhitespace)
      if !adjacent || pendingCharset?.caseInsensitiveCompare(charset) != .orderedSame {
        flush()
        if !adjacent { out += between }
      }
      let mode = ns.substring(with: match.range(at: 2)).uppercased()
      let payload = ns.substring(with: match.range(at: 3))
      if mode == "B" {
        pending += TransferEncoding.base64(ArraySlice(Array(payload.utf8)))
      } else {
        pending += TransferEncoding.quotedPrintable(
          ArraySlice(Array(payload.replacingOccurrences(of: "_", with: " ").utf8)))
      }
      pendingCharset = charset
      last = match.range.location + match.range.length
    }
    flush()
    out += ns.substring(from: last)
    return out
  }
}

/// Message-IDs in a header value (`References: <a@x> <b@y>`), without angle brackets; the
/// value's words when it has none in brackets.
public enum MessageIDs {
  public static func parse(_ value: String) -> [String] {
    var out: [String] = []
    var rest = Substring(value)
    while let open = rest.firstIndex(of: "<"), let close = rest[open...].firstIndex(of: ">") {
      let id = rest[rest.index(after: open)..<close].trimmingCharacters(in: .whitespaces)
      if !id.isEmpty { out.append(id) }
      rest = rest[rest.index(after: close)...]
    }
    return out.isEmpty ? value.split(whereSeparator: \.isWhitespace).map(String.init) : out
  }
}
