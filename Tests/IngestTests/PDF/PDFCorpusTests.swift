import Foundation
import Testing

@testable import Ingest

/// Where the development corpus's PDFs are (`LONGCTX_PDF_CORPUS` overrides).
enum PDFCorpus {
  static let root = ProcessInfo.processInfo.environment["LONGCTX_PDF_CORPUS"] ?? "/work/shared/corpus/pdf"
  static var available: Bool { FileManager.default.fileExists(atPath: root + "/pdfjs") }
}

/// Text `pdftotext` finds in real PDFs of the development corpus
/// (`/work/shared/corpus/pdf`, pdf.js test files) and the extractor used to
/// lose: form values, annotations, right-to-left lines.
@Suite(.enabled(if: PDFCorpus.available, "needs the development corpus at \(PDFCorpus.root)"))
struct PDFCorpusTests {
  static let root = PDFCorpus.root

  /// The lines of `file`'s page `page`.
  private static func lines(_ file: String, page: Int = 1) throws -> [String] {
    let doc = try PDFExtractor().extract(path: "\(root)/\(file)", displayPath: file)
    let section = try #require(doc.sections.first { $0.locator.page == page })
    return section.text.components(separatedBy: "\n")
  }

  @Test func choiceWidgetValues() throws {
    let lines = try Self.lines("pdfjs/annotation-choice-widget.pdf")
    let options = "(choices: Lorem, Ipsum, Dolor, Sit, Amet, Consectetur, Adipiscing, Elit)"
    // The page text (the labels) stays as it was, the values follow it.
    #expect(lines.prefix(2) == ["Combo box", "Combo box, read-only"])
    #expect(lines.contains("[form field Combo box] Dolor"))
    #expect(lines.contains("[form field List box, single selection] Sit \(options)"))
    #expect(lines.contains("[form field List box, multiple selection] Ipsum, Amet, Consectetur, Elit \(options)"))
    #expect(lines.contains("[form field List box, read-only] \(options)"))
    // A combo box with nothing chosen says nothing.
    #expect(!lines.contains { $0.hasPrefix("[form field Combo box, read-only]") })
  }

  @Test func eSignatureStampCommentsAndTextField() throws {
    let lines = try Self.lines("pdfjs/issue17069.pdf")
    #expect(lines.contains("[form field SBKrAnB9R3g9] E-SIGNED by tt tt on 2023-03-07 09:28:29 GMT"))
    #expect(lines.contains("[form field text field 1] test value"))
    #expect(lines.contains("[annotation FreeText by deric] text comment"))
    #expect(lines.contains("[annotation Text by deric] sticky note test1"))
    #expect(lines.contains("Test doc"))
  }

  @Test func hebrewLinesInLogicalOrder() throws {
    let lines = try Self.lines("pdfjs/issue11656.pdf")
    #expect(lines.count == 4)
    #expect(
      Array(lines.prefix(3)) == [
        "שלום עולם מה שלום כולם?",
        "אני יורד מן החוטים, אני כבר ילד אמיתי.",
        "כמו כל הילדים.",
      ])
    #expect(lines.last?.hasPrefix("לחיוב פעולות אלה לפי סעיף 15") == true)
    // No bidi embedding controls are left around the words.
    #expect(!lines.joined().unicodeScalars.contains { (0x202A...0x202E).contains($0.value) })
  }

  @Test func arabicLinesAllThere() throws {
    // issue5677.pdf writes with Arabic presentation forms: "عذراً." "إشترى" "ماذا؟" "السّيّدة".
    let lines = try Self.lines("pdfjs/issue5677.pdf")
    #expect(
      lines == [
        "\u{FECB}\u{FEAC}\u{0631}\u{0627}\u{064B}.",
        "\u{0625}\u{FEB7}\u{FE98}\u{FEAE}\u{0649}",
        "\u{FEE3}\u{FE8E}\u{0630}\u{0627}\u{061F}",
        "\u{0627}\u{FEDF}\u{FEB4}\u{0651}\u{FEF4}\u{0651}\u{FEAA}\u{0629}",
      ])
    // "انواع الخطوط العربية" four times, in presentation forms, words apart.
    let title =
      "\u{0627}\u{FEE7}\u{FEEE}\u{0627}\u{0639} \u{0627}\u{FCCB}\u{FEC4}\u{FEEE}\u{0637} "
      + "\u{0627}\u{FEDF}\u{FECC}\u{FEAE}\u{FE91}\u{FEF4}\u{FE94}"
    #expect(try Self.lines("pdfjs/ArabicCIDTrueType.pdf") == Array(repeating: title, count: 4))
  }

  @Test func paragraphsAfterArabicOnALeftToRightPage() throws {
    // Page 6: English, Spanish, Arabic, then Japanese; the Arabic line in logical order.
    let lines = try Self.lines("pdfjs/issue19971.pdf", page: 6)
    #expect(lines.contains { $0.contains("هذه فقرة إضافية أطول") })
    #expect(lines.contains { $0.hasPrefix("これは追加の長い段落です。") })
    #expect(lines.contains { $0.hasPrefix("地理を学ぶことで、") })
    #expect(lines.contains("y oportunidades que enfrenta la humanidad."))
  }
}
