import Foundation
import Testing
import _LongctxTestSupport

/// `--ocr` on the real CLI: a scan is read in isolated workers by default,
/// `--ocr off` skips an image and reports the page, bad values exit 2.
@Suite struct OCRCLITests {
  struct Summary: Decodable {
    var seen, new, failed, skipped: Int
    var exceptions: [Exception]
    struct Exception: Decodable { var path, severity, reason: String }
  }

  /// `in/scan.pdf` in `tmp`, a copy of the corpus's `path`; returns `in/`.
  static func scan(_ path: String, of corpus: URL, into tmp: TemporaryDirectory) throws -> URL {
    let input = tmp.url.appendingPathComponent("in")
    try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
    try FileManager.default.copyItem(
      at: corpus.appendingPathComponent(path), to: input.appendingPathComponent("scan.pdf"))
    return input
  }

  @Test func ocrModesOnIngest() throws {
    guard let corpus = RepositoryPaths.sharedCorpus else {
      print("skipped: ../shared/corpus is absent")
      return
    }
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let input = try Self.scan("pdf/pdfminer/contrib/pdf-with-jbig2.pdf", of: corpus, into: tmp)
    try Data("not really a picture\n".utf8).write(to: input.appendingPathComponent("photo.jpg"))

    let off = try CLI.run(
      ["ingest", "in", "--workspace", "ws-off", "--json", "--ocr", "off"], cwd: tmp.url)
    #expect(off.code == 0, "\(off.stderr)")
    let a = try JSONDecoder().decode(Summary.self, from: Data(off.stdout.utf8))
    let offReasons = Dictionary(a.exceptions.map { ($0.path, $0.reason) }, uniquingKeysWith: { $0 + "; " + $1 })
    #expect(offReasons["in/scan.pdf"] == "no text layer: pages 1")
    #expect(offReasons["in/photo.jpg"] == "image file not read: OCR is off (--ocr off)")

    let auto = try CLI.run(["ingest", "in", "--workspace", "ws-auto", "--json"], cwd: tmp.url)
    #expect(auto.code == 0, "\(auto.stderr)")
    let b = try JSONDecoder().decode(Summary.self, from: Data(auto.stdout.utf8))
    #expect(b.failed == 1)
    #expect(b.exceptions.contains { $0.path == "in/photo.jpg" && $0.reason.hasPrefix("Cannot decode the image") })
    #expect(!b.exceptions.contains { $0.path == "in/scan.pdf" }, "\(b.exceptions)")

    let bad = try CLI.run(["ingest", "in", "--workspace", "ws", "--ocr-dpi", "20"], cwd: tmp.url)
    #expect(bad.code == 2)
    #expect(bad.stderr.contains("'--ocr-dpi': dpi must be between 50 and 1200, not 20"))
    let mode = try CLI.run(["ingest", "in", "--workspace", "ws", "--ocr", "sometimes"], cwd: tmp.url)
    #expect(mode.code == 2)
  }

  /// `plan` says how many of the plan's pages were read by OCR, and their mean confidence.
  @Test func planCountsOCRPages() throws {
    guard let corpus = RepositoryPaths.sharedCorpus else {
      print("skipped: ../shared/corpus is absent")
      return
    }
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    _ = try Self.scan("pdf/pdfminer/contrib/pdf-with-jbig2.pdf", of: corpus, into: tmp)
    try FileManager.default.copyItem(
      at: RepositoryPaths.samples.appendingPathComponent("pdfs/memo.pdf"),
      to: tmp.url.appendingPathComponent("in/memo.pdf"))
    // A server engine that is never called: planning needs no model.
    try tmp.write(
      "job.yaml",
      """
      name: scans
      inputs: [in]
      model: {engine: openai, base_url: "http://127.0.0.1:9/v1", name: m, context: 4096}
      map: {prompt: "{{window}}"}
      reduce: {prompt: "{{outputs}}"}

      """)
    let text = try CLI.run(["plan", "job.yaml", "--workspace", "ws"], cwd: tmp.url)
    #expect(text.code == 0, "\(text.stderr)")
    #expect(text.stdout.contains("OCR: 1 page read by OCR, mean word confidence "), "\(text.stdout)")
    let json = try CLI.run(["plan", "job.yaml", "--workspace", "ws", "--json"], cwd: tmp.url)
    struct Out: Decodable {
      struct OCR: Decodable { var pages: Int, meanConfidence: Double?, lowConfidencePages: Int }
      var ocr: OCR
    }
    let out = try JSONDecoder().decode(Out.self, from: Data(json.stdout.utf8))
    #expect(out.ocr.pages == 1)
    #expect((out.ocr.meanConfidence ?? 0) > 60 && out.ocr.lowConfidencePages == 0)
  }

  /// A page whose OCR kills the worker (a Tesseract crash, made here by fault
  /// injection) is that page's failure: the file is read again without it.
  @Test func aPageThatCrashesTheWorkerIsLeftOutAndTheRestOfTheDocumentKept() throws {
    guard let corpus = RepositoryPaths.sharedCorpus else {
      print("skipped: ../shared/corpus is absent")
      return
    }
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let input = try Self.scan("pdf/pypdf/indirect-rotation.pdf", of: corpus, into: tmp)
    let r = try CLI.run(
      ["ingest", "in", "--workspace", "ws", "--json", "--ocr", "force"], cwd: tmp.url,
      environment: ["LONGCTX_FAULT_INJECTION": "ocrcrash=2"])
    #expect(r.code == 0, "\(r.stderr)")
    let summary = try JSONDecoder().decode(Summary.self, from: Data(r.stdout.utf8))
    #expect(summary.failed == 0)
    #expect(summary.new == 1)
    #expect(
      summary.exceptions.map(\.reason) == [
        "OCR failed on pages 2: reading it crashed the extraction worker, so it was left out (its text layer, if any, is kept)"
      ])
  }
}
