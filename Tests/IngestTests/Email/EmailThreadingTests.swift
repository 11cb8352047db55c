import Foundation
import Testing
import _LongctxTestSupport

@testable import Ingest

/// Email threading with inclusive flags: crafted mailboxes (a chain of replies each quoting
/// the one before, a branch, an attachment dropped by a reply), messages without threading
/// headers (as Outlook `.msg` files come), and the shared corpus's mailboxes.
@Suite struct EmailThreadingTests {
  /// A message of a crafted mailbox.
  static func message(
    id: String, date: String, from: String = "ann@example.com", to: String = "bob@example.com",
    subject: String, inReplyTo: String? = nil, references: [String] = [], body: String,
    attachment: (name: String, text: String)? = nil
  ) -> String {
    var head = "From \(from) \(date)\nFrom: \(from)\nTo: \(to)\nSubject: \(subject)\nDate: \(date)\n"
    head += "Message-ID: <\(id)>\n"
    if let inReplyTo { head += "In-Reply-To: <\(inReplyTo)>\n" }
    if !references.isEmpty { head += "References: " + references.map { "<\($0)>" }.joined(separator: " ") + "\n" }
    guard let attachment else { return head + "\n" + body + "\n\n" }
    let encoded = Data(attachment.text.utf8).base64EncodedString()
    return head + """
      MIME-Version: 1.0
      Content-Type: multipart/mixed; boundary="b1"

      --b1
      Content-Type: text/plain

      \(body)
      --b1
      Content-Type: text/plain; name="\(attachment.name)"
      Content-Disposition: attachment; filename="\(attachment.name)"
      Content-Transfer-Encoding: base64

      \(encoded)
      --b1--


      """
  }

  /// `text` quoted as a reply quotes it.
  static func quote(_ text: String) -> String {
    text.split(separator: "\n", omittingEmptySubsequences: false).map { "> " + $0 }.joined(separator: "\n")
  }

  /// A thread: A (with budget.txt) ← B quotes A but drops the attachment ← C quotes B; and
  /// D answers A quoting it, with budget.txt carried; E is another thread.
  static func craftedMailbox() -> String {
    let a = "Here is the Q3 budget draft.\nPlease review the numbers by Friday."
    let b = "Numbers look fine to me.\n\nOn Mon, Ann wrote:\n" + quote(a)
    let c = "Agreed, ship it.\n\nOn Tue, Bob wrote:\n" + quote(b)
    let d = "One question on line 4 of the draft.\n\nOn Mon, Ann wrote:\n" + quote(a)
    return message(
      id: "a@x", date: "Mon, 6 Jan 2025 09:00:00 +0000", subject: "Q3 budget", body: a,
      attachment: ("budget.txt", "line 1\nline 4: travel 1200\n"))
      + message(
        id: "b@x", date: "Mon, 6 Jan 2025 10:00:00 +0000", from: "bob@example.com", to: "ann@example.com",
        subject: "Re: Q3 budget", inReplyTo: "a@x", references: ["a@x"], body: b)
      + message(
        id: "c@x", date: "Tue, 7 Jan 2025 08:00:00 +0000", subject: "RE: Q3 budget", inReplyTo: "b@x",
        references: ["a@x", "b@x"], body: c)
      + message(
        id: "d@x", date: "Mon, 6 Jan 2025 11:00:00 +0000", from: "cy@example.com", to: "ann@example.com",
        subject: "Re: Q3 budget", inReplyTo: "a@x", references: ["a@x"], body: d,
        attachment: ("budget.txt", "line 1\nline 4: travel 1200\n"))
      + message(
        id: "e@x", date: "Wed, 8 Jan 2025 08:00:00 +0000", subject: "Lunch", body: "Lunch on Thursday?")
  }

  @Test func repliesBranchesAndADroppedAttachment() throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try tmp.write("inbox.mbox", Self.craftedMailbox())
    let read = try MailMessages.readThreaded(path: tmp.url.appendingPathComponent("inbox.mbox").path)
    #expect(read.map(\.message.key) == ["a@x", "b@x", "c@x", "d@x", "e@x"])
    #expect(read[0].thread.attachments.count == 1 && read[3].thread.attachments == read[0].thread.attachments)
    let placed = EmailThreading.thread(read.map(\.thread))
    let a = try #require(placed["a@x"])
    let b = try #require(placed["b@x"])
    let c = try #require(placed["c@x"])
    let d = try #require(placed["d@x"])
    let e = try #require(placed["e@x"])
    #expect(Set([a, b, c, d].map(\.threadID)).count == 1 && e.threadID != a.threadID)
    #expect(a.threadID.hasPrefix("T") && a.threadID.count == 17)
    // Siblings in date order: B (10:00) before D (11:00).
    #expect([a.position, b.position, c.position, d.position, e.position] == ["1", "1.1", "1.1.1", "1.2", "1"])
    #expect(b.parent == "a@x" && c.parent == "b@x" && d.parent == "a@x" && a.parent == nil)
    // A is carried whole by D (its text quoted, budget.txt attached); B by C; C, D and E end their branches.
    #expect(!a.inclusive && !b.inclusive, "\(a) \(b)")
    #expect(c.inclusive && d.inclusive && e.inclusive)
    #expect(c.reason == "last in its branch")

    // Without D, A's attachment is carried by no reply: A must be read for it.
    let withoutD = EmailThreading.thread(read.filter { $0.message.key != "d@x" }.map(\.thread))
    #expect(withoutD["a@x"]?.inclusive == true && withoutD["a@x"]?.reason == "attachment not carried forward")
    #expect(withoutD["b@x"]?.inclusive == false)
    // A reply that does not quote leaves its parent inclusive.
    var unquoted = read.map(\.thread)
    unquoted[2].body = "Agreed, ship it."
    #expect(EmailThreading.thread(unquoted)["b@x"]?.reason == "text not carried forward")
  }

  /// Outlook messages often carry no Message-ID, In-Reply-To or References: a reply joins
  /// the latest earlier message with its subject and a participant in common.
  @Test func messagesWithoutHeadersThreadBySubjectAndParticipants() {
    func m(_ key: String, _ subject: String, _ from: String, _ to: String, _ minute: Int, _ body: String)
      -> EmailThreading.Message
    {
      EmailThreading.Message(
        key: key, messageID: nil, inReplyTo: nil, references: [], subject: subject, from: from, to: to, cc: nil,
        date: Date(timeIntervalSince1970: Double(minute) * 60), body: body, attachments: [])
    }
    let placed = EmailThreading.thread([
      m("1", "Site visit", "Ann Lee <ann@x.com>", "bob@x.com", 0, "Can you come Tuesday?"),
      m("2", "RE: Site visit", "bob@x.com", "\"Lee, Ann\" <ANN@x.com>", 5, "Yes.\n> Can you come Tuesday?"),
      m("3", "FW: Site visit", "bob@x.com", "cy@x.com", 9, "FYI\n> Yes.\n> > Can you come Tuesday?"),
      m("4", "Re: Site visit", "zed@other.org", "yan@other.org", 7, "Unrelated people, same subject."),
      m("5", "Site visit", "ann@x.com", "bob@x.com", 20, "A new message, no prefix: a new thread."),
    ])
    #expect(placed["2"]?.parent == "1" && placed["3"]?.parent == "2")
    #expect(placed["1"]?.threadID == placed["3"]?.threadID)
    #expect(placed["4"]?.parent == nil && placed["4"]?.threadID != placed["1"]?.threadID)
    #expect(placed["5"]?.parent == nil && placed["5"]?.threadID != placed["1"]?.threadID)
    #expect(placed["1"]?.inclusive == false && placed["2"]?.inclusive == false && placed["3"]?.inclusive == true)
    #expect(EmailThreading.normalizedSubject("Re: AW: Fwd:  Site   visit") == "site visit")
    #expect(EmailThreading.normalizedSubject("RE[2]: Site visit") == "site visit")
  }

  /// A reply whose parent is missing from the collection still shares its siblings' thread.
  @Test func aMissingParentStillJoinsItsReplies() {
    func m(_ key: String, _ minute: Int) -> EmailThreading.Message {
      EmailThreading.Message(
        key: key, messageID: "\(key)@x", inReplyTo: "gone@x", references: ["gone@x"], subject: "Re: plan",
        from: "a@x", to: "b@x", cc: nil, date: Date(timeIntervalSince1970: Double(minute)), body: key,
        attachments: [])
    }
    let placed = EmailThreading.thread([m("p", 2), m("q", 1)])
    #expect(placed["p"]?.threadID == placed["q"]?.threadID)
    #expect(placed["q"]?.position == "1" && placed["p"]?.position == "2")
    #expect(placed["p"]?.inclusive == true && placed["q"]?.inclusive == true)
  }

  /// The shared corpus's mailboxes: messages with distinct subjects and no threading headers
  /// are each a thread of their own, each inclusive.
  @Test(.enabled(if: MailCorpus.isPresent, MailCorpus.skipReason))
  func corpusMailboxesAreThreadsOfOne() throws {
    let read = try MailMessages.readThreaded(path: MailCorpus.path("mimekit/mbox/simple.mbox.txt"))
    #expect(read.count == 3)
    #expect(
      read.map { $0.thread.subject ?? "" } == [
        "this'll probably break a lot of mime parsers", "this'll probably break even more mime parsers",
        "if a mime parser can correctly handle this, I'm impressed",
      ])
    let placed = EmailThreading.thread(read.map(\.thread))
    #expect(Set(placed.values.map(\.threadID)).count == 3)
    #expect(placed.values.allSatisfy { $0.position == "1" && $0.inclusive && $0.parent == nil })
  }
}
