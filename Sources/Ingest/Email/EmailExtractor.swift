import Foundation

/// Extracts `.eml` files and `.mbox` mailboxes: one section per message,
/// cited as `path#msg=<Message-ID>` (or the message's ordinal when it has
/// none), with headers, the readable body, attachments and threads.
struct EmailExtractor {
  /// Replace secrets with `[REDACTED:kind]`.
  var redact = true
  /// A message's essentials, kept for metadata and threading.
  struct Message: Sendable {
    var ordinal: Int
    var id: String?
    var inReplyTo: String?
    var references: [String]
    var from, to, cc, date, subject: String?
    var body: String
    var attachments: [Attachment]
    /// 1-based first line of the message in the file (mbox "From " line included).
    var line: Int
  }

  /// A part that is not shown as body text.
  struct Attachment: Codable, Sendable, Hashable {
    var message: String
    var fileName: String
    var contentType: String
    var bytes: Int
    /// The decoded bytes (not part of the metadata JSON).
    var payload: [UInt8] = []
    /// The Content-Type charset of a text attachment.
    var charset: String?

    private enum CodingKeys: String, CodingKey { case message, fileName, contentType, bytes }
  }

  /// A PDF or text attachment, ingested as a child document of its message.
  struct ChildAttachment: Sendable {
    /// What follows the mailbox's path in the child's citations:
    /// `#msg=<Message-ID>/attachment=<file name>`.
    var suffix: String
    var fileName: String
    var contentType: String
    var kind: DocumentKind
    var payload: [UInt8]
    var charset: String?
  }

  /// The kind a child document of `attachment` gets, or `nil` when it is only listed.
  static func childKind(_ attachment: Attachment) -> DocumentKind? {
    let name = attachment.fileName.lowercased()
    let type = attachment.contentType
    if type == "application/pdf" || (name.hasSuffix(".pdf") && attachment.payload.starts(with: Array("%PDF".utf8))) {
      return .pdf
    }
    if type.hasPrefix("text/") || [".txt", ".md", ".csv", ".log"].contains(where: name.hasSuffix) { return .text }
    // Scans and photos are read with OCR, like image files.
    if ["image/png", "image/jpeg", "image/jpg", "image/tiff"].contains(type)
      || Discovery.imageExtensions.contains((name as NSString).pathExtension)
    {
      return .image
    }
    // Office files, Outlook messages, archives and attached mail are read by their own extractors.
    if let kind = Discovery.containerKind(name: name, head: Array(attachment.payload.prefix(16_384))) { return kind }
    if name.hasSuffix(".eml") || type == "message/rfc822" || type == "message/global" { return .email }
    return nil
  }

  func extract(path: String, displayPath: String) throws -> ExtractedDocument {
    try extractWithAttachments(path: path, displayPath: displayPath).document
  }

  /// The mailbox's document, and its PDF and text attachments to ingest as child documents.
  func extractWithAttachments(path: String, displayPath: String) throws -> (
    document: ExtractedDocument, attachments: [ChildAttachment]
  ) {
    let data: Data
    do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
      throw IngestError.unreadable(path: path, reason: (error as NSError).localizedDescription)
    }
    var warnings: [String] = []
    let chunks = Mbox.messages(of: [UInt8](data), path: path)
    var messages: [Message] = []
    for (index, chunk) in chunks.enumerated() {
      let entity = MIMEEntity(ArraySlice(chunk.bytes))
      let ordinal = index + 1
      // A `.mbox` with no `From ` line at all is one message, not a preamble.
      if chunk.isPreamble && chunks.count > 1 {
        warnings.append("text before the mailbox's first From line (line \(chunk.line)) kept as message \(ordinal)")
      } else if entity.headers.isEmpty {
        warnings.append("message \(ordinal) (line \(chunk.line)) has no header fields; kept as text")
      }
      messages.append(Self.message(entity, ordinal: ordinal, line: chunk.line))
    }

    var sections: [Section] = []
    var usedIDs = Set<String>()
    var redactor = Redactor(enabled: redact)
    var children: [ChildAttachment] = []
    for m in messages {
      var key = m.id ?? String(m.ordinal)
      if !usedIDs.insert(key).inserted { key = String(m.ordinal) }  // duplicate Message-ID
      let locator = Locator(path: displayPath, message: key)
      sections.append(Section(locator: locator, text: redactor.redact(Self.render(m), locator: locator)))
      var names = Set<String>()
      for a in m.attachments {
        guard let kind = Self.childKind(a) else { continue }
        // "#" and "/" would break the citation; a repeated name gets a counter.
        let name = ChildFile.citableName(a.fileName, taken: &names)
        children.append(
          ChildAttachment(
            suffix: "#msg=\(key)/attachment=\(name)", fileName: a.fileName, contentType: a.contentType, kind: kind,
            payload: a.payload, charset: a.charset))
      }
    }

    var meta: [String: String] = ["messages": String(messages.count)]
    let threads = Self.threads(messages)
    meta["threads"] = String(threads.count)
    meta["thread.members"] = Self.json(threads)
    let attachments = messages.flatMap(\.attachments)
    if !attachments.isEmpty { meta["attachments"] = Self.json(attachments) }
    var title: String?
    if messages.count == 1, let m = messages.first {
      for (k, v) in [
        ("from", m.from), ("to", m.to), ("cc", m.cc), ("date", m.date), ("subject", m.subject),
        ("message-id", m.id), ("in-reply-to", m.inReplyTo),
      ] {
        if let v { meta[k] = v }
      }
      title = m.subject
    } else if let first = messages.first {
      title = first.subject
    }
    warnings += redactor.warnings
    if messages.isEmpty { warnings.append("no messages found") }
    let document = ExtractedDocument(
      kind: .email, title: title, metadata: meta, sections: sections, warnings: warnings,
      extractor: DocumentKind.email.extractorVersion)
    return (document, children)
  }

  // MARK: - Messages

  static func message(_ entity: MIMEEntity, ordinal: Int, line: Int) -> Message {
    let id = entity.header("message-id").flatMap { ids($0).first }
    var attachments: [Attachment] = []
    let body = bodyText(entity, attachments: &attachments, messageKey: id ?? String(ordinal))
    return Message(
      ordinal: ordinal, id: id, inReplyTo: entity.header("in-reply-to").flatMap { ids($0).first },
      references: entity.header("references").map(ids) ?? [],
      from: entity.header("from"), to: entity.header("to"), cc: entity.header("cc"),
      date: entity.header("date"), subject: entity.header("subject"), body: body,
      attachments: attachments, line: line)
  }

  /// The readable text of an entity: text/plain preferred within
  /// multipart/alternative, HTML reduced to text, other parts listed.
  static func bodyText(_ entity: MIMEEntity, attachments: inout [Attachment], messageKey: String) -> String {
    let type = entity.contentType.mediaType
    if !entity.parts.isEmpty {
      if type == "multipart/alternative" {
        let pick =
          entity.parts.first { $0.contentType.mediaType == "text/plain" && !$0.isAttachment }
          ?? entity.parts.last { !$0.isAttachment }
        // Alternatives still may carry attachments (rare); list the others' files.
        for part in entity.parts where part.isAttachment { list(part, into: &attachments, messageKey: messageKey) }
        return pick.map { bodyText($0, attachments: &attachments, messageKey: messageKey) } ?? ""
      }
      var texts: [String] = []
      for part in entity.parts {
        let text = bodyText(part, attachments: &attachments, messageKey: messageKey)
        if !text.isEmpty { texts.append(text) }
      }
      return texts.joined(separator: "\n\n")
    }
    if type.hasPrefix("multipart/") {
      // A multipart whose delimiters were not found: its text is still text
      // (a preamble, or parts under a wrong boundary); an empty one is nothing.
      return entity.text.replacingOccurrences(of: "\r\n", with: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
    }
    let isMessage = type == "message/rfc822" || type == "message/global"
    if isMessage && entity.isAttachment {
      // An attached message is listed, and its text is still read: it is mail too.
      list(entity, into: &attachments, messageKey: messageKey)
    } else if entity.isAttachment || !(type.hasPrefix("text/") || isMessage || textualMessageTypes.contains(type)) {
      list(entity, into: &attachments, messageKey: messageKey)
      return ""
    }
    if isMessage {
      let inner = MIMEEntity(ArraySlice(entity.body))
      var header = "---------- Forwarded message ----------"
      for name in ["From", "Date", "Subject", "To"] {
        if let v = inner.header(name) { header += "\n\(name): \(v)" }
      }
      // An attached message is a child document with its own attachments (grandchildren of this
      // message): they are not listed again as this message's. A forwarded message inline is not
      // a child: its attachments are this message's.
      var innerAttachments: [Attachment] = []
      let text = bodyText(inner, attachments: &innerAttachments, messageKey: messageKey)
      if !entity.isAttachment { attachments += innerAttachments }
      return header + "\n\n" + text
    }
    let text = entity.text.replacingOccurrences(of: "\r\n", with: "\n")
    if type == "text/html" { return HTMLText.text(from: text) }
    return text.trimmingCharacters(in: .whitespacesAndNewlines)
  }

  /// Reports that are plain text under a `message/` type (bounces, receipts, abuse reports).
  private static let textualMessageTypes: Set<String> = [
    "message/delivery-status", "message/disposition-notification", "message/feedback-report",
    "message/global-delivery-status", "message/global-disposition-notification", "message/global-headers",
  ]

  private static func list(_ entity: MIMEEntity, into attachments: inout [Attachment], messageKey: String) {
    attachments.append(
      Attachment(
        message: messageKey, fileName: entity.fileName ?? "unnamed", contentType: entity.contentType.mediaType,
        bytes: entity.body.count, payload: entity.body, charset: entity.contentType.parameters["charset"]))
  }

  /// The section text: the headers a reader needs, then the body, then attachments.
  static func render(_ m: Message) -> String {
    var lines: [String] = []
    for (name, value) in [("From", m.from), ("To", m.to), ("Cc", m.cc), ("Date", m.date), ("Subject", m.subject)] {
      if let value, !value.isEmpty { lines.append("\(name): \(value)") }
    }
    if !m.attachments.isEmpty {
      lines.append(
        "Attachments: "
          + m.attachments.map { "\($0.fileName) (\($0.contentType), \($0.bytes) bytes)" }.joined(separator: "; "))
    }
    return lines.joined(separator: "\n") + "\n\n" + m.body
  }

  /// Message-IDs in a header value, without angle brackets (`MessageIDs`).
  static func ids(_ value: String) -> [String] { MessageIDs.parse(value) }

  // MARK: - Threads

  /// Groups messages into threads by Message-ID, In-Reply-To and References:
  /// each thread lists its messages' keys in file order.
  static func threads(_ messages: [Message]) -> [[String]] {
    var parent: [String: String] = [:]
    func find(_ x: String) -> String {
      var x = x
      while let p = parent[x], p != x { x = p }
      return x
    }
    func union(_ a: String, _ b: String) {
      let ra = find(a)
      let rb = find(b)
      if ra != rb { parent[rb] = ra }
    }
    var keys: [String] = []
    for m in messages {
      let key = m.id ?? "#\(m.ordinal)"
      keys.append(key)
      if parent[key] == nil { parent[key] = key }
      for ref in m.references + (m.inReplyTo.map { [$0] } ?? []) {
        if parent[ref] == nil { parent[ref] = ref }
        union(ref, key)
      }
    }
    var groups: [String: [String]] = [:]
    var order: [String] = []
    for (m, key) in zip(messages, keys) {
      let root = find(key)
      if groups[root] == nil { order.append(root) }
      groups[root, default: []].append(m.id ?? String(m.ordinal))
    }
    return order.compactMap { groups[$0] }
  }

  private static func json<T: Encodable>(_ value: T) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
  }

  // MARK: - mbox
}
