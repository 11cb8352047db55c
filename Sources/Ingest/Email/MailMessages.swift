import Foundation
import Storage

/// The messages of a mail file as a production needs them: each message's raw bytes (its
/// native), its key (the one ingest's locators use, `#msg=<key>`) and the e-discovery email
/// hash that deduplicates the same message wherever it was found.
public enum MailMessages {
  /// One message of a mail file.
  public struct Message: Sendable {
    /// `Message-ID` (without brackets), or the message's 1-based ordinal when it has none or
    /// repeats an earlier one: the key of its locator, `path#msg=<key>`.
    public var key: String
    /// The message as it is in the file (an mbox's `From ` line removed).
    public var bytes: Data
    /// The email hash (`emailHash`), lower-case hex SHA-1.
    public var emailHash: String
  }

  /// The messages of the mail file at `path`, as ingest splits it (an mbox, or one message).
  ///
  /// - Throws: `IngestError.unreadable` when the file cannot be read.
  public static func read(path: String) throws -> [Message] {
    let data: Data
    do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
      throw IngestError.unreadable(path: path, reason: (error as NSError).localizedDescription)
    }
    let chunks = Mbox.messages(of: [UInt8](data), path: path)
    // The keys exactly as EmailExtractor gives them.
    var used = Set<String>()
    var out: [Message] = []
    for (index, chunk) in chunks.enumerated() {
      let entity = MIMEEntity(ArraySlice(chunk.bytes))
      let m = EmailExtractor.message(entity, ordinal: index + 1, line: chunk.line)
      var key = m.id ?? String(m.ordinal)
      if !used.insert(key).inserted { key = String(m.ordinal) }
      out.append(Message(key: key, bytes: Data(chunk.bytes), emailHash: emailHash(m)))
    }
    return out
  }

  /// The email hash the review suites deduplicate mail by: SHA-1 over the normalised
  /// From, To, Cc, Subject, Date and Message-ID headers and the body text, so the same
  /// message found in two mailboxes (or as an `.eml` and in an mbox) is one document
  /// although its transport headers and mbox framing differ.
  ///
  /// Normalising: runs of white space become one space and ends are trimmed (in every
  /// field); addresses, the Message-ID and the Date are lower-cased; the body's line ends
  /// are LF and trailing white space of each line is dropped. Fields are joined with
  /// their names and a NUL between them, so that no two fields can run into each other.
  static func emailHash(_ m: EmailExtractor.Message) -> String {
    func collapse(_ s: String?) -> String {
      (s ?? "").split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }
    let fields: [(String, String)] = [
      ("from", collapse(m.from).lowercased()), ("to", collapse(m.to).lowercased()),
      ("cc", collapse(m.cc).lowercased()), ("subject", collapse(m.subject)),
      ("date", collapse(m.date).lowercased()), ("message-id", collapse(m.id).lowercased()),
    ]
    let body = m.body.replacingOccurrences(of: "\r\n", with: "\n").split(
      separator: "\n", omittingEmptySubsequences: false
    )
    .map { $0.replacing(/\s+$/, with: "") }.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
    var text = ""
    for (name, value) in fields { text += name + ":" + value + "\u{0}" }
    text += "body:" + body
    return Hashing.sha1(Data(text.utf8))
  }
}
