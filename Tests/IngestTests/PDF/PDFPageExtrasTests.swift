import Foundation
import Testing

@testable import Ingest

@Suite struct PDFPageExtrasTests {
  @Test func formFieldLines() {
    let list = PDFFormField.Value.choice(selected: ["Sit"], options: ["Lorem", "Sit"])
    #expect(PDFFormField(name: "List", value: list).line == "[form field List] Sit (choices: Lorem, Sit)")
    let combo = PDFFormField.Value.choice(selected: ["Dolor"], options: nil)
    #expect(PDFFormField(name: "Combo", value: combo).line == "[form field Combo] Dolor")
    #expect(PDFFormField(name: "Combo", value: .choice(selected: [], options: nil)).line == nil)
    #expect(PDFFormField(name: "Agree", value: .checked).line == "[form field Agree] checked")
    // A multi-line value stays on its line.
    #expect(PDFFormField(name: "Notes", value: .text("one\ntwo  three")).line == "[form field Notes] one two three")
    #expect(PDFFormField(name: "Empty", value: .text(" \n")).line == nil)
  }

  @Test func annotationLines() {
    #expect(PDFAnnotation(type: "Text", author: "deric", text: "a\nnote").line == "[annotation Text by deric] a note")
    #expect(PDFAnnotation(type: "Stamp", author: nil, text: "APPROVED").line == "[annotation Stamp] APPROVED")
    #expect(PDFAnnotation(type: "Highlight", author: "x", text: "  ").line == nil)
  }

  @Test func repeatedLinesOnceEach() {
    let field = PDFFormField(name: "Name", value: .text("Ann"))
    let note = PDFAnnotation(type: "Text", author: nil, text: "see")
    #expect(
      PDFPageExtras.lines(fields: [field, field], annotations: [note])
        == ["[form field Name] Ann", "[annotation Text] see"])
  }

  @Test func appearanceTextLessThePageTextBeneath() {
    #expect(
      PDFPageExtras.subtractingWords(of: "Sign here", from: "Sign here\nE-SIGNED by tt\non 2023-03-07")
        == "E-SIGNED by tt on 2023-03-07")
    // Each word underneath takes away one occurrence only.
    #expect(PDFPageExtras.subtractingWords(of: "a", from: "a a b") == "a b")
  }

  @Test func bidiEmbeddingsRemoved() {
    #expect(PDFPageExtras.removingBidiEmbeddings("\u{202B}שלום\u{202C} \u{202A}15\u{202C}") == "שלום 15")
    #expect(PDFPageExtras.visibleCount("\u{202B}אב\u{202C} c") == 3)
  }
}

@Suite struct PageLinesTests {
  @Test func rightToLeftWordsOfALeftToRightLineInLogicalOrder() {
    // poppler: the words left to right, each reversed on its own inside RLE … PDF.
    let line = "Intro: \u{202B}دراس\u{202C} \u{202B}إنه\u{202C} \u{202B}المواقع\u{202C} end"
    #expect(PageLines.logicalOrder(ofLeftToRightLine: line) == "Intro: المواقع إنه دراس end")
    #expect(PageLines.logicalOrder(ofLeftToRightLine: "plain text") == "plain text")
  }

  private static func box(_ y: Double, _ x1: Double = 72, _ x2: Double = 500) -> GlyphBox {
    GlyphBox(x1: x1, y1: y, x2: x2, y2: y + 12)
  }

  @Test func mergingAddsMissingLinesInPlace() {
    let base = [PageLine(text: "one", box: Self.box(100)), PageLine(text: "three", box: Self.box(140))]
    let extra = [
      PageLine(text: "one", box: Self.box(100)), PageLine(text: "two", box: Self.box(120)),
      PageLine(text: "four", box: Self.box(160)),
    ]
    #expect(PageLines.merging(base, extra).map(\.text) == ["one", "two", "three", "four"])
  }

  @Test func mergingReplacesALineCutShort() {
    let base = [PageLine(text: "a line cut", box: Self.box(100, 72, 200))]
    let extra = [PageLine(text: "a line cut short by poppler", box: Self.box(100, 72, 400))]
    #expect(PageLines.merging(base, extra).map(\.text) == ["a line cut short by poppler"])
    // A shorter line over it does not replace it; a line without a box is not placed.
    #expect(PageLines.merging(extra, base).map(\.text) == ["a line cut short by poppler"])
    #expect(PageLines.merging(base, [PageLine(text: "where?")]).map(\.text) == ["a line cut"])
  }

  @Test func linesTakeTheirBoxes() {
    // "ab\ncd": one box per scalar, the line end too.
    let boxes = [
      GlyphBox(x1: 0, y1: 0, x2: 6, y2: 10), GlyphBox(x1: 6, y1: 0, x2: 12, y2: 10),
      GlyphBox(x1: 12, y1: 0, x2: 12, y2: 10),
      GlyphBox(x1: 0, y1: 20, x2: 6, y2: 30), GlyphBox(x1: 6, y1: 20, x2: 12, y2: 30),
    ]
    let lines = PageLine.lines("ab\ncd", boxes: boxes)
    #expect(lines.map(\.text) == ["ab", "cd"])
    #expect(lines.map(\.box) == [GlyphBox(x1: 0, y1: 0, x2: 12, y2: 10), GlyphBox(x1: 0, y1: 20, x2: 12, y2: 30)])
    // Counts that disagree: the lines without boxes.
    #expect(PageLine.lines("ab\ncd", boxes: Array(boxes.dropLast())).map(\.box) == [nil, nil])
  }

  @Test func byteCountsAgreeWithUnicodeProperties() {
    // The whitespace table is Unicode's White_Space property, scalar for scalar.
    var differ: [UInt32] = []
    for value in UInt32(0)...0x10FFFF {
      guard let scalar = Unicode.Scalar(value) else { continue }
      if PDFPageExtras.isWhitespace(value) != scalar.properties.isWhitespace { differ.append(value) }
    }
    #expect(differ.isEmpty)
    let samples = [
      "", " \n\t", "a b", "Ünïcödé\u{00A0}text\u{3000}end", "\u{202B}שלום\u{202C} x", "\u{2028}\u{0085}",
      "emoji 🧾 and 中文", "\u{202A}\u{202E}",
    ]
    for text in samples {
      let reference = text.unicodeScalars.filter {
        !$0.properties.isWhitespace && !(0x202A...0x202E).contains($0.value)
      }.count
      #expect(PDFPageExtras.visibleCount(text) == reference, "\(text)")
      #expect(PDFPageExtras.visibleCount(text, atMost: 2) == min(2, reference), "\(text)")
      #expect(PDFPageExtras.isBlank(text) == text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(text)")
      #expect(
        PDFPageExtras.containsRightToLeft(text) == text.unicodeScalars.contains(where: PDFPageExtras.isRightToLeft))
    }
  }

  @Test func spacedTextIsTheLinesJoined() {
    // "ab\ncd" with a table gap between c and d: one string, as the lines joined.
    let boxes = [
      GlyphBox(x1: 0, y1: 0, x2: 6, y2: 10), GlyphBox(x1: 6, y1: 0, x2: 12, y2: 10),
      GlyphBox(x1: 12, y1: 0, x2: 12, y2: 10),
      GlyphBox(x1: 0, y1: 20, x2: 6, y2: 30), GlyphBox(x1: 30, y1: 20, x2: 36, y2: 30),
    ]
    let joined = boxes.withUnsafeBufferPointer { PageLine.spacedText("ab\ncd", boxes: $0) }
    #expect(joined == "ab\nc d")
    #expect(joined == PageLine.lines("ab\ncd", boxes: boxes).map(\.text).joined(separator: "\n"))
    // Counts that disagree: the text as poppler gave it.
    #expect(Array(boxes.dropLast()).withUnsafeBufferPointer { PageLine.spacedText("ab\ncd", boxes: $0) } == "ab\ncd")
  }
}
