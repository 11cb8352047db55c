import Foundation
import Testing
import _LongctxTestSupport

@testable import Ingest

/// The Office extractor on small packages the tests write themselves: runs everywhere.
@Suite struct OfficeExtractorTests {
  @Test func wordMarksRevisionsHiddenTextAndNotes() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    // Named .bin: the flavour comes from the package, not the name.
    let extraction = try OfficeFixtures.extract(OfficeFixtures.word(), name: "memo.bin", in: dir.url)
    let document = try #require(extraction.document)
    let paragraphs = document.sections.flatMap { $0.text.components(separatedBy: "\n") }
    #expect(
      paragraphs == [
        "Hello world",
        "The fee is [deleted: 100][inserted: 200] dollars.",
        "Visible [hidden: secret note]",
        "Item | Price",
        "Apple | 3",
        "Boxed text",
        "Before box",
        "[header] Confidential",
        "[footnote 1] See the contract.",
        "[comment by Jane Doe] Check this figure.",
      ])
    #expect(document.sections.first?.locator.description == "memo.bin#para=1-7")
    #expect(document.sections.map { $0.locator.paragraph ?? 0 } == [1, 8, 9, 10])
    #expect(
      document.warnings.contains(
        "the document holds tracked changes (1 insertion, 1 deletion; marked [inserted: …] / [deleted: …]); "
          + "1 comment; hidden text in 1 place (marked [hidden: …])"))
    #expect(document.title == "Tiny & small")
    #expect(document.metadata["author"] == "Jane Doe")
    #expect(document.metadata["lastModifiedBy"] == "John Roe")
    #expect(document.metadata["created"] == "2024-01-02T03:04:05Z")
    #expect(document.metadata["revision"] == "7")
    #expect(document.metadata["company"] == "Acme")
    #expect(document.metadata["application"] == "Microsoft Office Word")
    #expect(document.metadata["paragraphs"] == "7")
    #expect(document.kind == .office && document.extractor == DocumentKind.office.extractorVersion)
    let child = try #require(extraction.children.first)
    #expect(extraction.children.count == 1)
    #expect(child.suffix == "#object=oleObject1.bin" && child.fileName == "oleObject1.bin" && child.kind == nil)
    #expect(child.payload == Data("embedded payload".utf8))
  }

  @Test func workbookValuesFormulasDatesAndHiddenThings() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let document = try #require(
      try OfficeFixtures.extract(OfficeFixtures.excel(), name: "book.xlsx", in: dir.url).document)
    #expect(
      document.sections.map(\.locator.description) == [
        "book.xlsx#sheet=Data!A1:D5", "book.xlsx#sheet=Data", "book.xlsx#sheet=Secret!A1:A1",
        "book.xlsx#sheet=Deep!B2:B2",
      ])
    #expect(
      document.sections[0].text == """
        A1: Name | B1: Total | C1: [hidden column] side
        A2: 1.5 | B2: 2024-01-01 | D2: 12.5%
        [hidden row] A3: TRUE | B3: #DIV/0! | D3: =SUM(A2:A2) → 1.5
        A5: 2024-01-01T12:00:00 | B5: =A1&"!" → Name!
        """)
    #expect(document.sections[1].text == "[footer] Draft | Page [page] of [pages]")
    #expect(document.sections[2].text == "[hidden sheet] A1: hidden value")
    #expect(document.sections[3].text == "[very hidden sheet] B2: 42")
    #expect(document.metadata["sheets"] == "3")
    #expect(
      document.warnings.contains(
        "the workbook holds 1 hidden row in \"Data\"; hidden column C in \"Data\"; sheet \"Secret\" is hidden; "
          + "sheet \"Deep\" is very hidden"))
  }

  @Test func slidesInPresentationOrderWithNotesAndHiddenFlag() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let document = try #require(
      try OfficeFixtures.extract(OfficeFixtures.powerpoint(), name: "deck", in: dir.url).document)
    #expect(document.sections.map(\.locator.description) == ["deck#slide=1", "deck#slide=2"])
    #expect(document.sections[0].text == "Opening\nAgenda")
    #expect(document.sections[1].text == "[hidden slide]\nResults\nQ1 | 10\n[notes] Say the numbers slowly.")
    #expect(document.pageCount == 2 && document.metadata["slides"] == "2")
    #expect(document.warnings.contains("the presentation holds 1 hidden slide (2); speaker notes on 1 slide"))
  }

  @Test func refusesBombsLyingHeadersAndNonOffice() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    // 16 MB of zeros deflate about 1000:1, past the 500:1 limit for large parts.
    var parts = OfficeFixtures.word()
    parts[parts.firstIndex { $0.0 == "word/document.xml" } ?? 0].1 = Data(count: 16 << 20)
    #expect(throws: IngestError.decompressionBomb(path: "bomb.docx (part word/document.xml)", limit: 8 << 20)) {
      try OfficeFixtures.extract(parts, name: "bomb.docx", in: dir.url)
    }
    // A part that inflates past the size its header states is stopped there.
    let liar = dir.url.appendingPathComponent("liar.docx")
    try OfficeFixtures.zip(OfficeFixtures.word(), declaredSize: ["word/document.xml": 100]).write(to: liar)
    let options = IngestOptions(base: dir.url)
    #expect(throws: IngestError.decompressionBomb(path: "liar.docx (part word/document.xml)", limit: 100)) {
      try OfficeExtractor().extract(ExtractionInput(path: liar.path, displayPath: "liar.docx", options: options))
    }
    // A ZIP that is not an Office document, and a file that is not a ZIP.
    #expect(
      throws: IngestError.officeUnreadable(
        path: "other.zip", reason: "it holds no Word, Excel or PowerPoint main part")
    ) { try OfficeFixtures.extract([("readme.txt", Data("hi".utf8))], name: "other.zip", in: dir.url) }
    let text = dir.url.appendingPathComponent("plain.docx")
    try Data("just text, not a zip".utf8).write(to: text)
    #expect(
      throws: IngestError.officeUnreadable(
        path: "plain.docx", reason: "it is not a ZIP archive, or its ZIP directory is missing (a truncated file?)")
    ) { try OfficeExtractor().extract(ExtractionInput(path: text.path, displayPath: "plain.docx", options: options)) }
  }

  @Test func truncatedPartsKeepWhatCameBefore() throws {
    let xml = Array("<w:document><w:body><w:p><w:r><w:t>First</w:t></w:r></w:p><w:p><w:r><w:t>Sec".utf8)
    let flow = TextFlowReader.read(xml)
    #expect(flow.paragraphs.map(\.text) == ["First", "Sec"])
  }

  @Test func hugeSheetsAndTextsAreCutAtTheirBudget() throws {
    let parts = MemoryParts(parts: [("xl/workbook.xml", Array("<workbook/>".utf8))])
    var reader = SheetReader(workbook: try Workbook(parts, main: "xl/workbook.xml"), cellBudget: 3, byteBudget: 1 << 20)
    let rows = (1...5).map { "<row r=\"\($0)\"><c r=\"A\($0)\"><v>\($0)</v></c></row>" }.joined()
    let sheet = reader.rows(Array("<worksheet><sheetData>\(rows)</sheetData></worksheet>".utf8))
    #expect(sheet.map(\.number) == [1, 2, 3])
    #expect(reader.cut && reader.cellBudget == 0)
    let flow = TextFlowReader.read(
      Array("<p><r><t>0123456789</t></r></p><p><r><t>more</t></r></p>".utf8), textLimit: 12)
    #expect(flow.paragraphs.map(\.text) == ["0123456789"])
    #expect(flow.truncated)
  }

  @Test func scannerDecodesEntitiesButExpandsNoneDeclared() {
    let xml = Array(
      """
      <?xml version="1.0"?><!DOCTYPE d [<!ENTITY boom "BOOM">]><d a="x &amp; &quot;y&quot;">&boom;&lt;&#x41;&#66;\
      <![CDATA[<raw>&amp;]]><!-- note --><e/></d>
      """.utf8)
    var scanner = XMLScanner(xml)
    var text = ""
    var events: [String] = []
    while let token = scanner.next() {
      switch token {
      case .start(let tag): events.append("<\(tag.name) \(tag.attributes.map { "\($0.name)=\($0.value)" })>")
      case .end(let name): events.append("</\(name)>")
      case .text(let range, let cdata): text += scanner.text(range, cdata: cdata)
      }
    }
    #expect(text == "&boom;<AB<raw>&amp;")
    #expect(events == ["<d [\"a=x & \\\"y\\\"\"]>", "<e []>", "</e>", "</d>"])
  }

  @Test func packagerStreamGivesTheAttachedFile() throws {
    func le32(_ value: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
    let temp = Array("C:\\t\\note.txt\0".utf8)
    let body =
      [2, 0] + Array("note#1.txt\0".utf8) + Array("C:\\tmp\\note.txt\0".utf8) + le32(0x0003_0000) + le32(temp.count)
      + temp + le32(11) + Array("hello world".utf8)
    let attached = try #require(EmbeddedObject.ole10Native(Data(le32(body.count) + body)))
    #expect(attached.name == "note_1.txt")
    #expect(attached.payload == Data("hello world".utf8))
    #expect(EmbeddedObject.ole10Native(Data([1, 2, 3])) == nil)
    // Not an OLE2 file: passed on as it stands.
    #expect(EmbeddedObject.unwrap(Data("plain".utf8), name: "a.bin").name == "a.bin")
  }

  @Test func cellFormatsAndReferences() {
    #expect(CellFormat.parse("$AB$12").map { [$0.column, $0.row] } == [28, 12])
    #expect(CellFormat.parse("12") == nil)
    #expect(CellFormat.columnName(703) == "AAA")
    #expect(CellFormat.general("0.10000000000000001") == "0.1")
    #expect(CellFormat.general("1E+20") == "1e+20")
    #expect(CellFormat.kind(id: 164, code: "[$-409]d-mmm-yy;@") == .date)
    #expect(CellFormat.kind(id: 165, code: "#,##0.00 \"days\"") == .number)
    #expect(CellFormat.kind(id: 166, code: "[h]:mm:ss") == .time)
    #expect(CellFormat.kind(id: 167, code: "mm:ss") == .time)
    #expect(CellFormat.kind(id: 168, code: "dd/mm/yyyy hh:mm") == .dateTime)
    #expect(CellFormat.kind(id: 169, code: "mmm yyyy") == .date)
    #expect(CellFormat.kind(id: 170, code: "[$USD] #,##0") == .number)
    #expect(CellFormat.kind(id: 171, code: "General") == .number)
    #expect(CellFormat.isoDate("1", kind: .date, date1904: false) == "1900-01-01")
    #expect(CellFormat.isoDate("61", kind: .date, date1904: false) == "1900-03-01")
    #expect(CellFormat.isoDate("0", kind: .date, date1904: true) == "1904-01-01")
    #expect(CellFormat.isoDate("0.75", kind: .time, date1904: false) == "18:00:00")
    #expect(CellFormat.headerFooterText("&L&\"Arial,Bold\"&14Title&R&D") == "Title | [date]")
  }
}
