import Foundation
import Testing
import _LongctxTestSupport

@testable import Ingest

/// The heavy C libraries are called through CLazyLoad's trampolines and loaded on first use (issue 32): the
/// test binary does not link them either, so every call here goes through a trampoline.
@Suite struct NativeLibraryTests {
  @Test func theTrampolinesAreUsedOnLinux() {
    #if os(Linux) && (arch(x86_64) || arch(arm64))
      #expect(NativeLibrary.loadsOnFirstUse)
    #endif
    for library in NativeLibrary.allCases { #expect(library.isAvailable, "\(library.name)") }
  }

  @Test func aPDFIsReadThroughTheTrampolines() throws {
    let memo = RepositoryPaths.samples.appendingPathComponent("pdfs/memo.pdf").path
    let doc = try PDFExtractor(ocr: OCRSettings(mode: .off)).extract(path: memo, displayPath: "memo.pdf")
    #expect(doc.pageCount == 2)
    #expect(doc.sections.first?.locator.description == "memo.pdf#page=1")
    #expect(doc.sections.first?.text.hasPrefix("Memorandum: Incident Review of the March Reporting Outage") == true)
    #expect(!PopplerDocument.version.isEmpty && PopplerDocument.version != "(not installed)")
  }

  @Test func ocrRendersWithCairoAndReadsWithTesseractThroughTheTrampolines() throws {
    // OCR forced on a text PDF: poppler renders the page (cairo), leptonica holds it, Tesseract reads it.
    let memo = RepositoryPaths.samples.appendingPathComponent("pdfs/memo.pdf").path
    let doc = try PDFExtractor(ocr: OCRSettings(mode: .force)).extract(path: memo, displayPath: "memo.pdf")
    let first = try #require(doc.sections.first)
    #expect(first.ocr?.engine.hasPrefix("tesseract ") == true)
    #expect(first.text.contains("Memorandum"))
    #expect(TesseractEngine.version.hasPrefix("tesseract 5"))
  }

  @Test func aMissingLibraryIsOnePlainSentenceForTheFile() {
    let error = IngestError.libraryMissing(
      library: NativeLibrary.poppler.name, path: "in/memo.pdf", consequence: NativeLibrary.poppler.consequence)
    #expect(error.errorDescription == "poppler-glib is not installed: PDFs cannot be read; in/memo.pdf was not read.")
  }
}
