import Foundation
import Testing
import _LongctxTestSupport

@testable import Ingest

/// HTML files read like HTML mail bodies, cited by paragraphs.
@Suite struct HTMLExtractorTests {
  static let page = """
    <!DOCTYPE html>
    <html><head><meta charset="iso-8859-1"><title>Retention &amp; Holds</title>
    <style>p { color: red }</style><script>var secret = "not text";</script></head>
    <body><h1>Litigation hold</h1>
    <p>All custodians must keep their mail.</p>
    <table><tr><td>Custodian</td><td>Since</td></tr><tr><td>J. Doe</td><td>2026-03-01</td></tr></table>
    <p>Questions go to legal&#64;harbor.example.</p>
    </body></html>
    """

  @Test func anHTMLFileIsParagraphsWithItsTitle() async throws {
    let f = try IngestFixture()
    defer { f.remove() }
    try f.dir.write("web/hold.html", Self.page)
    let summary = try await f.ingest(["web"])
    #expect(summary.failed == 0)
    let hash = try #require(summary.files.first?.documentHash)
    let corpus = Corpus(workspace: f.workspace)
    #expect(try corpus.kind(ofDocument: hash) == .html)
    let sections = try corpus.sections(ofDocument: hash, displayPath: "web/hold.html")
    let text = sections.map(\.text).joined(separator: "\n")
    #expect(text.contains("Litigation hold"))
    #expect(text.contains("All custodians must keep their mail."))
    #expect(text.contains("J. Doe"))
    #expect(text.contains("legal@harbor.example"))
    #expect(!text.contains("not text"))
    #expect(!text.contains("color: red"))
    let first = try #require(sections.first?.locator)
    #expect(first.paragraph == 1)
    #expect(first.description.hasPrefix("web/hold.html#para=1"))
    #expect(Locator(citation: Substring(first.description)) == first)
    let doc = try #require(try corpus.citableDocument(hash))
    #expect(doc.metadata["title"] == "Retention & Holds")
  }

  @Test func longPagesAreCutIntoParagraphGroups() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let body = (1...100).map { "<p>Paragraph number \($0) of the record.</p>" }.joined(separator: "\n")
    let file = try dir.write("long.html", "<html><body>\(body)</body></html>")
    let extraction = try HTMLExtractor(maxParagraphs: 40).extract(
      ExtractionInput(path: file.path, displayPath: "long.html", options: IngestOptions(base: dir.url)))
    let doc = try #require(extraction.document)
    #expect(
      doc.sections.map(\.locator.description) == [
        "long.html#para=1-40", "long.html#para=41-80", "long.html#para=81-100",
      ])
    #expect(doc.sections[1].text.hasPrefix("Paragraph number 41 of the record."))
    #expect(doc.metadata["paragraphs"] == "100")
  }
}
