import Foundation
import Testing
import _LongctxTestSupport

@testable import Ingest

/// Images that are not what they claim, too small, too large or noise: each
/// is a recorded warning or failure with its reason, and the rest of the
/// batch is kept. Multi-page TIFFs get one section per page.
@Suite struct OCRBadInputTests {
  /// A PNG whose header claims `width` × `height` 8-bit gray pixels, with a
  /// tiny valid zlib stream for its data: a decompression bomb's shape.
  static func pngBomb(width: UInt32, height: UInt32) -> Data {
    func chunk(_ type: String, _ body: [UInt8]) -> [UInt8] {
      let typed = Array(type.utf8) + body
      return bigEndian(UInt32(body.count)) + typed + bigEndian(crc32(typed))
    }
    let header = bigEndian(width) + bigEndian(height) + [8, 0, 0, 0, 0]
    let idat: [UInt8] = [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]
    let bytes: [UInt8] =
      [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", header) + chunk("IDAT", idat)
      + chunk("IEND", [])
    return Data(bytes)
  }

  static func bigEndian(_ v: UInt32) -> [UInt8] {
    [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]
  }

  static func crc32(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for b in bytes {
      crc ^= UInt32(b)
      for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
  }

  /// A gray image of uniform random noise, as PNG.
  static func noisePNG(width: Int, height: Int) throws -> Data {
    var rng = SystemRandomNumberGenerator()
    let image = try #require(OCRImage.gray(width: width, height: height, dpi: 300))
    let row = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: width)
    defer { row.deallocate() }
    for y in 0..<height {
      for x in 0..<width { row[x] = UInt8.random(in: 0...255, using: &rng) }
      image.setRow(y, row)
    }
    return try #require(image.pngData())
  }

  @Test func multiPageTIFFHasOneSectionPerPageAndATruncatedOneKeepsWhatDecodes() throws {
    guard let res = OCRTestData.resources else {
      print("skipped: no OCR test resources (scripts/ocr-testdata.sh)")
      return
    }
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let pages = try ["linn.png", "typewriter.png"].map { name in
      let data = try Data(contentsOf: res.appendingPathComponent(name))
      return try ImageDecoder.decode(data, page: 0, isTIFF: false, path: name)
    }
    let tiff = try #require(OCRImage.multipageTIFF(pages))
    let fax = dir.url.appendingPathComponent("fax.tif")
    try tiff.write(to: fax)
    let doc = try ImageExtractor().extract(path: fax.path, displayPath: "fax.tif")
    #expect(doc.pageCount == 2)
    #expect(doc.sections.map(\.locator.description) == ["fax.tif#page=1", "fax.tif#page=2"])
    #expect(doc.sections.first?.text.contains("LinnSequencer") == true)
    #expect(doc.sections.allSatisfy { $0.ocr != nil && !$0.text.isEmpty })

    // Cut inside the second page: the first page is kept, the loss is a warning.
    let cut = dir.url.appendingPathComponent("cut.tif")
    try tiff.prefix(tiff.count * 3 / 4).write(to: cut)
    #expect(TIFFDirectories.walk(tiff).count == 2)
    #expect(TIFFDirectories.walk(tiff).truncated == false)
    let partial = try ImageExtractor().extract(path: cut.path, displayPath: "cut.tif")
    #expect(partial.sections.map(\.locator.description) == ["cut.tif#page=1"])
    #expect(partial.sections.first?.text == doc.sections.first?.text)
    #expect(partial.warnings.contains { $0.contains("truncated") }, "\(partial.warnings)")
  }

  @Test func badImagesAreRecordedAndTheRestOfTheBatchIsKept() async throws {
    guard let res = OCRTestData.resources else {
      print("skipped: no OCR test resources (scripts/ocr-testdata.sh)")
      return
    }
    let f = try IngestFixture()
    defer { f.remove() }
    let input = f.dir.url.appendingPathComponent("in")
    try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
    try FileManager.default.copyItem(
      at: res.appendingPathComponent("typewriter.png"), to: input.appendingPathComponent("typewriter.png"))
    try Self.noisePNG(width: 1200, height: 900).write(to: input.appendingPathComponent("noise.png"))
    let pixel = try #require(OCRImage.gray(width: 1, height: 1, dpi: 72))
    try #require(pixel.pngData()).write(to: input.appendingPathComponent("pixel.png"))
    try Self.pngBomb(width: 100_000, height: 100_000).write(to: input.appendingPathComponent("bomb.png"))
    try Self.pngBomb(width: 20_000, height: 20_000).write(to: input.appendingPathComponent("huge.png"))
    try Data("this is a text file, not a JPEG\n".utf8).write(to: input.appendingPathComponent("fake.jpg"))
    let typewriter = try Data(contentsOf: res.appendingPathComponent("typewriter.png"))
    try typewriter.prefix(typewriter.count / 3).write(to: input.appendingPathComponent("cut.png"))

    let summary = try await f.ingest(["in"])
    let reasons = Dictionary(
      summary.exceptions.map { ($0.path, "\($0.severity): \($0.reason)") }, uniquingKeysWith: { $0 + " | " + $1 })
    for (path, reason) in reasons.sorted(by: { $0.key < $1.key }) { print("\(path): \(reason)") }
    #expect(summary.files.map(\.displayPath).contains("in/typewriter.png"))
    #expect(reasons["in/typewriter.png"] == nil)
    #expect(reasons["in/bomb.png"]?.hasPrefix("failed: in/bomb.png claims 100000 × 100000 pixels") == true)
    #expect(reasons["in/huge.png"]?.hasPrefix("failed: in/huge.png claims 20000 × 20000 pixels") == true)
    #expect(reasons["in/fake.jpg"]?.hasPrefix("failed: Cannot decode the image in/fake.jpg") == true)
    #expect(reasons["in/pixel.png"] == "warning: page 1 is 1 × 1 pixels: too small to read")
    #expect(reasons["in/cut.png"]?.hasPrefix("failed:") == true)
    // Noise is read (nothing in it, or nothing Tesseract trusts): a warning either way.
    let noise = try #require(reasons["in/noise.png"])
    #expect(noise.hasPrefix("warning: low OCR confidence") || noise.hasPrefix("warning: no text found by OCR"))
    #expect(summary.failed == 4)
  }

  @Test func imageAttachmentsInMailAreOCRdChildrenAndANonImageIsAWarning() async throws {
    guard let res = OCRTestData.resources else {
      print("skipped: no OCR test resources (scripts/ocr-testdata.sh)")
      return
    }
    let f = try IngestFixture()
    defer { f.remove() }
    let scan = try Data(contentsOf: res.appendingPathComponent("typewriter.png"))
    let mail = EmailAttachmentTests.message(
      id: "scan1@harbor.example", subject: "The signed page",
      attachments: [
        ("page.png", "image/png", scan), ("broken.png", "image/png", Data("not an image at all\n".utf8)),
      ])
    try f.dir.write("mail/scan.eml", mail)
    let summary = try await f.ingest(["mail"])
    #expect(summary.failed == 0)
    let child = "mail/scan.eml#msg=scan1@harbor.example/attachment=page.png"
    #expect(summary.files.map(\.displayPath) == ["mail/scan.eml", child])
    let hash = try #require(summary.files.last?.documentHash)
    let corpus = Corpus(workspace: f.workspace)
    #expect(try corpus.kind(ofDocument: hash) == .image)
    let sections = try corpus.sections(ofDocument: hash, displayPath: child)
    #expect(sections.map(\.locator.description) == [child + "#page=1"])
    #expect(sections.first?.ocr?.engine.hasPrefix("tesseract") == true)
    // The same text as the file read on its own.
    let direct = try ImageExtractor().extract(
      path: res.appendingPathComponent("typewriter.png").path, displayPath: "typewriter.png")
    #expect(sections.map(\.text) == direct.sections.map(\.text))
    let warnings = summary.exceptions.filter { $0.path == "mail/scan.eml" }.map(\.reason)
    #expect(
      warnings.contains { $0.hasPrefix("attachment broken.png not ingested: Cannot decode the image") }, "\(warnings)")
  }
}
