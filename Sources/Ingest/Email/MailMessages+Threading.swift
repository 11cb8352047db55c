import Foundation
import Storage

extension MailMessages {
  /// A message of a mail file with what threading needs besides its bytes.
  public struct ThreadedMessage: Sendable {
    /// Its key, bytes and email hash, as `read(path:)` gives them.
    public var message: Message
    /// Its headers, body and attachments for `EmailThreading` (`key` is the message's key).
    public var thread: EmailThreading.Message
    /// The raw `Date:` header, the `Bcc:` header where a sender's copy keeps it.
    public var date: String?
    public var bcc: String?
  }

  /// The messages of the mail file at `path` (an mbox, or one message) with their threading
  /// data: the same keys, bytes and hashes as `read(path:)`.
  ///
  /// - Throws: `IngestError.unreadable` when the file cannot be read.
  public static func readThreaded(path: String) throws -> [ThreadedMessage] {
    let data: Data
    do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
      throw IngestError.unreadable(path: path, reason: (error as NSError).localizedDescription)
    }
    let chunks = Mbox.messages(of: [UInt8](data), path: path)
    var used = Set<String>()
    var out: [ThreadedMessage] = []
    for (index, chunk) in chunks.enumerated() {
      let entity = MIMEEntity(ArraySlice(chunk.bytes))
      let m = EmailExtractor.message(entity, ordinal: index + 1, line: chunk.line)
      var key = m.id ?? String(m.ordinal)
      if !used.insert(key).inserted { key = String(m.ordinal) }
      let thread = EmailThreading.Message(
        key: key, messageID: m.id, inReplyTo: m.inReplyTo, references: m.references, subject: m.subject,
        from: m.from, to: m.to, cc: m.cc, date: m.date.flatMap(mailDate), body: m.body,
        attachments: m.attachments.map { Hashing.sha256(Data($0.payload)) })
      out.append(
        ThreadedMessage(
          message: Message(key: key, bytes: Data(chunk.bytes), emailHash: emailHash(m)), thread: thread, date: m.date,
          bcc: entity.header("bcc")))
    }
    return out
  }

  /// The email hash (see `emailHash(_:)`) of a message known by its fields, as an Outlook
  /// `.msg` or a message of a `.pst` gives them: equal to an mbox copy's hash when the
  /// fields and the body text are the same.
  public static func emailHash(
    from: String?, to: String?, cc: String?, subject: String?, date: String?, messageID: String?, body: String
  ) -> String {
    emailHash(
      EmailExtractor.Message(
        ordinal: 0, id: messageID.map { EmailThreading.normalizedID($0) }, inReplyTo: nil, references: [],
        from: from, to: to, cc: cc, date: date, subject: subject, body: body, attachments: [], line: 0))
  }

  /// A date as mail and Outlook write it: RFC 5322 (`Tue, 1 Jul 2025 09:30:00 +0200`,
  /// with or without weekday and seconds, a trailing `(UTC)` comment) or ISO 8601.
  public static func mailDate(_ text: String) -> Date? {
    var s = text.trimmingCharacters(in: .whitespacesAndNewlines)
    if let paren = s.range(of: " (") { s = String(s[..<paren.lowerBound]) }
    for f in dateFormats { if let d = f.date(from: s) { return d } }
    let iso = ISO8601DateFormatter()
    for options: ISO8601DateFormatter.Options in [
      [.withInternetDateTime], [.withInternetDateTime, .withFractionalSeconds], [.withFullDate],
    ] {
      iso.formatOptions = options
      if let d = iso.date(from: s) { return d }
    }
    return nil
  }

  /// RFC 5322 date forms, made once.
  private static let dateFormats: [DateFormatter] =
    [
      "EEE, d MMM yyyy HH:mm:ss Z", "d MMM yyyy HH:mm:ss Z", "EEE, d MMM yyyy HH:mm Z", "d MMM yyyy HH:mm Z",
      "EEE, d MMM yy HH:mm:ss Z", "yyyy-MM-dd HH:mm:ss Z", "yyyy-MM-dd HH:mm:ss",
    ].map { format in
      let f = DateFormatter()
      f.locale = Locale(identifier: "en_US_POSIX")
      f.timeZone = TimeZone(identifier: "UTC")
      f.dateFormat = format
      return f
    }
}
