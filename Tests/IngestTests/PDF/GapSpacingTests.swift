import Foundation
import Testing
import _LongctxTestSupport

@testable import Ingest

@Suite struct GapSpacingTests {
  /// Boxes for `text` laid out left to right on one line from `x`, 6 points a glyph, 10 high.
  private static func line(_ text: String, x: Double, y: Double = 100) -> [GlyphBox] {
    text.unicodeScalars.indices.enumerated().map { i, _ in
      GlyphBox(x1: x + 6 * Double(i), y1: y, x2: x + 6 * Double(i + 1), y2: y + 10)
    }
  }

  private static func spaced(_ text: String, _ boxes: [GlyphBox]) -> String {
    var text = text
    let out = text.withUTF8 { bytes in boxes.withUnsafeBufferPointer { GapSpacing.insertingSpaces(bytes, boxes: $0) } }
    return out.map { String(decoding: $0, as: UTF8.self) } ?? text
  }

  @Test func tableCellsGetTheSpacePdftotextWrites() {
    // "1" at x 90, "Introduction" 16 points further right, as in libtasn1.pdf's contents.
    let boxes = Self.line("1", x: 90) + Self.line("Introduction", x: 112)
    #expect(Self.spaced("1Introduction", boxes) == "1 Introduction")
  }

  @Test func touchingGlyphsAndExistingSpacesStay() {
    #expect(Self.spaced("one word", Self.line("one word", x: 0)) == "one word")
    // A gap below a tenth of the height (kerning, merged words) is no word break.
    let boxes = Self.line("ab", x: 0) + Self.line("cd", x: 12.5)
    #expect(Self.spaced("abcd", boxes) == "abcd")
    // A gap next to a space or a newline needs nothing.
    let apart = Self.line("a ", x: 0) + Self.line("b", x: 40)
    #expect(Self.spaced("a b", apart) == "a b")
  }

  @Test func nextRowWithoutNewlineGetsASpace() {
    // "Lee" ends one table row, "1997" starts the next one below and to the left.
    let boxes = Self.line("Lee", x: 150, y: 100) + Self.line("1997", x: 70, y: 117)
    #expect(Self.spaced("Lee1997", boxes) == "Lee 1997")
  }

  @Test func rotatedTextIsLeftAlone() {
    // Glyphs stacked downwards in one column (text rotated 90°).
    let boxes = (0..<4).map { GlyphBox(x1: 50, y1: 100 + 6 * Double($0), x2: 60, y2: 106 + 6 * Double($0)) }
    #expect(Self.spaced("word", boxes) == "word")
  }

  @Test func nonASCIIAndMismatchedCounts() {
    // One box per scalar: "•" is 3 bytes but one box.
    let boxes = Self.line("•", x: 119) + Self.line("Apps", x: 129.5)
    #expect(Self.spaced("•Apps", boxes) == "• Apps")
    // A count that does not match the text leaves it as it is.
    #expect(Self.spaced("•Apps", Array(boxes.dropLast())) == "•Apps")
  }

  @Test func rightToLeftWordsGetTheSpacePopplerDrops() {
    // poppler writes "שלום" then "עולם" (each in RLE … PDF, glyphs left to
    // right) with no space: the second word lies 3 points left of the first.
    let first = Self.line("שלום", x: 100)
    let second = Self.line("עולם", x: 73)
    let text = "\u{202B}שלום\u{202C}\u{202B}עולם\u{202C}"
    #expect(Self.spaced(text, first + second) == "\u{202B}שלום\u{202C}\u{202B} עולם\u{202C}")
    // Within a word the glyphs touch: nothing to add.
    #expect(Self.spaced("\u{202B}שלום\u{202C}", first) == "\u{202B}שלום\u{202C}")
  }

  // MARK: - Real PDFs

  /// Page 3 (contents) and 8 (a grammar table) of libtasn1's manual, the
  /// pages the ingest benchmark found different from `pdftotext`.
  private static let libtasn1 = "/usr/share/doc/libtasn1-doc/libtasn1.pdf"

  @Test(.enabled(if: FileManager.default.fileExists(atPath: libtasn1)))
  func libtasn1ContentsAndGrammarTable() throws {
    let doc = try PDFExtractor().extract(path: Self.libtasn1, displayPath: "libtasn1.pdf")
    let page = { (n: Int) in doc.sections.first { $0.locator.page == n }?.text ?? "" }
    let normalised = { (s: String) in s.split(whereSeparator: \.isWhitespace).joined(separator: " ") }
    #expect(page(3).contains("1 Introduction"))
    #expect(page(3).contains("2 ASN.1 structure handling"))
    #expect(!page(3).contains("1Introduction"))
    #expect(normalised(page(8)).contains("nameString value nameString ... value"))
  }

  /// A contents table typeset like `Samples/pdf-sources` (groff `-ms`), rows
  /// far enough apart that poppler sees a table and joins each row's cells.
  @Test(.enabled(if: have("groff")))
  func groffContentsTable() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let source = """
      .LP
      Contents
      .vs 30p
      .TS
      l l.
      1\tIntroduction
      2\tStructure handling
      3\tUtilities
      .TE
      .vs 12p
      .LP
      Plain text after the table, with ordinary words and spaces.

      """
    try source.write(to: dir.url.appendingPathComponent("contents.ms"), atomically: true, encoding: .utf8)
    try #require(try shell("groff -t -ms -Tpdf contents.ms > contents.pdf", in: dir.url) == 0)
    let doc = try PDFExtractor().extract(
      path: dir.url.appendingPathComponent("contents.pdf").path, displayPath: "contents.pdf")
    let lines = doc.sections.first?.text.split(separator: "\n").map(String.init) ?? []
    #expect(lines.contains("1 Introduction"))
    #expect(lines.contains("2 Structure handling"))
    #expect(lines.contains("3 Utilities"))
    #expect(lines.contains("Plain text after the table, with ordinary words and spaces."))
  }
}
