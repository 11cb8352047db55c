import Foundation
import GRDB
import Testing
import _LongctxTestSupport

@testable import Ingest

/// PDF and text attachments become child documents of their mailbox.
@Suite struct EmailAttachmentTests {
  /// A message carrying `attachments` (file name, content type, bytes), base64-encoded.
  static func message(id: String, subject: String, attachments: [(String, String, Data)]) -> String {
    var s = """
      From: Maria Keller <maria@harbor.example>
      To: legal@harbor.example
      Subject: \(subject)
      Message-ID: <\(id)>
      MIME-Version: 1.0
      Content-Type: multipart/mixed; boundary="b1"

      --b1
      Content-Type: text/plain; charset=utf-8

      Please find the memo attached.

      """
    for (name, type, data) in attachments {
      let encoded = data.base64EncodedString(options: [.lineLength76Characters, .endLineWithLineFeed])
      s += "--b1\nContent-Type: \(type); name=\"\(name)\"\nContent-Disposition: attachment; filename=\"\(name)\"\n"
      s += "Content-Transfer-Encoding: base64\n\n\(encoded)\n"
    }
    return s + "--b1--\n"
  }

  @Test func pdfAndTextAttachmentsAreChildDocumentsStoredOnce() async throws {
    let f = try IngestFixture()
    defer { f.remove() }
    let memo = try Data(contentsOf: RepositoryPaths.samples.appendingPathComponent("pdfs/memo.pdf"))
    let notes = Data("Action items\nSign the amendment by Friday.\n".utf8)
    let mbox =
      "From maria@harbor.example Mon Mar  9 08:00:00 2026\n"
      + Self.message(
        id: "a1@harbor.example", subject: "Memo",
        attachments: [
          ("memo.pdf", "application/pdf", memo), ("notes.txt", "text/plain", notes),
          ("logo.png", "image/png", Data([0x89, 0x50, 0x4E, 0x47])),
        ])
      + "\nFrom maria@harbor.example Mon Mar  9 09:00:00 2026\n"
      + Self.message(
        id: "a2@harbor.example", subject: "Memo again", attachments: [("memo.pdf", "application/pdf", memo)])
    try f.dir.write("mail/box.mbox", mbox)

    let summary = try await f.ingest(["mail"])
    #expect(summary.failed == 0)
    let paths = summary.files.map(\.displayPath)
    #expect(
      paths == [
        "mail/box.mbox",
        "mail/box.mbox#msg=a1@harbor.example/attachment=memo.pdf",
        "mail/box.mbox#msg=a1@harbor.example/attachment=notes.txt",
        "mail/box.mbox#msg=a2@harbor.example/attachment=memo.pdf",
      ])
    let hashes = summary.files.map(\.documentHash)
    #expect(hashes[1] == hashes[3])  // the same PDF in two messages: one document
    #expect(try f.documentCount() == 3)  // mailbox, PDF, text; the PNG (4 bytes of a header) is a warning

    let corpus = Corpus(workspace: f.workspace)
    #expect(try corpus.kind(ofDocument: hashes[1]) == .pdf)
    let pages = try corpus.sections(ofDocument: hashes[1], displayPath: paths[1])
    #expect(
      pages.map(\.locator.description) == [
        "mail/box.mbox#msg=a1@harbor.example/attachment=memo.pdf#page=1",
        "mail/box.mbox#msg=a1@harbor.example/attachment=memo.pdf#page=2",
      ])
    #expect(pages.allSatisfy { !$0.text.isEmpty })
    // The citation parses back to the same locator.
    #expect(Locator(citation: Substring(pages[1].locator.description)) == pages[1].locator)
    let text = try corpus.sections(ofDocument: hashes[2], displayPath: paths[2])
    #expect(text.map(\.locator.description) == ["mail/box.mbox#msg=a1@harbor.example/attachment=notes.txt#L1-L2"])
    #expect(text.first?.text == "Action items\nSign the amendment by Friday.")

    // Unchanged on re-ingest: nothing extracted, the children still listed.
    let again = try await f.ingest(["mail"])
    #expect(again.extracted == 0)
    #expect(again.files.map(\.displayPath) == paths)

    // An attachment made by an older extractor version: its mailbox is extracted again, which redoes it.
    try await f.workspace.db.write { db in
      try db.execute(sql: "UPDATE document SET extractor = 'lines-1' WHERE hash = ?", arguments: [hashes[2]])
    }
    let upgraded = try await f.ingest(["mail"])
    #expect(upgraded.reextracted == 1 && upgraded.unchanged == 1)
    #expect(upgraded.files.map(\.displayPath) == paths)
    let extractor = try await f.workspace.db.read { db in
      try String.fetchOne(db, sql: "SELECT extractor FROM document WHERE hash = ?", arguments: [hashes[2]])
    }
    #expect(extractor == DocumentKind.text.extractorVersion)
  }

  @Test func aBrokenAttachmentIsAWarningAndTheMessageIsKept() async throws {
    let f = try IngestFixture()
    defer { f.remove() }
    try f.dir.write(
      "mail/one.eml",
      Self.message(
        id: "b1@harbor.example", subject: "Broken",
        attachments: [("broken.pdf", "application/pdf", Data("%PDF-1.4 not really\n".utf8))]))
    let summary = try await f.ingest(["mail"])
    #expect(summary.failed == 0)
    #expect(summary.files.map(\.displayPath) == ["mail/one.eml"])
    #expect(
      summary.exceptions.contains {
        $0.path == "mail/one.eml" && $0.reason.hasPrefix("attachment broken.pdf not ingested")
      })
  }
}
