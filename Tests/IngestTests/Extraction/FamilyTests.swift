import Foundation
import GRDB
import Testing
import _LongctxTestSupport

@testable import Ingest

/// Children of any kind, read through the registry: a message attached to a
/// message, its own attachment, and how deep ingest goes.
@Suite struct FamilyTests {
  /// A message whose one attachment is `name` (`type`) holding `payload`.
  static func message(id: String, subject: String, attachment: (String, String, Data)?) -> String {
    EmailAttachmentTests.message(id: id, subject: subject, attachments: attachment.map { [$0] } ?? [])
  }

  @Test func anAttachedMessageAndItsAttachmentAreGrandchildren() async throws {
    let f = try IngestFixture()
    defer { f.remove() }
    let notes = Data("Board minutes\nThe merger vote passed 7 to 2.\n".utf8)
    let inner = Self.message(
      id: "inner@harbor.example", subject: "Minutes", attachment: ("notes.txt", "text/plain", notes))
    let outer = Self.message(
      id: "outer@harbor.example", subject: "Fwd: Minutes",
      attachment: ("fwd.eml", "application/octet-stream", Data(inner.utf8)))
    try f.dir.write("mail/outer.eml", outer)

    let summary = try await f.ingest(["mail"])
    #expect(summary.failed == 0)
    #expect(summary.exceptions.isEmpty)
    let paths = summary.files.map(\.displayPath)
    #expect(
      paths == [
        "mail/outer.eml",
        "mail/outer.eml#msg=outer@harbor.example/attachment=fwd.eml",
        "mail/outer.eml#msg=outer@harbor.example/attachment=fwd.eml#msg=inner@harbor.example/attachment=notes.txt",
      ])
    let corpus = Corpus(workspace: f.workspace)
    let hashes = summary.files.map(\.documentHash)
    #expect(try corpus.kind(ofDocument: hashes[1]) == .email)
    let message = try corpus.sections(ofDocument: hashes[1], displayPath: paths[1])
    #expect(message.map(\.locator.description) == [paths[1] + "#msg=inner@harbor.example"])
    #expect(message.first?.text.contains("Subject: Minutes") == true)
    let text = try corpus.sections(ofDocument: hashes[2], displayPath: paths[2])
    #expect(text.map(\.locator.description) == [paths[2] + "#L1-L2"])
    #expect(text.first?.text == "Board minutes\nThe merger vote passed 7 to 2.")
    // The deepest citation parses back to the same locator.
    #expect(Locator(citation: Substring(paths[2] + "#L1-L2")) == text.first?.locator)

    // Unchanged on re-ingest: nothing extracted, the whole family still listed.
    let again = try await f.ingest(["mail"])
    #expect(again.extracted == 0)
    #expect(again.files.map(\.displayPath) == paths)
  }

  @Test func anAttachedMessagePartIsAChildWithItsOwnAttachments() async throws {
    let f = try IngestFixture()
    defer { f.remove() }
    let notes = Data("Board minutes\n".utf8)
    let inner = Self.message(id: "in@x.example", subject: "Minutes", attachment: ("notes.txt", "text/plain", notes))
    let outer = Self.message(
      id: "out@x.example", subject: "Fwd", attachment: ("fwd.eml", "message/rfc822", Data(inner.utf8)))
    try f.dir.write("fwd.eml", outer)
    let summary = try await f.ingest(["fwd.eml"])
    // The attached message is a child, its attachment a grandchild, listed once (not also as the outer's).
    #expect(
      summary.files.map(\.displayPath) == [
        "fwd.eml", "fwd.eml#msg=out@x.example/attachment=fwd.eml",
        "fwd.eml#msg=out@x.example/attachment=fwd.eml#msg=in@x.example/attachment=notes.txt",
      ])
    // Its text is still shown in the outer message, where a reader meets it.
    let sections = try Corpus(workspace: f.workspace).sections(
      ofDocument: summary.files[0].documentHash, displayPath: "fwd.eml")
    #expect(sections.first?.text.contains("---------- Forwarded message ----------") == true)
    #expect(sections.first?.text.contains("Attachments: fwd.eml") == true)
    #expect(sections.first?.text.contains("notes.txt") == false)
  }

  @Test func familiesStopAtTheDepthLimitWithAWarning() async throws {
    let f = try IngestFixture()
    defer { f.remove() }
    // Messages attached to messages, one deeper than ingest reads.
    var message = Self.message(id: "m0@x.example", subject: "bottom", attachment: nil)
    for level in 1...(FileExtraction.maxFamilyDepth + 1) {
      message = Self.message(
        id: "m\(level)@x.example", subject: "level \(level)",
        attachment: ("m\(level - 1).eml", "application/octet-stream", Data(message.utf8)))
    }
    try f.dir.write("deep.eml", message)
    let summary = try await f.ingest(["deep.eml"])
    #expect(summary.failed == 0)
    // The file itself and maxFamilyDepth generations of children.
    #expect(summary.files.count == FileExtraction.maxFamilyDepth + 1)
    let warnings = summary.exceptions.filter { $0.severity == .warning }.map(\.reason)
    #expect(warnings.count == 1)
    #expect(warnings.first?.contains("attachment m0.eml not read: nested more than 5 files deep") == true)
  }

  @Test func childKindsAreDetectedByNameAndBytes() {
    func kind(_ name: String, _ bytes: [UInt8], type: String = "application/octet-stream") -> DocumentKind? {
      FileExtraction.detectKind(ChildFile(suffix: "#x", fileName: name, contentType: type, payload: Data(bytes)))
    }
    let zip: [UInt8] = [0x50, 0x4B, 0x03, 0x04, 0, 0]
    let ole: [UInt8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]
    #expect(kind("memo.docx", zip) == .office)
    #expect(kind("Budget.XLSX", zip) == .office)
    #expect(kind("bundle.zip", zip) == .archive)
    #expect(kind("unnamed", zip) == .archive)
    #expect(kind("letter.doc", ole) == .officeConverted)
    #expect(kind("mail.msg", ole) == .outlook)
    // A Tcl message catalog (Debian's tk8.6 ships dozens) is text, not Outlook; a `.pst` needs its magic.
    #expect(
      kind("de.msg", Array("namespace eval ::tk {\n    ::msgcat::mcset de \"&Abort\" \"&Abbruch\"\n".utf8)) == .text)
    #expect(kind("notes.pst", Array("plain words\n".utf8)) == .text)
    #expect(kind("unnamed", ole) == .officeConverted)
    #expect(kind("store.pst", Array("!BDN".utf8)) == .pst)
    #expect(kind("logs.tar.gz", [0x1F, 0x8B]) == .archive)
    #expect(kind("report.pdf", Array("%PDF-1.7".utf8)) == .pdf)
    #expect(kind("page.htm", Array("<html>".utf8)) == .html)
    #expect(kind("body", Array("<p>hi</p>".utf8), type: "text/html") == .html)
    #expect(kind("scan.tiff", [0x49, 0x49, 0x2A, 0]) == .image)
    #expect(kind("server.log", Array("2026-01-01 INFO up\n".utf8)) == .log)
    #expect(kind("main.swift", Array("let x = 1\n".utf8)) == .code)
    #expect(kind("notes", Array("plain words\n".utf8)) == .text)
    #expect(kind("setup.exe", [0x4D, 0x5A, 0x90, 0x00, 0x03]) == nil)
  }
}
