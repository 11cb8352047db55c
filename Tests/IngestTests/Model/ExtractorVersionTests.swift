import Foundation
import Testing
import _LongctxTestSupport

@testable import Ingest

/// The OCR engine's version is part of a PDF's or image's stamp only when OCR ran or was due (issue 32, item 2):
/// a text PDF is extracted and checked without loading Tesseract, a scan is read again under a new engine.
@Suite struct ExtractorVersionTests {
  @Test func aTextPDFsVersionNamesNoOCREngine() throws {
    let path = RepositoryPaths.samples.appendingPathComponent("pdfs/memo.pdf").path
    let doc = try PDFExtractor().extract(path: path, displayPath: "memo.pdf")
    #expect(doc.extractor == DocumentKind.pdf.extractorVersion)
    #expect(!doc.extractor.contains("tesseract"))
    #expect(DocumentKind.isCurrent(kind: "pdf", extractor: DocumentKind.pdf.stamp(doc.extractor, redact: true)))
  }

  @Test func anOCRdDocumentIsCurrentOnlyUnderTheSameEngine() {
    let engine = DocumentKind.pdf.withOCREngine
    #expect(engine == DocumentKind.pdf.extractorVersion + " " + TesseractEngine.version)
    #expect(DocumentKind.isCurrent(kind: "pdf", extractor: engine))
    #expect(DocumentKind.isCurrent(kind: "image", extractor: DocumentKind.image.withOCREngine))
    // A stamp of before this change, or from another engine.
    let older = DocumentKind.pdf.extractorVersion + " tesseract 4.1.1"
    #expect(!DocumentKind.isCurrent(kind: "pdf", extractor: older))
    #expect(!DocumentKind.isCurrent(kind: "image", extractor: "leptonica ocr-1 tesseract 4.1.1"))
    // Settings still count, with or without the engine.
    let off = OCRSettings(mode: .off)
    let textOff = DocumentKind.pdf.stamp(DocumentKind.pdf.extractorVersion, redact: true, ocr: off)
    #expect(textOff.hasSuffix(" ocr=off"))
    #expect(DocumentKind.isCurrent(kind: "pdf", extractor: textOff, ocr: off))
    #expect(!DocumentKind.isCurrent(kind: "pdf", extractor: textOff))
    #expect(!DocumentKind.isCurrent(kind: "pdf", extractor: engine, ocr: off))
    // Another extractor version is never current.
    #expect(!DocumentKind.isCurrent(kind: "pdf", extractor: "poppler-glib 0.1 ocr-1"))
  }
}
