// libFuzzer harness: Office Open XML packages (ZipArchive, ZipParts,
// XMLScanner, TextFlowReader, Workbook, SheetReader, PresentationReader,
// OfficePackage, OfficeProperties, CellFormat, CompoundFile, EmbeddedObject).
// Compiled into module Ingest with Sources/Ingest/Office/*.swift except
// OfficeExtractor.swift and OfficeDecryption.swift (swift-crypto), plus
// Sources/Ingest/Model/Locator.swift and the CZlib module map (scripts/fuzz.sh).
// Input: a ZIP (a whole package: seeds are tiny docx/xlsx/pptx), the same
// bytes as the XML of every kind of part, and as an OLE2 embedded object.
import Foundation

private let wordTypes = """
  <Types><Override PartName="/word/document.xml" \
  ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>
  """
private let excelTypes = """
  <Types><Override PartName="/xl/workbook.xml" \
  ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>
  """
private let workbookRels = """
  <Relationships><Relationship Id="rId1" Type="x/worksheet" Target="worksheets/sheet1.xml"/>\
  <Relationship Id="rId2" Type="x/sharedStrings" Target="sharedStrings.xml"/>\
  <Relationship Id="rId3" Type="x/styles" Target="styles.xml"/></Relationships>
  """
private let workbook = "<workbook><sheets><sheet name=\"S\" r:id=\"rId1\"/></sheets></workbook>"
private let presentationRels = """
  <Relationships><Relationship Id="rId1" Type="x/slide" Target="slides/slide1.xml"/></Relationships>
  """
private let presentation = "<presentation><sldIdLst><sldId r:id=\"rId1\"/></sldIdLst></presentation>"

private func check(_ content: OfficeContent) {
  for section in content.sections {
    precondition(!section.locator.path.isEmpty, "a section cites its file")
    if let first = section.locator.paragraph { precondition(first >= 1, "paragraphs are 1-based") }
    if let cells = section.locator.cells { precondition(Locator.isCellRange(Substring(cells)), "a cell range") }
  }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOOXML(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  // As a package.
  if let parts = try? ZipParts(data: Data(bytes)), let content = try? OfficePackage.read(parts, path: "f") {
    check(content)
  }
  // As the XML of each kind of part.
  let u = { (text: String) in Array(text.utf8) }
  _ = TextFlowReader.read(bytes)
  _ = TextFlowReader.read(bytes, droppedPlaceholders: ["sldNum"])
  let word = MemoryParts(parts: [
    ("[Content_Types].xml", u(wordTypes)), ("word/document.xml", bytes),
  ])
  if let content = try? OfficePackage.read(word, path: "w") { check(content) }
  for target in ["xl/worksheets/sheet1.xml", "xl/sharedStrings.xml", "xl/styles.xml", "xl/workbook.xml"] {
    var parts: [(name: String, bytes: [UInt8])] = [
      ("[Content_Types].xml", u(excelTypes)), ("xl/_rels/workbook.xml.rels", u(workbookRels)),
      ("xl/workbook.xml", u(workbook)),
    ]
    parts.removeAll { $0.name == target }
    parts.append((target, bytes))
    if let content = try? OfficePackage.read(MemoryParts(parts: parts), path: "x") { check(content) }
  }
  let slides = MemoryParts(parts: [
    ("ppt/presentation.xml", u(presentation)), ("ppt/_rels/presentation.xml.rels", u(presentationRels)),
    ("ppt/slides/slide1.xml", bytes), ("docProps/core.xml", bytes),
  ])
  if let content = try? OfficePackage.read(slides, path: "p") { check(content) }
  // As an embedded object (OLE2 packager or package) and an Ole10Native stream.
  _ = EmbeddedObject.unwrap(Data(bytes), name: "object.bin")
  _ = EmbeddedObject.ole10Native(Data(bytes))
  let text = String(decoding: bytes.prefix(256), as: UTF8.self)
  _ = CellFormat.kind(id: 200, code: text)
  _ = CellFormat.headerFooterText(text)
  _ = CellFormat.parse(text)
  _ = CellFormat.isoDate(text, kind: .dateTime, date1904: false)
  return 0
}
