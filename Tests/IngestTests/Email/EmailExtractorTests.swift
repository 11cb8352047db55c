import Foundation
import Testing
import _LongctxTestSupport

@testable import Ingest

@Suite struct EmailExtractorTests {
  static let mail = RepositoryPaths.samples.appendingPathComponent("mail")

  func mbox() throws -> ExtractedDocument {
    try EmailExtractor().extract(
      path: Self.mail.appendingPathComponent("ops-team.mbox").path, displayPath: "mail/ops-team.mbox")
  }

  @Test func oneSectionPerMessageWithMessageIDLocators() throws {
    let doc = try mbox()
    #expect(doc.kind == .email)
    #expect(doc.metadata["messages"] == "5")
    #expect(
      doc.sections.map(\.locator.description) == [
        "mail/ops-team.mbox#msg=20260309081244.4411@harborfreight.example",
        "mail/ops-team.mbox#msg=CAF9x2.priya.0309@harborfreight.example",
        "mail/ops-team.mbox#msg=20260309094002.5120@harborfreight.example",
        "mail/ops-team.mbox#msg=weekly-10.tf@harborfreight.example",
        "mail/ops-team.mbox#msg=5",
      ])
    let back = Locator(citation: Substring(doc.sections[1].locator.description))
    #expect(back == doc.sections[1].locator)
  }

  @Test func quotedPrintableAndAlternativesDecode() throws {
    let first = try mbox().sections[0].text
    #expect(
      first.hasPrefix(
        "From: Maria Keller <maria.keller@harborfreight.example>\nTo: ops-team@harborfreight.example\nCc: legal@harborfreight.example\nDate: Mon, 09 Mar 2026 08:12:44 +0000\nSubject: Reporting outage on 9 March\n\n"
      ))
    #expect(first.contains("The root cause was connection-pool exhaustion"))
    #expect(first.contains("Café meeting at 10:00 to go through the follow-ups — please"))
    #expect(!first.contains("<p>"))  // the text/plain alternative was chosen
    #expect(!first.contains("=\n"))
  }

  @Test func mboxFromQuotingIsUndone() throws {
    let second = try mbox().sections[1].text
    #expect(second.contains("\nFrom the contract: \"available 99.5 percent"))
    #expect(second.contains("> the reporting portal was unavailable"))
  }

  @Test func base64BodyEncodedHeadersAndAttachments() throws {
    let doc = try mbox()
    let fourth = doc.sections[3].text
    #expect(fourth.hasPrefix("From: Tomás Ferreira <tomas.ferreira@harborfreight.example>"))
    #expect(fourth.contains("attached is the late-shipment summary"))
    #expect(fourth.contains("Attachments: late-shipments-w11.csv (text/csv, 72 bytes)"))
    #expect(!fourth.contains("hamburg,1204"))
    let attachments = try #require(doc.metadata["attachments"])
    #expect(attachments.contains("\"fileName\":\"late-shipments-w11.csv\""))
    #expect(attachments.contains("\"message\":\"weekly-10.tf@harborfreight.example\""))
  }

  @Test func threadsFollowReferencesAndInReplyTo() throws {
    let doc = try mbox()
    #expect(doc.metadata["threads"] == "3")
    #expect(
      doc.metadata["thread.members"] == """
        [["20260309081244.4411@harborfreight.example","CAF9x2.priya.0309@harborfreight.example",\
        "20260309094002.5120@harborfreight.example"],["weekly-10.tf@harborfreight.example"],["5"]]
        """)
  }

  @Test func htmlOnlyLatin1EmlBecomesText() throws {
    let doc = try EmailExtractor().extract(
      path: Self.mail.appendingPathComponent("quarterly-review.eml").path, displayPath: "quarterly-review.eml")
    #expect(doc.sections.count == 1)
    #expect(doc.title == "Quarterly review – agenda")
    #expect(doc.metadata["from"] == "Jürgen Weiß <juergen.weiss@northwind.example>")
    #expect(doc.sections[0].locator.description == "quarterly-review.eml#msg=qr-2026-03@northwind.example")
    let text = doc.sections[0].text
    #expect(text.contains("please find the agenda below & confirm by Friday."))
    #expect(text.contains("- Portal availability — 99.5 percent target"))
    #expect(text.contains("Kind regards,\nJürgen Weiß"))
    let body = try #require(text.components(separatedBy: "\n\n").dropFirst().first)
    #expect(!body.contains("<") && !text.contains("color: #333"))
  }

  @Test func ingestRoutesMailToTheEmailExtractor() async throws {
    let f = try IngestFixture()
    defer { f.remove() }
    try f.copySample("mail/ops-team.mbox", as: "mail/ops-team.mbox")
    let summary = try await f.ingest(["mail"])
    let file = try #require(summary.files.first)
    #expect(try Corpus(workspace: f.workspace).kind(ofDocument: file.documentHash) == .email)
    let sections = try Corpus(workspace: f.workspace).sections(
      ofDocument: file.documentHash, displayPath: file.displayPath)
    #expect(sections.count == 5)
  }
}

@Suite struct HTMLTextTests {
  @Test func tagsEntitiesAndBlocks() {
    let html =
      "<html><head><style>p { color: red }</style></head><body>\n<p>a &amp; b</p><ul><li>one</li></ul>x<br>y</body></html>"
    #expect(HTMLText.text(from: html) == "a & b\n- one\nx\ny")
  }
}

@Suite struct MIMETests {
  @Test func singleHTMLPart() {
    let raw =
      "Content-Type: text/html; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n<p>J=FCrgen</p>\n"
    let entity = MIMEEntity(ArraySlice(Array(raw.utf8)))
    #expect(entity.contentType.mediaType == "text/html")
    #expect(entity.text == "<p>Jürgen</p>\n")
    var attachments: [EmailExtractor.Attachment] = []
    #expect(EmailExtractor.bodyText(entity, attachments: &attachments, messageKey: "1") == "Jürgen")
  }
}
