import Foundation

/// Reads an Outlook `.msg` file natively (`OutlookMessage`): one section cited
/// `path#msg=<Message-ID>` (or `#msg=1`), rendered like a mailbox's messages,
/// and its attachments as children. An attached Outlook message becomes a
/// child `.eml` (`RFC822Writer`) that the mail extractor reads, its own
/// attachments included.
struct OutlookExtractor: Extractor {
  /// Larger `.msg` files are refused rather than read whole into memory.
  static let maxFileBytes = 1 << 31

  func extract(_ input: ExtractionInput) throws -> Extraction {
    let url = URL(fileURLWithPath: input.path)
    let size = (try? FileManager.default.attributesOfItem(atPath: input.path)[.size] as? Int) ?? 0
    guard size <= Self.maxFileBytes else {
      throw IngestError.outlookMessageUnreadable(path: input.displayPath, reason: "it is larger than 2 GiB")
    }
    let data: Data
    do { data = try Data(contentsOf: url) } catch {
      throw IngestError.unreadable(path: input.path, reason: (error as NSError).localizedDescription)
    }
    let message: OutlookMessage
    do { message = try OutlookMessage.read([UInt8](data)) } catch {
      throw IngestError.outlookMessageUnreadable(path: input.displayPath, reason: CompoundFileError.reason(error))
    }
    return Self.extraction(message, displayPath: input.displayPath, redact: input.options.redact)
  }

  /// The document and children of `message`, cited under `displayPath`.
  static func extraction(_ message: OutlookMessage, displayPath: String, redact: Bool) -> Extraction {
    let key = message.messageID ?? "1"
    let locator = Locator(path: displayPath, message: key)
    var listed: [EmailExtractor.Attachment] = []
    var children: [ChildFile] = []
    var warnings = message.warnings
    var names = Set<String>()
    for a in message.attachments {
      var fileName = a.fileName
      var type = a.contentType ?? "application/octet-stream"
      var payload = Data(a.payload)
      var kind: DocumentKind?
      if let inner = a.embedded {
        fileName = cleanName(inner.subject ?? a.fileName) + ".eml"
        type = "message/rfc822"
        payload = Data(RFC822Writer.message(inner))
        kind = .email
        warnings += inner.warnings.map { "attached message \(fileName): \($0)" }
      }
      listed.append(
        EmailExtractor.Attachment(message: key, fileName: fileName, contentType: type, bytes: payload.count))
      if let note = a.note {
        warnings.append("attachment \(fileName) is \(note)")
        continue
      }
      guard !payload.isEmpty else { continue }
      // "#" and "/" would break the citation; a repeated name gets a counter.
      let name = ChildFile.citableName(fileName, taken: &names)
      children.append(
        ChildFile(
          suffix: "#msg=\(key)/attachment=\(name)", fileName: fileName, contentType: type, payload: payload,
          kind: kind))
    }
    var redactor = Redactor(enabled: redact)
    let text = redactor.redact(render(message, attachments: listed), locator: locator)
    warnings += redactor.warnings
    var meta: [String: String] = ["messages": "1", "body-format": message.bodyFormat]
    let fields: [(String, String?)] = [
      ("from", message.from), ("to", message.to), ("cc", message.cc), ("bcc", message.bcc),
      ("subject", message.subject), ("date", message.sent.flatMap(FileTime.iso8601) ?? message.dateHeader),
      ("received", message.received.flatMap(FileTime.iso8601)), ("message-id", message.messageID),
      ("in-reply-to", message.inReplyTo), ("message-class", message.messageClass),
      ("references", message.references.isEmpty ? nil : message.references.joined(separator: " ")),
    ]
    for (k, v) in fields {
      if let v, !v.isEmpty { meta[k] = v }
    }
    if !listed.isEmpty { meta["attachments"] = json(listed) }
    let document = ExtractedDocument(
      kind: .outlook, title: message.subject, metadata: meta, sections: [Section(locator: locator, text: text)],
      warnings: warnings, extractor: DocumentKind.outlook.extractorVersion)
    return Extraction(document: document, children: children)
  }

  /// The section text, as `EmailExtractor.render` writes a mailbox's message (with Bcc too).
  static func render(_ m: OutlookMessage, attachments: [EmailExtractor.Attachment]) -> String {
    var lines: [String] = []
    let date = m.sent.flatMap(FileTime.rfc5322) ?? m.dateHeader
    for (name, value) in [
      ("From", m.from), ("To", m.to), ("Cc", m.cc), ("Bcc", m.bcc), ("Date", date), ("Subject", m.subject),
    ] {
      if let value, !value.isEmpty { lines.append("\(name): \(value)") }
    }
    if !attachments.isEmpty {
      lines.append(
        "Attachments: "
          + attachments.map { "\($0.fileName) (\($0.contentType), \($0.bytes) bytes)" }.joined(separator: "; "))
    }
    return lines.joined(separator: "\n") + "\n\n" + m.body
  }

  /// A subject made fit for a file name.
  static func cleanName(_ s: String) -> String {
    let cleaned = s.map { "/\\:*?\"<>|\r\n\t#".contains($0) ? "_" : $0 }
    let name = String(String(cleaned).trimmingCharacters(in: .whitespaces).prefix(100))
    return name.isEmpty ? "message" : name
  }

  private static func json<T: Encodable>(_ value: T) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
  }
}
