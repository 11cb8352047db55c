import Foundation

/// Splits mailboxes the way real ones are written: mboxo and mboxrd (`>From `
/// quoting), mboxcl and mboxcl2 (`Content-Length`), and Netscape's and
/// Thunderbird's bare `From - ` lines, which often follow the last line of the
/// message before without a blank line. LF, CRLF and mixed line ends alike.
///
/// A line starting with `From ` separates messages when a header follows it
/// (a `Name: value` block holding a field every message has: From, Date,
/// Received, …) and either a blank line or the start of the file comes before
/// it, or the line itself reads like an envelope (`From -`, an address, a
/// time). A consistent `Content-Length` takes precedence: its body is skipped
/// whole, `From ` lines in it included.
enum Mbox {
  /// One message cut from a mailbox.
  struct Message: Sendable {
    /// The message, its `From ` line removed (and `>From ` lines unquoted).
    var bytes: [UInt8]
    /// 1-based line of the `From ` line in the file (of the first line for text before any).
    var line: Int
    /// Whether the message was text before the mailbox's first `From ` line.
    var isPreamble = false
  }

  /// Whether `bytes` is a mailbox: its first line (after a byte-order mark and
  /// blank lines) is a `From ` line with a header after it.
  static func isMbox(_ bytes: [UInt8]) -> Bool {
    var pos = bomLength(bytes)
    while pos < bytes.count {
      let line = Line(bytes, at: pos)
      guard line.isBlank else { break }
      pos = line.next
    }
    guard pos < bytes.count else { return false }
    let first = Line(bytes, at: pos)
    return first.startsWithFrom(bytes) && headerFollows(bytes, at: first.next)
  }

  /// The messages of a mail file at `path`: its mailbox's messages, or the file
  /// itself (a byte-order mark dropped) as one message when it is no mailbox.
  static func messages(of bytes: [UInt8], path: String) -> [Message] {
    if isMbox(bytes) || path.lowercased().hasSuffix(".mbox") { return split(bytes) }
    var bytes = bytes
    if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
    return [Message(bytes: bytes, line: 1)]
  }

  /// The messages of mailbox `bytes`, in file order. Every byte that is not a
  /// separator or the blank line before one is in a message: text before the
  /// first `From ` line comes back as a message of its own (`isPreamble`).
  static func split(_ bytes: [UInt8]) -> [Message] {
    var out: [Message] = []
    var pos = bomLength(bytes)
    var lineNumber = 1
    var current: [UInt8] = []
    var currentLine = 1
    var inMessage = false
    var previousBlank = true
    // Where a consistent Content-Length said the next message starts.
    var forced: Int?

    func finish() {
      // The blank line before a separator belongs to the mbox format, not the message.
      if current.last == 0x0A {
        let n = current.count
        if n >= 2 && current[n - 2] == 0x0A {
          current.removeLast()
        } else if n >= 3 && current[n - 2] == 0x0D && current[n - 3] == 0x0A {
          current.removeLast(2)
        }
      }
      if inMessage {
        out.append(Message(bytes: current, line: currentLine))
      } else if current.contains(where: { !($0 == 0x0A || $0 == 0x0D || $0 == 0x20 || $0 == 0x09) }) {
        out.append(Message(bytes: current, line: currentLine, isPreamble: true))
      }
      current = []
    }

    while pos < bytes.count {
      let line = Line(bytes, at: pos)
      let separator =
        line.startsWithFrom(bytes)
        && (forced == pos || (previousBlank && headerFollows(bytes, at: line.next))
          || (looksLikeEnvelope(bytes[(line.start + 5)..<line.end]) && headerFollows(bytes, at: line.next)))
      forced = nil
      if !separator {
        if current.isEmpty && !inMessage { currentLine = lineNumber }
        current += unquoted(bytes[line.start..<line.next])
        previousBlank = line.isBlank
        pos = line.next
        lineNumber += 1
        continue
      }
      finish()
      inMessage = true
      currentLine = lineNumber
      pos = line.next
      lineNumber += 1
      previousBlank = false
      if let (end, landing) = contentLengthEnd(bytes, headerStart: pos) {
        let message = bytes[pos..<end]
        // mboxcl2 leaves `From ` lines in a counted body as they are; mboxcl quotes them.
        let quoted = !containsFromLine(message)
        current = quoted ? unquotedLines(message) : Array(message)
        lineNumber += bytes[pos..<landing].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
        pos = landing
        forced = landing
      }
    }
    finish()
    return out
  }

  // MARK: - Lines

  /// One line of the file: `start..<end` its text without the line end, `next` the line after.
  struct Line {
    var start, end, next: Int

    init(_ bytes: [UInt8], at start: Int) {
      self.start = start
      var i = start
      while i < bytes.count && bytes[i] != 0x0A { i += 1 }
      next = i < bytes.count ? i + 1 : i
      end = i > start && bytes[i - 1] == 0x0D ? i - 1 : i
    }

    var isBlank: Bool { end == start }

    func startsWithFrom(_ bytes: [UInt8]) -> Bool {
      end - start >= 5 && bytes[start..<(start + 5)].elementsEqual("From ".utf8)
    }
  }

  private static func bomLength(_ bytes: [UInt8]) -> Int {
    bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
  }

  /// Fields nearly every message has: one of them marks a header block as a message's.
  private static let messageFields: Set<String> = [
    "from", "to", "cc", "bcc", "subject", "date", "message-id", "received", "return-path", "sender", "reply-to",
    "mime-version", "content-type", "delivered-to", "in-reply-to", "references", "x-mozilla-status",
    "x-mozilla-status2", "envelope-to", "x-gm-thrid", "x-gmail-labels", "status", "x-uid", "newsgroups",
  ]

  /// Whether a message header starts at `pos`: `Name: value` lines (folded
  /// ones allowed) up to a blank line, one of them a common message field.
  static func headerFollows(_ bytes: [UInt8], at pos: Int) -> Bool {
    var p = pos
    var fields = 0
    while p < bytes.count && fields < 500 {
      let line = Line(bytes, at: p)
      if line.isBlank { break }
      let first = bytes[line.start]
      if first == 0x20 || first == 0x09 {
        if fields == 0 { return false }
      } else {
        let text = bytes[line.start..<line.end]
        guard MIMEEntity.isFieldLine(text), let colon = text.firstIndex(of: UInt8(ascii: ":")) else { break }
        let name = String(decoding: text[..<colon], as: UTF8.self).trimmingCharacters(in: .whitespaces).lowercased()
        if messageFields.contains(name) { return true }
        fields += 1
      }
      p = line.next
    }
    return false
  }

  /// Whether the text after `From ` reads like an mbox envelope: `-` (as
  /// Netscape and Thunderbird write), nothing, an address, or a time of day.
  static func looksLikeEnvelope(_ rest: ArraySlice<UInt8>) -> Bool {
    let text = String(decoding: rest, as: UTF8.self).trimmingCharacters(in: .whitespaces)
    if text.isEmpty || text.hasPrefix("-") { return true }
    if let first = text.split(separator: " ").first, first.contains("@") { return true }
    return text.range(of: #"\b\d{1,2}:\d{2}(:\d{2})?\b"#, options: .regularExpression) != nil
  }

  // MARK: - Content-Length

  /// Where the message whose header starts at `headerStart` ends, by its
  /// Content-Length, and where the next `From ` line (or the end of the file)
  /// is; `nil` when there is no Content-Length or it does not land there.
  private static func contentLengthEnd(_ bytes: [UInt8], headerStart: Int) -> (end: Int, landing: Int)? {
    var p = headerStart
    var length: Int?
    var bodyStart: Int?
    while p < bytes.count {
      let line = Line(bytes, at: p)
      if line.isBlank {
        bodyStart = line.next
        break
      }
      let text = String(decoding: bytes[line.start..<line.end], as: UTF8.self)
      if text.lowercased().hasPrefix("content-length:") {
        length = Int(text.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces))
      }
      p = line.next
    }
    guard let length, length >= 0, let bodyStart, bodyStart + length <= bytes.count else { return nil }
    let end = bodyStart + length
    // At most two line ends (the body's last, the blank line) before the next `From `.
    var landing = end
    for _ in 0..<3 {
      if landing == bytes.count { return (end, landing) }
      let atLineStart = landing == 0 || bytes[landing - 1] == 0x0A
      if atLineStart && Line(bytes, at: landing).startsWithFrom(bytes) { return (end, landing) }
      if bytes[landing] == 0x0A {
        landing += 1
      } else if bytes[landing] == 0x0D && landing + 1 < bytes.count && bytes[landing + 1] == 0x0A {
        landing += 2
      } else {
        return nil
      }
    }
    return nil
  }

  // MARK: - Quoting

  private static func containsFromLine(_ bytes: ArraySlice<UInt8>) -> Bool {
    let all = Array(bytes)
    var i = 0
    while i < all.count {
      let line = Line(all, at: i)
      if line.startsWithFrom(all) { return true }
      i = line.next
    }
    return false
  }

  private static func unquotedLines(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
    let all = Array(bytes)
    var out: [UInt8] = []
    out.reserveCapacity(all.count)
    var i = 0
    while i < all.count {
      let line = Line(all, at: i)
      out += unquoted(all[line.start..<line.next])
      i = line.next
    }
    return out
  }

  /// mboxrd: one `>` comes off `>From `, `>>From `, …
  private static func unquoted(_ line: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
    guard line.first == UInt8(ascii: ">") else { return line }
    let rest = line.drop { $0 == UInt8(ascii: ">") }
    return rest.starts(with: "From ".utf8) ? line.dropFirst() : line
  }
}
