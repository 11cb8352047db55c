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
      parts = MIMEEntity.splitMultipart(rest, boundary: boundary).map { MIMEEntity($0, depth: depth + 1) }
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

  private static func splitHeader(_ bytes: ArraySlice<UInt8>) -> (ArraySlice<UInt8>, ArraySlice<UInt8>) {
    var i = bytes.startIndex
    // A part that starts with a blank line has no headers.
    if bytes.first == 0x0A { return (bytes[i..<i], bytes[(i + 1)...]) }
    if bytes.starts(with: [0x0D, 0x0A]) { return (bytes[i..<i], bytes[(i + 2)...]) }
    while i < bytes.endIndex {
      if bytes[i] == 0x0A {
        let next = i + 1
        if next < bytes.endIndex && bytes[next] == 0x0A { return (bytes[..<i], bytes[(next + 1)...]) }
        if next + 1 < bytes.endIndex && bytes[next] == 0x0D && bytes[next + 1] == 0x0A {
          return (bytes[..<i], bytes[(next + 2)...])
        }
      }
      i += 1
    }
    return (bytes, bytes[bytes.endIndex...])
  }

  private static func parseHeaders(_ head: ArraySlice<UInt8>) -> [(name: String, value: String)] {
    let text = String(decoding: head, as: UTF8.self)
    var out: [(name: String, value: String)] = []
    for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
      var line = rawLine
      if line.last == "\r" { line = line.dropLast() }
      if let first = line.first, first == " " || first == "\t", !out.isEmpty {
        out[out.count - 1].value += " " + line.trimmingCharacters(in: .whitespaces)
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
    let media = value.split(separator: ";", maxSplits: 1).first.map {
      $0.trimmingCharacters(in: .whitespaces).lowercased()
    } ?? "text/plain"
    return (media.isEmpty ? "text/plain" : media, parameters(value))
  }

  /// `key=value` parameters after the first `;`, keys lowercased, quotes removed.
  static func parameters(_ value: String) -> [String: String] {
    var out: [String: String] = [:]
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
      // RFC 2231 `filename*=utf-8''na%C3%AFve.pdf`
      var name = key
      if name.hasSuffix("*") {
        name.removeLast()
        if let tick = val.range(of: "''") { val = String(val[tick.upperBound...]) }
        val = val.removingPercentEncoding ?? val
      }
      out[name] = val
    }
    return out
  }

  private static func splitMultipart(_ body: ArraySlice<UInt8>, boundary: String) -> [ArraySlice<UInt8>] {
    let delimiter = Array("--\(boundary)".utf8)
    var parts: [ArraySlice<UInt8>] = []
    var partStart: Int?
    var lineStart = body.startIndex
    while lineStart < body.endIndex {
      let lineEnd = body[lineStart...].firstIndex(of: 0x0A) ?? body.endIndex
      let line = body[lineStart..<lineEnd]
      if line.starts(with: delimiter) {
        if let s = partStart {
          // The CRLF before the delimiter belongs to the delimiter.
          var end = lineStart
          if end > s && body[end - 1] == 0x0A { end -= 1 }
          if end > s && body[end - 1] == 0x0D { end -= 1 }
          parts.append(body[s..<end])
        }
        let after = line.dropFirst(delimiter.count)
        if after.starts(with: [0x2D, 0x2D]) { return parts }  // closing delimiter
        partStart = min(lineEnd + 1, body.endIndex)
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
        if n1 == 0x0A { i += 2; continue }  // soft line break
        if n1 == 0x0D && n2 == 0x0A { i += 3; continue }
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

/// Character sets seen in real mail.
enum Charsets {
  static func decode(_ bytes: [UInt8], charset: String?) -> String {
    switch (charset ?? "utf-8").lowercased() {
    case "iso-8859-1", "latin1", "iso8859-1", "iso-8859-15":
      return String(data: Data(bytes), encoding: .isoLatin1) ?? String(decoding: bytes, as: UTF8.self)
    case "windows-1252", "cp1252":
      return String(data: Data(bytes), encoding: .windowsCP1252) ?? String(decoding: bytes, as: UTF8.self)
    default:
      return String(decoding: bytes, as: UTF8.self)
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
    var previousWasWord = false
    for match in regex.matches(in: value, range: NSRange(location: 0, length: ns.length)) {
      let between = ns.substring(with: NSRange(location: last, length: match.range.location - last))
      // Whitespace between two encoded words is dropped (RFC 2047 §6.2).
      if !(previousWasWord && between.allSatisfy(\.isWhitespace)) { out += between }
      let charset = ns.substring(with: match.range(at: 1))
      let mode = ns.substring(with: match.range(at: 2)).uppercased()
      let payload = ns.substring(with: match.range(at: 3))
      let bytes: [UInt8]
      if mode == "B" {
        bytes = TransferEncoding.base64(ArraySlice(Array(payload.utf8)))
      } else {
        bytes = TransferEncoding.quotedPrintable(ArraySlice(Array(payload.replacingOccurrences(of: "_", with: " ").utf8)))
      }
      out += Charsets.decode(bytes, charset: charset)
      last = match.range.location + match.range.length
      previousWasWord = true
    }
    out += ns.substring(from: last)
    return out
  }
}
