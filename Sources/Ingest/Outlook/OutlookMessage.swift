import Foundation

/// An Outlook message read from a `.msg` compound file [MS-OXMSG]: its
/// sender, recipients, dates, identifiers, readable body and attachments
/// (embedded messages read the same way, to a bounded depth).
struct OutlookMessage {
  struct Recipient {
    /// 1 To, 2 Cc, 3 Bcc (`PR_RECIPIENT_TYPE`).
    var type: Int
    var name: String?
    var address: String?
  }

  struct Attachment {
    var fileName: String
    var contentType: String?
    var payload: [UInt8]
    /// An attached Outlook item (`PR_ATTACH_METHOD` 5).
    var embedded: OutlookMessage?
    /// Set where the attachment is only listed (an OLE object, a reference, a damaged stream).
    var note: String?
  }

  var messageClass: String?
  var subject: String?
  var senderName: String?
  var senderAddress: String?
  var recipients: [Recipient] = []
  /// `PR_DISPLAY_TO` / `_CC` / `_BCC`, where there are no recipient storages.
  var displayTo, displayCc, displayBcc: String?
  /// `PR_CLIENT_SUBMIT_TIME` and `PR_MESSAGE_DELIVERY_TIME` (FILETIME).
  var sent, received: UInt64?
  /// The transport headers' `Date:`, where there is no submit time.
  var dateHeader: String?
  var messageID, inReplyTo: String?
  var references: [String] = []
  var transportHeaders: String?
  var body = ""
  /// Where the body came from: `text`, `html`, `rtf`, `rtf-html` or `none`.
  var bodyFormat = "none"
  var attachments: [Attachment] = []
  var warnings: [String] = []

  /// How deep attached messages inside attached messages are read.
  static let maxDepth = 8

  /// The message of the `.msg` file `bytes`.
  ///
  /// - Throws: `CompoundFileError` when the file is not a compound file, its
  ///   structures are damaged, or it holds no message properties.
  static func read(_ bytes: [UInt8]) throws -> OutlookMessage {
    let file = try CompoundFile(bytes: bytes)
    var visited: Set<Int> = [0]
    return try OutlookMessage(file: file, storage: 0, headerSize: 32, charset: nil, depth: 0, visited: &visited)
  }

  /// The message in storage `storage`; `visited` holds the message storages read so far.
  init(
    file: CompoundFile, storage: Int, headerSize: Int, charset: String?, depth: Int, visited: inout Set<Int>
  ) throws {
    var p = try MAPIProperties(file: file, storage: storage, headerSize: headerSize)
    if p.isEmpty { throw CompoundFileError("it holds no Outlook message properties") }
    // 8-bit strings are in the message's code page; the internet code page
    // (of the HTML body) is only a hint, and UTF-8 there says nothing about
    // them: unset, they read as UTF-8 where valid, else windows-1252.
    if let cp = p.int32(0x3FFD), cp > 0 {
      p.charset = MAPICodepage.charset(cp)
    } else if let cp = p.int32(0x3FDE), cp > 0, ![65001, 1200, 1201].contains(cp) {
      p.charset = MAPICodepage.charset(cp)
    } else {
      p.charset = charset
    }
    messageClass = try p.string(0x001A)
    subject = try p.string(0x0037)
    senderName = try p.string(0x0C1A) ?? p.string(0x0042)
    senderAddress = try Self.address(p, smtp: 0x5D01, email: 0x0C1F, type: 0x0C1E)
    if senderAddress == nil { senderAddress = try Self.address(p, smtp: 0x5D02, email: 0x0065, type: 0x0064) }
    // A damaged recipient or attachment costs itself (a warning), not the message.
    for r in p.storages(prefix: "__RECIP_VERSION1.0_") {
      do {
        let rp = try Self.properties(file, r, charset: p.charset)
        recipients.append(
          Recipient(
            type: rp.int32(0x0C15) ?? 1, name: try rp.string(0x3001),
            address: try Self.address(rp, smtp: 0x39FE, email: 0x3003, type: 0x3002)))
      } catch {
        warnings.append("a recipient cannot be read: \(CompoundFileError.reason(error))")
      }
    }
    if recipients.isEmpty {
      displayTo = try p.string(0x0E04)
      displayCc = try p.string(0x0E03)
      displayBcc = try p.string(0x0E02)
    }
    sent = p.time(0x0039)
    received = p.time(0x0E06)
    messageID = try p.string(0x1035).flatMap { Self.ids($0).first }
    inReplyTo = try p.string(0x1042).flatMap { Self.ids($0).first }
    references = try p.string(0x1039).map(Self.ids) ?? []
    transportHeaders = try p.string(0x007D)
    if let transportHeaders { fillFromHeaders(transportHeaders) }
    do { try readBody(p) } catch { warnings.append("the body cannot be read: \(CompoundFileError.reason(error))") }
    for a in p.storages(prefix: "__ATTACH_VERSION1.0_") {
      do {
        attachments.append(try attachment(file, a, charset: p.charset, depth: depth, visited: &visited))
      } catch {
        warnings.append("an attachment cannot be read: \(CompoundFileError.reason(error))")
      }
    }
  }

  private static func properties(_ file: CompoundFile, _ storage: Int, charset: String?) throws
    -> MAPIProperties
  {
    var p = try MAPIProperties(file: file, storage: storage, headerSize: 8)
    p.charset = charset
    return p
  }

  /// An SMTP address: the SMTP property, or the e-mail address property when it is one (not an Exchange DN).
  private static func address(_ p: MAPIProperties, smtp: UInt16, email: UInt16, type: UInt16)
    throws -> String?
  {
    if let a = try p.string(smtp) { return a }
    guard let a = try p.string(email) else { return nil }
    let kind = try p.string(type)?.uppercased()
    return kind == "SMTP" || (kind != "EX" && a.contains("@")) ? a : nil
  }

  /// Message-ID, In-Reply-To, References, Date and the sender's address from
  /// the transport headers, where the properties lack them.
  private mutating func fillFromHeaders(_ headers: String) {
    let entity = MIMEEntity(ArraySlice(Array((headers + "\r\n\r\n").utf8)))
    if messageID == nil { messageID = entity.header("message-id").flatMap { Self.ids($0).first } }
    if inReplyTo == nil { inReplyTo = entity.header("in-reply-to").flatMap { Self.ids($0).first } }
    if references.isEmpty { references = entity.header("references").map(Self.ids) ?? [] }
    dateHeader = entity.header("date")
    if senderAddress == nil, let from = entity.header("from") {
      senderAddress = Self.ids(from).first { $0.contains("@") }
      if senderName == nil { senderName = from }
    }
  }

  // MARK: - Body

  private mutating func readBody(_ p: MAPIProperties) throws {
    if let text = try p.string(0x1000), !text.allSatisfy(\.isWhitespace) {
      body = text.replacingCRLF()
      bodyFormat = "text"
      return
    }
    if let html = try htmlBody(p) {
      body = HTMLText.text(from: html)
      bodyFormat = "html"
      return
    }
    guard let compressed = try p.binary(0x1009), !compressed.isEmpty else { return }
    do {
      let (rtf, crcMatches) = try LZFu.decompress(compressed)
      if !crcMatches { warnings.append("the compressed RTF body's checksum does not match; read anyway") }
      switch RTFText.body(rtf) {
      case .text(let text):
        body = text.replacingCRLF().trimmedWhitespace()
        bodyFormat = "rtf"
      case .html(let html):
        body = HTMLText.text(from: html)
        bodyFormat = "rtf-html"
      }
    } catch {
      warnings.append("the RTF body is not read: \(CompoundFileError.reason(error))")
    }
  }

  /// `PR_HTML` as text: binary in `PR_INTERNET_CPID`'s code page, its own `<meta charset>`, or UTF-8.
  private func htmlBody(_ p: MAPIProperties) throws -> String? {
    if let raw = try p.binary(0x1013), !raw.isEmpty {
      let charset = p.int32(0x3FDE).map(MAPICodepage.charset) ?? Self.metaCharset(raw)
      return Charsets.decode(raw, charset: charset)
    }
    return try p.string(0x1013)
  }

  /// The charset an HTML document's head declares.
  static func metaCharset(_ html: [UInt8]) -> String? {
    let head = String(decoding: html.prefix(4096), as: UTF8.self).lowercased()
    guard let r = head.range(of: "charset=") else { return nil }
    let name = head[r.upperBound...].drop { $0 == "\"" || $0 == "'" || $0 == "\\" }
      .prefix { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }
    return name.isEmpty ? nil : String(name)
  }

  // MARK: - Attachments

  private func attachment(
    _ file: CompoundFile, _ storage: Int, charset: String?, depth: Int, visited: inout Set<Int>
  ) throws -> Attachment {
    let p = try Self.properties(file, storage, charset: charset)
    let method = p.int32(0x3705) ?? 1
    let name = try p.string(0x3707) ?? p.string(0x3704) ?? p.string(0x3001)
    let type = try p.string(0x370E)
    var a = Attachment(fileName: name ?? "unnamed", contentType: type, payload: [])
    if let object = p.object(0x3701) {
      if method == 6 {
        a.note = "an embedded OLE object, listed only"
        return a
      }
      // A damaged directory can make storages share or contain each other: each is read once.
      guard visited.insert(object).inserted else {
        a.note = "an attached message stored twice in a damaged file, listed only"
        return a
      }
      guard depth < Self.maxDepth else {
        a.note = "an attached message nested more than \(Self.maxDepth) deep, listed only"
        return a
      }
      do {
        let inner = try OutlookMessage(
          file: file, storage: object, headerSize: 24, charset: charset, depth: depth + 1, visited: &visited)
        a.embedded = inner
        if name == nil { a.fileName = (inner.subject ?? "message") + ".eml" }
      } catch {
        a.note = "an attached message that cannot be read: \(CompoundFileError.reason(error))"
      }
      return a
    }
    do {
      a.payload = try p.binary(0x3701) ?? []
    } catch {
      a.note = "its data cannot be read: \(CompoundFileError.reason(error))"
    }
    if a.payload.isEmpty && a.note == nil && method != 1 { a.note = "attached by reference, no data in the message" }
    return a
  }

  // MARK: - Addresses

  /// The sender as a mail header writes it: `Name <address>`, a name or an address.
  var from: String? { Self.mailbox(senderName, senderAddress) }
  var to: String? { recipients(type: 1) ?? displayTo }
  var cc: String? { recipients(type: 2) ?? displayCc }
  var bcc: String? { recipients(type: 3) ?? displayBcc }

  private func recipients(type: Int) -> String? {
    let list = recipients.filter { $0.type == type }.compactMap { Self.mailbox($0.name, $0.address) }
    return list.isEmpty ? nil : list.joined(separator: ", ")
  }

  static func mailbox(_ name: String?, _ address: String?) -> String? {
    guard let name, !name.isEmpty else { return address }
    guard let address, name != address else { return name }
    if name.contains("<\(address)>") { return name }
    let special = name.contains { ",;:<>@\"()[]".contains($0) }
    let quoted = special ? "\"" + name.replacingOccurrences(of: "\"", with: "'") + "\"" : name
    return "\(quoted) <\(address)>"
  }

  // MARK: - Helpers

  /// Message-IDs in a header value, without angle brackets (`MessageIDs`).
  static func ids(_ value: String) -> [String] { MessageIDs.parse(value) }
}

extension String {
  /// The text with CRLF and lone CR line ends as LF.
  fileprivate func replacingCRLF() -> String {
    replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
  }

  fileprivate func trimmedWhitespace() -> String { trimmingCharacters(in: .whitespacesAndNewlines) }
}
