import Foundation
import Testing
import _LongctxTestSupport

@testable import Ingest

/// OCR of real scans through Tesseract's C API, against transcripts and
/// against the `tesseract` command on the same pixels.
@Suite struct OCRTests {
  /// The ratio of our CER to the `tesseract` command's on the same image
  /// must lie within this of 1 (same engine, same pixels, same settings).
  static let ratioTolerance = 0.02

  /// `ours` and `cli` CERs are the same within the tolerance (either both
  /// tiny, or in ratio 1 ± 0.02).
  static func sameAccuracy(_ ours: Double, _ cli: Double) -> Bool {
    if max(ours, cli) < 0.005 { return true }
    return abs(ours / max(cli, 1e-9) - 1) <= ratioTolerance
  }

  @Test func imageFileMatchesItsTranscriptLikeTheCommand() throws {
    guard let res = OCRTestData.resources, OCRTestData.haveCLI else {
      print("skipped: no OCR test resources (scripts/ocr-testdata.sh) or no tesseract command")
      return
    }
    let png = res.appendingPathComponent("linn.png").path
    let transcript = try String(contentsOfFile: res.appendingPathComponent("linn.txt").path, encoding: .utf8)
    let doc = try ImageExtractor().extract(path: png, displayPath: "scans/linn.png")
    #expect(doc.kind == .image)
    #expect(doc.sections.map(\.locator.description) == ["scans/linn.png#page=1"])
    let section = try #require(doc.sections.first)
    let info = try #require(section.ocr)
    #expect(info.engine.hasPrefix("tesseract 5"))
    #expect(info.languages == "eng")
    #expect(info.confidence > OCRSettings.lowConfidence)
    let ours = characterErrorRate(section.text, reference: transcript)
    let cli = characterErrorRate(try tesseractCLI(png), reference: transcript)
    print("linn.png CER: longctx \(ours), tesseract CLI \(cli)")
    #expect(ours < 0.1)
    #expect(Self.sameAccuracy(ours, cli), "longctx \(ours) vs CLI \(cli)")
    #expect(doc.warnings.isEmpty)
  }

  @Test func scannedPDFPageIsReadInAutoModeAndMatchesTheCommandOnTheSamePixels() throws {
    guard let res = OCRTestData.resources, OCRTestData.haveCLI else {
      print("skipped: no OCR test resources (scripts/ocr-testdata.sh) or no tesseract command")
      return
    }
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let pdf = res.appendingPathComponent("linn.pdf").path
    let transcript = try String(contentsOfFile: res.appendingPathComponent("linn.txt").path, encoding: .utf8)
    let doc = try PDFExtractor().extract(path: pdf, displayPath: "linn.pdf")
    let section = try #require(doc.sections.first)
    #expect(section.locator.description == "linn.pdf#page=1")
    #expect(section.ocr?.dpi == 300)
    #expect(doc.metadata["ocr.pages"] == "1")
    // The same rendered pixels through the command.
    let image = try #require(try PDFExtractor().renderedPage(path: pdf, number: 1))
    #expect(image.width == 2550 && image.height == 3300)
    let png = dir.url.appendingPathComponent("page-1.png")
    try #require(image.pngData()).write(to: png)
    let ours = characterErrorRate(section.text, reference: transcript)
    let cli = characterErrorRate(try tesseractCLI(png.path), reference: transcript)
    print("linn.pdf CER: longctx \(ours), tesseract CLI on the same render \(cli)")
    #expect(ours < 0.1)
    #expect(Self.sameAccuracy(ours, cli), "longctx \(ours) vs CLI \(cli)")
    // With OCR off the page is what it was: no text layer.
    let off = try PDFExtractor(ocr: OCRSettings(mode: .off)).extract(path: pdf, displayPath: "linn.pdf")
    #expect(off.sections.isEmpty)
    #expect(off.warnings == ["no text layer: pages 1"])
  }

  @Test func corpusImageOnlyPageAndScansWithAnOCRLayer() throws {
    guard let corpus = OCRTestData.corpusPDFs, OCRTestData.haveCLI else {
      print("skipped: no development corpus or no tesseract command")
      return
    }
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    // Image-only (one JBIG2 image, no text layer, /Rotate 270).
    let jbig2 = corpus.appendingPathComponent("pdfminer/contrib/pdf-with-jbig2.pdf").path
    let doc = try PDFExtractor().extract(path: jbig2, displayPath: "jbig2.pdf")
    let section = try #require(doc.sections.first)
    #expect(section.ocr != nil)
    let image = try #require(try PDFExtractor().renderedPage(path: jbig2, number: 1))
    // /Rotate 270 of a 792 × 612 page: rendered upright, portrait.
    #expect(image.width == 2550 && image.height == 3300)
    let png = dir.url.appendingPathComponent("jbig2.png")
    try #require(image.pngData()).write(to: png)
    let cli = try tesseractCLI(png.path)
    #expect(!cli.isEmpty)
    #expect(characterErrorRate(section.text, reference: cli) <= 0.02, "\(section.text) vs \(cli)")

    // Scans with a scanner's OCR layer: auto keeps the layer, force reads the pixels.
    for name in ["pdfjs/issue5747.pdf", "pypdf/indirect-rotation.pdf"] {
      let path = corpus.appendingPathComponent(name).path
      let kept = try PDFExtractor().extract(path: path, displayPath: name)
      #expect(kept.sections.allSatisfy { $0.ocr == nil }, "\(name)")
      let forced = try PDFExtractor(ocr: OCRSettings(mode: .force)).extract(path: path, displayPath: name)
      #expect(forced.sections.count == kept.sections.count, "\(name)")
      for (layer, ocr) in zip(kept.sections, forced.sections) {
        #expect(ocr.ocr != nil)
        #expect(ocr.locator == layer.locator)
        // The two readings of the same scan agree on what is there (the
        // layers are older OCR that spaces letters out, "W a n Hai Lines";
        // Tesseract reads two-column headers in another order, and skips
        // the struck-out block on indirect-rotation.pdf's page 2, as the
        // `tesseract` command does: 0.68 there, 0.85-0.99 elsewhere).
        let overlap = characterOverlap(ocr.text, layer.text)
        print("\(layer.locator): force OCR has \(overlap) of the characters of the file's own OCR layer")
        #expect(overlap > 0.6, "\(layer.locator)")
      }
      // The first page against the command on the same pixels.
      let page = try #require(try PDFExtractor(ocr: OCRSettings(mode: .force)).renderedPage(path: path, number: 1))
      let file = dir.url.appendingPathComponent("p1.png")
      try #require(page.pngData()).write(to: file)
      let cliText = try tesseractCLI(file.path)
      let first = try #require(forced.sections.first)
      #expect(characterErrorRate(first.text, reference: cliText) <= 0.02, "\(name)")
    }
  }

  @Test func posterPagesInAWorkerAreCappedAndAnEncryptedScanIsReadWithItsPassword() async throws {
    guard let res = OCRTestData.resources, let binary = CLI.binary, have("qpdf") else {
      print("skipped: needs the OCR test resources, a built longctx and qpdf")
      return
    }
    let f = try IngestFixture()
    defer { f.remove() }
    let input = f.dir.url.appendingPathComponent("in")
    try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
    // 8,400 × 8,400 points (a 35,000-pixel JBIG2 square) and 1,800 × 3,600 points.
    for name in ["hugemono.pdf", "poster.pdf"] {
      try FileManager.default.copyItem(at: res.appendingPathComponent(name), to: input.appendingPathComponent(name))
    }
    let linn = res.appendingPathComponent("linn.pdf").path
    let secret = input.appendingPathComponent("secret.pdf").path
    try #require(try shell("qpdf --encrypt pw owner 256 -- '\(linn)' '\(secret)'") == 0)
    // 1 GiB of heap per worker: an uncapped 300-dpi render of the square alone would need 1.2 GB.
    // A generous time limit: the subject is memory, and the suite runs this beside other work on 2 cores.
    let worker = ExtractionWorker(executable: binary, timeLimit: 900, memoryLimit: 1 << 30)
    let summary = try await f.ingest(["in"], password: "pw", worker: worker)
    let reasons = summary.exceptions.map { "\($0.path): \($0.severity): \($0.reason)" }
    for line in reasons { print(line) }
    #expect(summary.failed == 0, "\(reasons)")
    #expect(
      reasons.contains { $0.hasPrefix("in/hugemono.pdf: warning: page 1 read at 54 dpi: a 8400 × 8400-point page") })
    #expect(
      reasons.contains { $0.hasPrefix("in/poster.pdf: warning: page 1 read at 178 dpi: a 1800 × 3600-point page") })
    let file = try #require(summary.files.first { $0.displayPath == "in/secret.pdf" })
    let sections = try Corpus(workspace: f.workspace).sections(
      ofDocument: file.documentHash, displayPath: file.displayPath)
    #expect(sections.first?.ocr != nil)
    #expect(sections.first?.text.contains("LinnSequencer") == true)
  }

  @Test func aPageReadOnceIsTakenFromTheCacheInAnotherFile() async throws {
    guard let res = OCRTestData.resources else {
      print("skipped: no OCR test resources (scripts/ocr-testdata.sh)")
      return
    }
    let f = try IngestFixture()
    defer { f.remove() }
    let linn = try Data(contentsOf: res.appendingPathComponent("linn.pdf"))
    try f.dir.write("a/linn.pdf", "")
    try linn.write(to: f.dir.url.appendingPathComponent("a/linn.pdf"))
    let first = try await f.ingest(["a"])
    // Other bytes (a comment after %%EOF), the same page.
    try FileManager.default.createDirectory(
      at: f.dir.url.appendingPathComponent("b"), withIntermediateDirectories: true)
    try (linn + Data("% another copy\n".utf8)).write(to: f.dir.url.appendingPathComponent("b/copy.pdf"))
    let clock = ContinuousClock.now
    let second = try await f.ingest(["b"])
    let elapsed = ContinuousClock.now - clock
    let a = try #require(first.files.first)
    let b = try #require(second.files.first)
    #expect(a.documentHash != b.documentHash)
    let metadata = try await f.workspace.db.read { db in
      try String.fetchOne(db, sql: "SELECT metadata FROM document WHERE hash = ?", arguments: [b.documentHash])
    }
    #expect(metadata?.contains(#""ocr.cached":"1""#) == true, "\(metadata ?? "")")
    let corpus = Corpus(workspace: f.workspace)
    let textA = try corpus.sections(ofDocument: a.documentHash, displayPath: "a/linn.pdf").map(\.text)
    let textB = try corpus.sections(ofDocument: b.documentHash, displayPath: "b/copy.pdf").map(\.text)
    #expect(textA == textB)
    #expect(!textA.isEmpty)
    print("second copy ingested in \(elapsed) from the OCR cache")
  }
}
