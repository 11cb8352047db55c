import Foundation
import Testing
import _LongctxTestSupport

@testable import Ingest

@Suite struct PDFExtractorTests {
  @Test func textPerPageAndMetadata() throws {
    let path = RepositoryPaths.samples.appendingPathComponent("pdfs/contract.pdf").path
    let doc = try PDFExtractor().extract(path: path, displayPath: "pdfs/contract.pdf")
    #expect(doc.kind == .pdf)
    #expect(doc.pageCount == 3)
    #expect(doc.sections.map(\.locator.description) == (1...3).map { "pdfs/contract.pdf#page=\($0)" })
    #expect(doc.sections[1].text.contains("4. Service Levels"))
    #expect(!doc.sections[0].text.contains("4. Service Levels"))
    #expect(doc.metadata["creator"]?.hasPrefix("groff") == true)
    #expect(doc.metadata["pages"] == "3")
    #expect(doc.metadata["created"] != nil)
    #expect(doc.warnings.isEmpty)
  }

  @Test func encryptedNeedsPassword() throws {
    guard have("qpdf") else { return }
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let src = RepositoryPaths.samples.appendingPathComponent("pdfs/memo.pdf").path
    let out = dir.url.appendingPathComponent("secret.pdf").path
    try #require(try shell("qpdf --encrypt user owner 256 -- '\(src)' '\(out)'") == 0)
    #expect(throws: IngestError.pdfEncrypted(path: out)) {
      try PDFExtractor().extract(path: out, displayPath: "secret.pdf")
    }
    let doc = try PDFExtractor(password: "user").extract(path: out, displayPath: "secret.pdf")
    #expect(doc.sections.first?.text.contains("Memorandum") == true)
  }

  @Test func truncatedPDFReportsPopplersMessage() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let data = try Data(contentsOf: RepositoryPaths.samples.appendingPathComponent("pdfs/memo.pdf"))
    let out = dir.url.appendingPathComponent("cut.pdf")
    try data.prefix(300).write(to: out)
    do {
      _ = try PDFExtractor().extract(path: out.path, displayPath: "cut.pdf")
      Issue.record("a truncated PDF was read")
    } catch let IngestError.pdfUnreadable(path, reason) {
      #expect(path == out.path)
      #expect(!reason.isEmpty)
    }
  }

  @Test func imageOnlyPagesAreReported() throws {
    guard have("gs") else { return }
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let src = RepositoryPaths.samples.appendingPathComponent("pdfs/contract.pdf").path
    let out = dir.url.appendingPathComponent("scan.pdf").path
    try #require(try shell("gs -q -sDEVICE=pdfimage24 -r50 -o '\(out)' '\(src)'") == 0)
    let doc = try PDFExtractor().extract(path: out, displayPath: "scan.pdf")
    #expect(doc.pageCount == 3)
    #expect(doc.sections.isEmpty)
    #expect(doc.warnings == ["no text layer: pages 1-3"])
  }

  @Test func pageRanges() {
    #expect(PageRanges.describe([3, 4, 5, 7]) == "3-5, 7")
    #expect(PageRanges.describe([1]) == "1")
  }
}

@Suite struct HyphenationTests {
  @Test(arguments: [
    ("Northwind Analyt-\nics was", "Northwind Analytics was"),
    ("writ-\nten notice", "written notice"),
    ("OP-\nTIONAL here", "OPTIONAL here"),
    ("Smith-\nJones", "SmithJones"),
    ("2026-\n03", "2026-\n03"),
    ("end -\nnext", "end -\nnext"),
    ("no hyphen\nhere", "no hyphen\nhere"),
    ("trailing-\n", "trailing-\n"),
  ])
  func joinsOnlyWordsBrokenAtLineEnds(input: String, expected: String) {
    #expect(PDFExtractor.joiningHyphenatedWords(input) == expected)
  }

  @Test func memoPageJoinsAnalytics() throws {
    let doc = try PDFExtractor().extract(
      path: RepositoryPaths.samples.appendingPathComponent("pdfs/memo.pdf").path, displayPath: "memo.pdf")
    #expect(doc.sections[0].text.contains("Northwind Analytics was unavailable"))
    #expect(doc.sections[1].text.contains("The first written notice"))
  }
}
