import Foundation
import Testing
import _LongctxTestSupport

@testable import Ingest

/// Word's list labels, text boxes in reading order, and chart text, on packages the tests write.
@Suite struct OfficeListsChartsTests {
  static let r = "xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\""
  static let c = "xmlns:c=\"http://schemas.openxmlformats.org/drawingml/2006/chart\""
  static let a = "xmlns:a=\"http://schemas.openxmlformats.org/drawingml/2006/main\""

  /// A chart part: a title, an axis title and two series over three quarters.
  static let chart = """
    <c:chartSpace \(c) \(a)><c:chart><c:title><c:tx><c:rich><a:p><a:r><a:t>Revenue by quarter</a:t></a:r></a:p>\
    </c:rich></c:tx></c:title><c:plotArea><c:barChart>\
    <c:ser><c:tx><c:strRef><c:strCache><c:pt idx="0"><c:v>North</c:v></c:pt></c:strCache></c:strRef></c:tx>\
    <c:cat><c:strRef><c:strCache><c:pt idx="0"><c:v>Q1</c:v></c:pt><c:pt idx="1"><c:v>Q2</c:v></c:pt>\
    <c:pt idx="2"><c:v>Q3</c:v></c:pt></c:strCache></c:strRef></c:cat>\
    <c:val><c:numRef><c:numCache><c:pt idx="0"><c:v>10</c:v></c:pt><c:pt idx="1"><c:v>12.5</c:v></c:pt>\
    <c:pt idx="2"><c:v>9</c:v></c:pt></c:numCache></c:numRef></c:val></c:ser>\
    <c:ser><c:tx><c:v>South</c:v></c:tx><c:cat><c:strRef><c:strCache><c:pt idx="0"><c:v>Q1</c:v></c:pt>\
    <c:pt idx="1"><c:v>Q2</c:v></c:pt><c:pt idx="2"><c:v>Q3</c:v></c:pt></c:strCache></c:strRef></c:cat>\
    <c:val><c:numRef><c:numCache><c:pt idx="0"><c:v>7</c:v></c:pt><c:pt idx="2"><c:v>8</c:v></c:pt>\
    </c:numCache></c:numRef></c:val></c:ser></c:barChart>\
    <c:valAx><c:title><c:tx><c:rich><a:p><a:r><a:t>EUR </a:t></a:r><a:r><a:t>millions</a:t></a:r></a:p></c:rich></c:tx>\
    </c:title></c:valAx></c:plotArea></c:chart></c:chartSpace>
    """

  static let expectedChart = [
    "[chart] Revenue by quarter", "[chart axis] EUR millions", "[chart series] North: Q1 10 | Q2 12.5 | Q3 9",
    "[chart series] South: Q1 7 | Q3 8",
  ]

  /// Numbered and bulleted paragraphs (direct, by style, nested, restarted), a text box and a chart.
  static func word() -> [(String, Data)] {
    let w = OfficeFixtures.w
    func item(_ text: String, num: String? = nil, level: Int = 0, style: String? = nil) -> String {
      var pPr = style.map { "<w:pStyle w:val=\"\($0)\"/>" } ?? ""
      if let num { pPr += "<w:numPr><w:ilvl w:val=\"\(level)\"/><w:numId w:val=\"\(num)\"/></w:numPr>" }
      return "<w:p><w:pPr>\(pPr)</w:pPr><w:r><w:t>\(text)</w:t></w:r></w:p>"
    }
    let document = """
      <w:document \(w) \(r) xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" \
      xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" \
      xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" \(a) \(c)><w:body>
      \(item("Terms"))\
      \(item("Scope", num: "1"))\
      \(item("Definitions", num: "1"))\
      \(item("Party", num: "1", level: 1))\
      \(item("Affiliate", num: "1", level: 1))\
      \(item("Payment", num: "1"))\
      \(item("Net thirty", num: "1", level: 1))\
      \(item("", num: "1"))\
      \(item("Notices", num: "1"))\
      \(item("Apples", num: "2"))\
      \(item("Pears", num: "2", level: 1))\
      \(item("Styled one", style: "ListNumber"))\
      \(item("Styled two", style: "ListNumber"))\
      \(item("Restarted", num: "3"))\
      \(item("Not numbered", num: "0"))\
      <w:p><w:r><w:t xml:space="preserve">See the box </w:t></w:r><w:r><mc:AlternateContent><mc:Choice Requires="wps">\
      <w:drawing><wp:anchor><a:graphic><a:graphicData><wps:wsp><wps:txbx><w:txbxContent>\
      <w:p><w:r><w:t>Boxed first</w:t></w:r></w:p><w:p><w:r><w:t>Boxed second</w:t></w:r></w:p>\
      </w:txbxContent></wps:txbx></wps:wsp></a:graphicData></a:graphic></wp:anchor></w:drawing></mc:Choice>\
      <mc:Fallback><w:pict><w:txbxContent><w:p><w:r><w:t>Boxed first</w:t></w:r></w:p></w:txbxContent></w:pict>\
      </mc:Fallback></mc:AlternateContent></w:r><w:r><w:t xml:space="preserve">and then read on.</w:t></w:r></w:p>\
      <w:p><w:r><w:drawing><wp:inline><a:graphic><a:graphicData><c:chart r:id="rId9"/></a:graphicData></a:graphic>\
      </wp:inline></w:drawing></w:r></w:p>\
      \(item("After the chart"))
      </w:body></w:document>
      """
    func level(_ ilvl: Int, _ format: String, _ text: String, start: Int = 1) -> String {
      "<w:lvl w:ilvl=\"\(ilvl)\"><w:start w:val=\"\(start)\"/><w:numFmt w:val=\"\(format)\"/><w:lvlText w:val=\"\(text)\"/></w:lvl>"
    }
    let numbering = """
      <w:numbering \(w)>\
      <w:abstractNum w:abstractNumId="10">\(level(0, "decimal", "%1."))\(level(1, "lowerLetter", "%2)"))</w:abstractNum>\
      <w:abstractNum w:abstractNumId="20">\(level(0, "bullet", "\u{F0B7}"))\(level(1, "bullet", "o"))</w:abstractNum>\
      <w:abstractNum w:abstractNumId="30">\(level(0, "upperRoman", "%1."))</w:abstractNum>\
      <w:abstractNum w:abstractNumId="40">\(level(0, "decimal", "Article %1", start: 1))</w:abstractNum>\
      <w:num w:numId="1"><w:abstractNumId w:val="10"/></w:num>\
      <w:num w:numId="2"><w:abstractNumId w:val="20"/></w:num>\
      <w:num w:numId="4"><w:abstractNumId w:val="30"/></w:num>\
      <w:num w:numId="3"><w:abstractNumId w:val="40"/><w:lvlOverride w:ilvl="0"><w:startOverride w:val="7"/>\
      </w:lvlOverride></w:num>\
      </w:numbering>
      """
    let styles = """
      <w:styles \(w)><w:style w:type="paragraph" w:styleId="ListBase"><w:pPr><w:numPr><w:numId w:val="4"/>\
      </w:numPr></w:pPr></w:style><w:style w:type="paragraph" w:styleId="ListNumber"><w:basedOn w:val="ListBase"/>\
      </w:style></w:styles>
      """
    let rels = OfficeFixtures.relationships([
      ("rId1", "numbering", "numbering.xml"), ("rId2", "styles", "styles.xml"), ("rId9", "chart", "charts/chart1.xml"),
    ])
    return OfficeFixtures.package(
      main: "word/document.xml", mainType: OfficeFixtures.wordMain,
      [
        ("word/document.xml", document), ("word/_rels/document.xml.rels", rels), ("word/numbering.xml", numbering),
        ("word/styles.xml", styles), ("word/charts/chart1.xml", chart),
      ])
  }

  @Test func wordListsShowTheirLabelsTextBoxesAndChartsStandInReadingOrder() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let extraction = try OfficeFixtures.extract(Self.word(), name: "lists.docx", in: dir.url)
    let document = try #require(extraction.document)
    let paragraphs = document.sections.flatMap { $0.text.components(separatedBy: "\n") }
    #expect(
      paragraphs
        == [
          "Terms", "1. Scope", "2. Definitions", "a) Party", "b) Affiliate", "3. Payment", "a) Net thirty",
          "5. Notices", "• Apples", "o Pears", "I. Styled one", "II. Styled two", "Article 7 Restarted", "Not numbered",
          "Boxed first", "Boxed second", "See the box and then read on.",
        ] + Self.expectedChart + ["After the chart"])
  }

  @Test func presentationChartsAreReadOnTheirSlide() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let pns =
      "xmlns:p=\"http://schemas.openxmlformats.org/presentationml/2006/main\" \(Self.a) \(Self.r) \(Self.c)"
    let presentation =
      "<p:presentation \(pns)><p:sldIdLst><p:sldId id=\"256\" r:id=\"rId1\"/></p:sldIdLst></p:presentation>"
    let slide = """
      <p:sld \(pns)><p:cSld><p:spTree><p:sp><p:txBody><a:p><a:r><a:t>Results</a:t></a:r></a:p></p:txBody></p:sp>\
      <p:graphicFrame><a:graphic><a:graphicData><c:chart r:id="rId2"/></a:graphicData></a:graphic></p:graphicFrame>\
      <p:sp><p:txBody><a:p><a:r><a:t>Questions?</a:t></a:r></a:p></p:txBody></p:sp></p:spTree></p:cSld></p:sld>
      """
    let parts = OfficeFixtures.package(
      main: "ppt/presentation.xml", mainType: OfficeFixtures.powerpointMain,
      [
        ("ppt/presentation.xml", presentation),
        ("ppt/_rels/presentation.xml.rels", OfficeFixtures.relationships([("rId1", "slide", "slides/slide1.xml")])),
        ("ppt/slides/slide1.xml", slide),
        (
          "ppt/slides/_rels/slide1.xml.rels",
          OfficeFixtures.relationships([("rId2", "chart", "../charts/chart3.xml")])
        ),
        ("ppt/charts/chart3.xml", Self.chart),
      ])
    let extraction = try OfficeFixtures.extract(parts, name: "deck.pptx", in: dir.url)
    let document = try #require(extraction.document)
    #expect(document.sections.count == 1)
    #expect(
      document.sections.first?.text.components(separatedBy: "\n")
        == ["Results"] + Self.expectedChart + ["Questions?"])
    #expect(document.sections.first?.locator.description == "deck.pptx#slide=1")
  }
}
