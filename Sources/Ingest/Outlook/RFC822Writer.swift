import Foundation

/// Writes an Outlook message as an RFC 5322 / MIME message: how a message
/// attached to a `.msg` becomes a child `.eml` that the mail extractor reads
/// (headers, a UTF-8 text body, and its own attachments as MIME parts, an
/// attached message inside it as a `message/rfc822` part).
enum RFC822Writer {
  /// The message's bytes.
  static func message(_ m: OutlookMessage, depth: Int = 0) -> [UInt8] {
    var head: [String] = []
    func add(_ name: String, _ value: String?) {
      if let value, !value.isEmpty { head.append("\(name): \(encodedWords(value))") }
    }
    add("From", m.from)
    add("To", m.to)
    add("Cc", m.cc)
    add("Bcc", m.bcc)
    add("Subject", m.subject)
    add("Date", m.sent.flatMap(FileTime.rfc5322) ?? m.dateHeader)
    if let id = m.messageID { head.append("Message-ID: <\(id)>") }
    if let id = m.inReplyTo { head.append("In-Reply-To: <\(id)>") }
    if !m.references.isEmpty { head.append("References: " + m.references.map { "<\($0)>" }.joined(separator: " ")) }
    head.append("MIME-Version: 1.0")
    let text = "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + crlf(m.body)
    let parts = m.attachments.filter { $0.embedded != nil || !$0.payload.isEmpty }
    guard !parts.isEmpty else { return Array((head.joined(separator: "\r\n") + "\r\n" + text + "\r\n").utf8) }
    let boundary = "=_longctx_part_\(depth)_=\(m.attachments.count)"
    head.append("Content-Type: multipart/mixed; boundary=\"\(boundary)\"")
    var out = Array((head.joined(separator: "\r\n") + "\r\n\r\n").utf8)
    out += Array("--\(boundary)\r\n\(text)\r\n".utf8)
    for a in parts {
      out += Array("--\(boundary)\r\n".utf8)
      if let inner = a.embedded {
        let name = (inner.subject ?? "message") + ".eml"
        out += Array(
          "Content-Type: message/rfc822\r\nContent-Disposition: attachment; \(fileNameParameter(name))\r\n\r\n".utf8)
        out += message(inner, depth: depth + 1)
      } else {
        let type = a.contentType ?? "application/octet-stream"
        out += Array(
          ("Content-Type: \(type)\r\nContent-Disposition: attachment; \(fileNameParameter(a.fileName))\r\n"
            + "Content-Transfer-Encoding: base64\r\n\r\n").utf8)
        out += Array(
          Data(a.payload).base64EncodedString(options: [
            .lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed,
          ]).utf8)
      }
      out += Array("\r\n".utf8)
    }
    out += Array("--\(boundary)--\r\n".utf8)
    return out
  }

  /// A header value, as one RFC 2047 encoded word when it is not ASCII.
  static func encodedWords(_ value: String) -> String {
    let flat = value.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
    if flat.utf8.allSatisfy({ $0 < 0x80 }) { return flat }
    return "=?utf-8?B?" + Data(flat.utf8).base64EncodedString() + "?="
  }

  /// `filename="x"`, or the RFC 2231 form for a name that is not ASCII.
  static func fileNameParameter(_ name: String) -> String {
    let clean = name.replacingOccurrences(of: "\"", with: "'").replacingOccurrences(of: "\r", with: "")
      .replacingOccurrences(of: "\n", with: " ")
    if clean.utf8.allSatisfy({ $0 < 0x80 && $0 >= 0x20 }) { return "filename=\"\(clean)\"" }
    let allowed = CharacterSet.alphanumerics.subtracting(CharacterSet(charactersIn: "\u{80}"..."\u{10FFFF}"))
      .union(CharacterSet(charactersIn: "-._~"))
    let encoded = clean.addingPercentEncoding(withAllowedCharacters: allowed) ?? clean
    return "filename*=utf-8''\(encoded)"
  }

  private static func crlf(_ text: String) -> String {
    text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n")
  }
}
