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
    let doc = try PDFExtractor(ocr: OCRSettings(mode: .off)).extract(path: out, displayPath: "scan.pdf")
    #expect(doc.pageCount == 3)
    #expect(doc.sections.isEmpty)
    #expect(doc.warnings == ["no text layer: pages 1-3"])
    // Read with OCR, a 50-dpi scan gives text Tesseract does not trust: a warning per page.
    let read = try PDFExtractor().extract(path: out, displayPath: "scan.pdf")
    #expect(read.sections.count == 3)
    #expect(read.sections.allSatisfy { ($0.ocr?.confidence ?? 100) < OCRSettings.lowConfidence })
    #expect(read.warnings.count == 1)
    #expect(read.warnings.first?.hasPrefix("low OCR confidence (below 60.0): pages 1 (") == true)
  }

  /// A scan of a PDF whose text layer is known: the layer is the transcript.
  @Test func rasterizedPDFReadsBackItsOwnText() throws {
    guard have("gs") else { return }
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let src = RepositoryPaths.samples.appendingPathComponent("pdfs/contract.pdf").path
    let out = dir.url.appendingPathComponent("scan.pdf").path
    try #require(try shell("gs -q -sDEVICE=pdfimage8 -r200 -o '\(out)' '\(src)'") == 0)
    let original = try PDFExtractor().extract(path: src, displayPath: "scan.pdf")
    let scan = try PDFExtractor().extract(path: out, displayPath: "scan.pdf")
    #expect(scan.sections.map(\.locator) == original.sections.map(\.locator))
    for (ocr, layer) in zip(scan.sections, original.sections) {
      let cer = characterErrorRate(ocr.text, reference: layer.text)
      print("\(ocr.locator): CER \(cer) against the original's text layer, confidence \(ocr.ocr?.confidence ?? 0)")
      #expect(cer < 0.05, "\(ocr.locator)")
      #expect((ocr.ocr?.confidence ?? 0) > OCRSettings.lowConfidence)
    }
    #expect(scan.warnings.isEmpty)
  }

  /// A one-page PDF whose page tree's `/Count` says `count`, with a valid
  /// cross-reference table (offsets computed, not patched).
  static func pdf(pageTreeCount count: Int) -> Data {
    let content = "BT /F1 12 Tf 72 720 Td (Hello from a page tree that miscounts) Tj ET"
    let objects = [
      "<< /Type /Catalog /Pages 2 0 R >>",
      "<< /Type /Pages /Kids [3 0 R] /Count \(count) >>",
      "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        + "/Resources << /Font << /F1 5 0 R >> >> >>",
      "<< /Length \(content.utf8.count) >>\nstream\n\(content)\nendstream",
      "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    var out = "%PDF-1.4\n"
    var offsets: [Int] = []
    for (i, object) in objects.enumerated() {
      offsets.append(out.utf8.count)
      out += "\(i + 1) 0 obj\n\(object)\nendobj\n"
    }
    let xref = out.utf8.count
    out += "xref\n0 \(objects.count + 1)\n0000000000 65535 f \n"
    for offset in offsets { out += String(repeating: "0", count: 10 - String(offset).count) + "\(offset) 00000 n \n" }
    out += "trailer\n<< /Size \(objects.count + 1) /Root 1 0 R >>\nstartxref\n\(xref)\n%%EOF\n"
    return Data(out.utf8)
  }

  /// A one-page PDF whose page draws `content` (a content stream), Helvetica as /F1.
  static func pdf(content: String) -> Data {
    String(decoding: pdf(pageTreeCount: 1), as: UTF8.self)
      .replacingOccurrences(of: "BT /F1 12 Tf 72 720 Td (Hello from a page tree that miscounts) Tj ET", with: content)
      .data(using: .utf8).map { fixingOffsets($0) } ?? Data()
  }

  /// `data` with its cross-reference offsets and `startxref` computed again.
  private static func fixingOffsets(_ data: Data) -> Data {
    let text = String(decoding: data, as: UTF8.self)
    guard let xrefStart = text.range(of: "xref\n0 ") else { return data }
    var out = String(text[..<xrefStart.lowerBound])
    var offsets: [Int] = []
    var search = out.startIndex
    while let r = out.range(of: "\(offsets.count + 1) 0 obj\n", range: search..<out.endIndex) {
      offsets.append(out.utf8.distance(from: out.startIndex, to: r.lowerBound))
      search = r.upperBound
    }
    let xref = out.utf8.count
    out += "xref\n0 \(offsets.count + 1)\n0000000000 65535 f \n"
    for offset in offsets { out += String(repeating: "0", count: 10 - String(offset).count) + "\(offset) 00000 n \n" }
    out += "trailer\n<< /Size \(offsets.count + 1) /Root 1 0 R >>\nstartxref\n\(xref)\n%%EOF\n"
    return Data(out.utf8)
  }

  /// A page without text is previewed at 72 dpi: a white one is reported blank without the
  /// 300-dpi render; a hairline or a 2-point mark is not white, so such a page is rendered.
  @Test func blankPageFoundWithoutTheFullRender() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let blank = dir.url.appendingPathComponent("blank.pdf")
    try Self.pdf(content: "").write(to: blank)
    let doc = try PDFExtractor().extract(path: blank.path, displayPath: "blank.pdf")
    #expect(doc.sections.isEmpty)
    #expect(doc.warnings == ["no text found by OCR: pages 1 (blank or unreadable)"])
    #expect(doc.metadata["ocr.pages"] == "1")
    for (name, content) in [
      ("hairline", "0 0 0 RG 0.1 w 72 400 m 300 400 l S"), ("dot", "0 0 0 rg 300 400 2 2 re f"),
      ("gray", "0.6 g 72 72 400 600 re f"),
    ] {
      let url = dir.url.appendingPathComponent("\(name).pdf")
      try Self.pdf(content: content).write(to: url)
      let pdf = try PopplerDocument(path: url.path, password: nil)
      let page = try #require(pdf.page(0))
      #expect(!PageOCR.isBlankPreview(page), "\(name)")
    }
    let pdf = try PopplerDocument(path: blank.path, password: nil)
    #expect(PageOCR.isBlankPreview(try #require(pdf.page(0))))
  }

  @Test func absurdPageCountIsAFailure() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let out = dir.url.appendingPathComponent("bogus.pdf")
    try Self.pdf(pageTreeCount: 213_804_087).write(to: out)
    #expect(
      throws: IngestError.pdfUnreadable(
        path: out.path, reason: "PDF has no readable pages (page tree claims 213804087 pages)")
    ) {
      try PDFExtractor().extract(path: out.path, displayPath: "bogus.pdf")
    }
    // The same file with a true count reads.
    try Self.pdf(pageTreeCount: 1).write(to: out)
    let doc = try PDFExtractor().extract(path: out.path, displayPath: "bogus.pdf")
    #expect(doc.sections.first?.text == "Hello from a page tree that miscounts")
    #expect(doc.warnings.isEmpty)
  }

  @Test func pagesThatDoNotLoadAreReported() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let out = dir.url.appendingPathComponent("short.pdf")
    // Three pages claimed, one there: poppler cannot load pages 2 and 3.
    try Self.pdf(pageTreeCount: 3).write(to: out)
    let doc = try PDFExtractor().extract(path: out.path, displayPath: "short.pdf")
    #expect(doc.pageCount == 3)
    #expect(doc.sections.count == 1)
    #expect(doc.warnings == ["pages 2-3 could not be loaded"])
  }

  @Test func ingestRecordsAPDFWithoutPagesAsFailed() async throws {
    let f = try IngestFixture()
    defer { f.remove() }
    try f.dir.write("in/bogus.pdf", "")
    try Self.pdf(pageTreeCount: 213_804_087).write(to: f.dir.url.appendingPathComponent("in/bogus.pdf"))
    let summary = try await f.ingest(["in"])
    #expect(summary.files.isEmpty)
    #expect(try f.documentCount() == 0)
    let failure = try #require(summary.exceptions.first { $0.path == "in/bogus.pdf" })
    #expect(failure.severity == .failed)
    #expect(
      failure.reason
        == "Poppler cannot read in/bogus.pdf: PDF has no readable pages (page tree claims 213804087 pages).")
  }

  @Test func claimedPageCountFromPopplersMessages() {
    #expect(
      PDFExtractor.claimedPageCount(
        in: "Syntax error at position -1: Page count (213804087) larger than number of objects (6)") == "213804087")
    #expect(PDFExtractor.claimedPageCount(in: "Syntax error at position -1: Invalid page count 0") == "0")
    #expect(PDFExtractor.claimedPageCount(in: "Syntax error: Invalid XRef entry 12") == nil)
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
