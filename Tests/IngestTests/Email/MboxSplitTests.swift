import Foundation
import Testing
import _LongctxTestSupport

@testable import Ingest

/// Mailboxes split as real ones are written, and every message comes out.
@Suite struct MboxSplitTests {
  /// A mailbox built for a test: its text, the subjects of its messages in
  /// order, and what Python's `mailbox.mbox` counts when that differs (and why).
  struct Sample: Sendable, CustomTestStringConvertible {
    var name: String
    var text: String
    var subjects: [String]
    var python: (count: Int, why: String)?
    var testDescription: String { name }
  }

  static func message(_ subject: String, id: String, extra: String = "", body: String) -> String {
    "From: Sender <sender@example.com>\nTo: legal@example.com\nSubject: \(subject)\nMessage-ID: <\(id)>\n\(extra)\n\(body)"
  }

  static let mboxo = Sample(
    name: "mboxo.mbox",
    text: "From alice@example.com Mon Jan  1 00:00:00 1996\n"
      + message("o one", id: "o1@example.com", body: "First body.\n>From the start, quoted by the writer.\n")
      + "\nFrom bob@example.com Tue Jan  2 00:00:00 1996\n"
      + message("o two", id: "o2@example.com", body: "Second body.\n")
      + "\nFrom carol@example.com Wed Jan  3 00:00:00 1996\n"
      + message("o three", id: "o3@example.com", body: "Third body.\n"),
    subjects: ["o one", "o two", "o three"])

  static let mboxrd = Sample(
    name: "mboxrd.mbox",
    text: "From alice@example.com Mon Jan  1 00:00:00 1996\n"
      + message("rd one", id: "rd1@example.com", body: ">From here on.\n>>From a quoted quote.\n")
      + "\nFrom bob@example.com Tue Jan  2 00:00:00 1996\n"
      + message("rd two", id: "rd2@example.com", body: "Second body.\n"),
    subjects: ["rd one", "rd two"])

  static let oldMailbox =
    "Here is the old mailbox you asked for:\n\nFrom - Mon Jan  1 00:00:00 1996\n"
    + "From: Old Sender <old@example.com>\nSubject: inside the body\n\nIt stays in this body.\n"

  /// mboxcl2: Content-Length counts the body, whose `From ` lines are not quoted.
  static let mboxcl2: Sample = {
    let first =
      "From: Carol <carol@example.com>\nSubject: cl one\nMessage-ID: <cl1@example.com>\n"
      + "Content-Length: \(oldMailbox.utf8.count)\n\n\(oldMailbox)"
    let secondBody = "Second body.\n"
    let second =
      "From: Dave <dave@example.com>\nSubject: cl two\nMessage-ID: <cl2@example.com>\n"
      + "Content-Length: \(secondBody.utf8.count)\n\n\(secondBody)"
    return Sample(
      name: "mboxcl2.mbox",
      text: "From carol@example.com Wed Jan  3 10:00:00 1996\n\(first)\n"
        + "From dave@example.com Wed Jan  3 11:00:00 1996\n\(second)",
      subjects: ["cl one", "cl two"],
      python: (3, "Python's mbox ignores Content-Length and splits at the From line inside the first body"))
  }()

  /// Netscape's mailboxes: bare `From - ` lines right after the message before
  /// (no blank line), X-Mozilla-Status, one Content-Length that is wrong.
  static let netscape = Sample(
    name: "netscape.mbox",
    text: "From - Mon Jan  1 00:00:00 1996\nX-Mozilla-Status: 0001\n"
      + message(
        "ns one", id: "ns1@example.com", extra: "Content-Type: multipart/mixed; boundary=\"b1\"\n",
        body: "--b1\nContent-Type: text/plain\n\nOne.\n--b1\nContent-Type: message/rfc822\n\n"
          + "From: Inner <inner@example.com>\nSubject: inner\n\nInner text.\n--b1--\n")
      + "From - \nX-Mozilla-Status: 0001\n"
      + message("ns two", id: "ns2@example.com", extra: "Content-Length: 5\n", body: "Two, with a wrong length.\n")
      + "From - Tue Jan  2 00:00:00 1996\n"
      + message("ns three", id: "ns3@example.com", body: "Three.\nFrom - the body, not a separator\n")
      + "From -\n"
      + message("ns four", id: "ns4@example.com", body: "Four.\n"),
    subjects: ["ns one", "ns two", "ns three", "ns four"],
    python: (5, "Python's mbox splits at every From line, the body's \"From - the body\" too"))

  static let crlf = Sample(
    name: "crlf.mbox", text: mboxrd.text.replacingOccurrences(of: "\n", with: "\r\n"), subjects: mboxrd.subjects)

  static let preamble = Sample(
    name: "preamble.mbox",
    text: "Exported by a tool that wrote a note first.\n\n" + mboxo.text, subjects: ["", "o one", "o two", "o three"],
    python: (3, "Python's mbox drops text before the first From line"))

  static let samples = [mboxo, mboxrd, mboxcl2, netscape, crlf, preamble]

  func extract(_ sample: Sample) throws -> ExtractedDocument {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let url = try dir.write(sample.name, sample.text)
    return try EmailExtractor().extract(path: url.path, displayPath: sample.name)
  }

  @Test(arguments: samples)
  func everyMessageComesOut(_ sample: Sample) throws {
    let doc = try extract(sample)
    #expect(doc.metadata["messages"] == String(sample.subjects.count))
    let subjects = doc.sections.map { section in
      section.text.split(separator: "\n").first { $0.hasPrefix("Subject: ") }.map { String($0.dropFirst(9)) } ?? ""
    }
    #expect(subjects == sample.subjects)
  }

  @Test func mboxoAndMboxrdQuotingIsUndone() throws {
    let o = try #require(try extract(Self.mboxo).sections.first?.text)
    #expect(o.hasSuffix("\n\nFirst body.\nFrom the start, quoted by the writer."))
    let rd = try #require(try extract(Self.mboxrd).sections.first?.text)
    #expect(rd.hasSuffix("\n\nFrom here on.\n>From a quoted quote."))
    #expect(try extract(Self.crlf).sections.map(\.text) == extract(Self.mboxrd).sections.map(\.text))
  }

  @Test func contentLengthKeepsFromLinesInTheBody() throws {
    let doc = try extract(Self.mboxcl2)
    try #require(doc.sections.count == 2)
    #expect(
      doc.sections.map(\.locator.description) == [
        "mboxcl2.mbox#msg=cl1@example.com", "mboxcl2.mbox#msg=cl2@example.com",
      ])
    #expect(doc.sections[0].text.hasSuffix("\n\n" + Self.oldMailbox.trimmingCharacters(in: .newlines)))
  }

  @Test func bareFromLinesWithoutABlankLineSeparate() throws {
    let doc = try extract(Self.netscape)
    try #require(doc.sections.count == 4)
    #expect(
      doc.sections[0].text.contains("One.\n\n---------- Forwarded message ----------\nFrom: Inner <inner@example.com>"))
    #expect(doc.sections[1].text.hasSuffix("\n\nTwo, with a wrong length."))
    #expect(doc.sections[2].text.hasSuffix("\n\nThree.\nFrom - the body, not a separator"))
    #expect(doc.warnings.isEmpty)
  }

  @Test func textBeforeTheFirstFromLineIsKeptAndReported() throws {
    let doc = try extract(Self.preamble)
    try #require(doc.sections.count == 4)
    #expect(doc.sections[0].text.contains("Exported by a tool that wrote a note first."))
    #expect(doc.sections[0].locator.description == "preamble.mbox#msg=1")
    #expect(doc.warnings.contains { $0.contains("before the mailbox's first From line") })
  }

  // MARK: - The corpus's mailboxes

  @Test(.enabled(if: MailCorpus.isPresent, MailCorpus.skipReason))
  func mimeKitSimpleMboxHasThreeMessages() throws {
    let doc = try MailCorpus.extract("mimekit/mbox/simple.mbox.txt")
    try #require(doc.sections.count == 3)
    #expect(
      doc.sections.map(\.locator.description) == [
        "simple.mbox.txt#msg=1", "simple.mbox.txt#msg=2", "simple.mbox.txt#msg=3",
      ])
    for section in doc.sections {
      #expect(section.text.contains("Hello world."))
      #expect(section.text.contains("text/plain                         <-- You are here."))
    }
    #expect(doc.sections[2].text.contains("Subject: if a mime parser can correctly handle this, I'm impressed"))
  }

  /// Unquoted "From Russia with love" lines (one after a blank line) are body text, not messages.
  @Test(.enabled(if: MailCorpus.isPresent, MailCorpus.skipReason))
  func mimeKitUnmungedFromLinesStayInTheirMessages() throws {
    let doc = try MailCorpus.extract("mimekit/mbox/unmunged.mbox.txt")
    try #require(doc.sections.count == 2)
    #expect(doc.sections[0].text.contains("Subject: This is a test message with an unmunged From line"))
    #expect(doc.sections[0].text.contains("\n\nFrom Russia with love\n\nWhat does Thunderbird do?"))
    #expect(
      doc.sections[1].text.contains("\n\nFrom Russia with love\nYear: 1963\n\nWhat did Thunderbird do this time?"))
  }

  /// Ours against Python's `mailbox.mbox`, for every corpus mailbox and the
  /// samples above; where they differ, the difference is the documented one.
  @Test(.enabled(if: have("python3"), "python3 is not installed"))
  func messageCountsMatchPythonsMailbox() throws {
    let corpusDifferences: [String: (ours: Int, python: Int, why: String)] = [
      "mimekit/mbox/unmunged.mbox.txt": (
        2, 3,
        "Python does not see the first From line behind the byte-order mark, and splits at both \"From Russia with love\" lines"
      )
    ]
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    var checked: [(String, String, Int, Int?)] = []  // name, path, ours, python's expected
    for sample in Self.samples {
      let url = try dir.write(sample.name, sample.text)
      checked.append((sample.name, url.path, sample.subjects.count, sample.python?.count))
    }
    if MailCorpus.isPresent {
      let boxes = MailCorpus.mailboxes()
      #expect(boxes.contains("mimekit/mbox/simple.mbox.txt"))
      for relative in boxes {
        let path = MailCorpus.path(relative)
        let doc = try EmailExtractor().extract(path: path, displayPath: relative)
        let ours = Int(doc.metadata["messages"] ?? "") ?? -1
        if let known = corpusDifferences[relative] {
          #expect(ours == known.ours, "\(relative): \(known.why)")
        }
        checked.append((relative, path, ours, corpusDifferences[relative]?.python))
      }
    }
    for (name, path, ours, pythonDiffers) in checked {
      let python = try #require(pythonMboxCount(path), "python3 could not read \(name)")
      if name.hasSuffix(".mbox") {
        let doc = try EmailExtractor().extract(path: path, displayPath: name)
        #expect(doc.metadata["messages"] == String(ours), "\(name)")
      }
      #expect(python == (pythonDiffers ?? ours), "\(name): ours \(ours), Python's mailbox \(python)")
    }
  }

  // MARK: - Detection by content

  @Test(.enabled(if: MailCorpus.isPresent, MailCorpus.skipReason))
  func mboxTxtIsIngestedAsAMailbox() async throws {
    let f = try IngestFixture()
    defer { f.remove() }
    let dest = f.dir.url.appendingPathComponent("mail/simple.mbox.txt")
    try FileManager.default.createDirectory(at: dest.deletingLastPathComponent(), withIntermediateDirectories: true)
    try FileManager.default.copyItem(atPath: MailCorpus.path("mimekit/mbox/simple.mbox.txt"), toPath: dest.path)
    let summary = try await f.ingest(["mail"])
    let file = try #require(summary.files.first)
    let corpus = Corpus(workspace: f.workspace)
    #expect(try corpus.kind(ofDocument: file.documentHash) == .email)
    #expect(try corpus.sections(ofDocument: file.documentHash, displayPath: file.displayPath).count == 3)
  }

  @Test func mailboxesAreFoundByContentNotOnlyByName() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let inbox = try dir.write("Inbox", Self.netscape.text)
    let txt = try dir.write("export.mbox.txt", Self.mboxo.text)
    let crlf = try dir.write("crlf.txt", Self.crlf.text)
    let letter = try dir.write("letter.txt", "From the desk of the director\n\nPlease read: the memo below.\n")
    let noHeader = try dir.write("notes.txt", "From 9:00 to 10:00 we met.\nAgenda: none\n")
    func kind(_ url: URL) -> DocumentKind? {
      Discovery.classify(path: url.path, displayPath: url.lastPathComponent, forcedKind: nil).kind
    }
    #expect(kind(inbox) == .email)
    #expect(kind(txt) == .email)
    #expect(kind(crlf) == .email)
    #expect(kind(letter) == .text)
    #expect(kind(noHeader) == .text)
  }
}
