import CZlib
import Foundation
import _LongctxTestSupport

@testable import Ingest

/// Small OOXML packages written by the tests themselves (no shared corpus needed).
enum OfficeFixtures {
  static let wordMain = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
  static let excelMain = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
  static let powerpointMain = "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"

  /// Writes a ZIP of `parts` (name, bytes) at `url`, each entry deflated.
  static func write(_ parts: [(String, Data)], to url: URL) throws {
    try zip(parts).write(to: url)
  }

  /// A ZIP of `parts`, deflated with zlib; `declaredSize` overrides an entry's stated uncompressed size.
  static func zip(_ parts: [(String, Data)], declaredSize: [String: UInt32] = [:]) -> Data {
    var out = Data()
    var directory = Data()
    func le16(_ value: Int, _ data: inout Data) {
      data.append(contentsOf: [UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF)])
    }
    func le32(_ value: UInt32, _ data: inout Data) {
      data.append(contentsOf: [
        UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 24),
      ])
    }
    for (name, payload) in parts {
      let packed = deflate(payload)
      let crc = payload.withUnsafeBytes { UInt32(crc32(0, $0.bindMemory(to: UInt8.self).baseAddress, uInt($0.count))) }
      let size = declaredSize[name] ?? UInt32(payload.count)
      let offset = UInt32(out.count)
      let nameBytes = Data(name.utf8)
      func common(_ data: inout Data) {
        le16(20, &data)
        le16(0, &data)
        le16(8, &data)
        le32(0, &data)
        le32(crc, &data)
        le32(UInt32(packed.count), &data)
        le32(size, &data)
        le16(nameBytes.count, &data)
        le16(0, &data)
      }
      le32(0x0403_4b50, &out)
      common(&out)
      out.append(nameBytes)
      out.append(packed)
      le32(0x0201_4b50, &directory)
      le16(20, &directory)
      common(&directory)
      le16(0, &directory)
      le16(0, &directory)
      le16(0, &directory)
      le32(0, &directory)
      le32(offset, &directory)
      directory.append(nameBytes)
    }
    let directoryOffset = UInt32(out.count)
    out.append(directory)
    le32(0x0605_4b50, &out)
    le16(0, &out)
    le16(0, &out)
    le16(parts.count, &out)
    le16(parts.count, &out)
    le32(UInt32(directory.count), &out)
    le32(directoryOffset, &out)
    le16(0, &out)
    return out
  }

  /// Raw deflate (no zlib header), as ZIP stores it.
  static func deflate(_ data: Data) -> Data {
    var stream = z_stream()
    deflateInit2_(
      &stream, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
    defer { deflateEnd(&stream) }
    var input = [UInt8](data)
    var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(input.count))) + 64)
    let produced = input.withUnsafeMutableBufferPointer { inBuffer in
      output.withUnsafeMutableBufferPointer { outBuffer -> Int in
        stream.next_in = inBuffer.baseAddress
        stream.avail_in = uInt(inBuffer.count)
        stream.next_out = outBuffer.baseAddress
        stream.avail_out = uInt(outBuffer.count)
        _ = CZlib.deflate(&stream, Z_FINISH)
        return outBuffer.count - Int(stream.avail_out)
      }
    }
    return Data(output[0..<produced])
  }

  /// A package: `[Content_Types].xml` naming `main` as `mainType`, the root relationship to it, and `parts`.
  static func package(main: String, mainType: String, _ parts: [(String, String)], binary: [(String, Data)] = [])
    -> [(String, Data)]
  {
    let types = """
      <?xml version="1.0" encoding="UTF-8"?>
      <Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
      <Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
      <Default Extension="xml" ContentType="application/xml"/>
      <Override PartName="/\(main)" ContentType="\(mainType)"/>
      </Types>
      """
    let rels = """
      <?xml version="1.0" encoding="UTF-8"?>
      <Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
      <Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="\(main)"/>
      <Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>
      <Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" Target="docProps/app.xml"/>
      </Relationships>
      """
    let core = """
      <?xml version="1.0" encoding="UTF-8"?>
      <cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" \
      xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/">
      <dc:title>Tiny &amp; small</dc:title><dc:creator>Jane Doe</dc:creator><cp:lastModifiedBy>John Roe</cp:lastModifiedBy>
      <dcterms:created>2024-01-02T03:04:05Z</dcterms:created><cp:revision>7</cp:revision>
      </cp:coreProperties>
      """
    let app = """
      <?xml version="1.0" encoding="UTF-8"?>
      <Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">
      <Application>Microsoft Office Word</Application><Company>Acme</Company></Properties>
      """
    let text =
      [("[Content_Types].xml", types), ("_rels/.rels", rels), ("docProps/core.xml", core), ("docProps/app.xml", app)]
      + parts
    return text.map { ($0.0, Data($0.1.utf8)) } + binary
  }

  static func relationships(_ items: [(id: String, type: String, target: String)]) -> String {
    let body = items.map {
      "<Relationship Id=\"\($0.id)\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/\($0.type)\" Target=\"\($0.target)\"/>"
    }.joined()
    return
      "<?xml version=\"1.0\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
      + body + "</Relationships>"
  }

  static let w = "xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\""

  /// A Word document with tracked changes, hidden text, a table, a text box (with its fallback copy),
  /// a header, a footnote, a comment and an embedded object.
  static func word() -> [(String, Data)] {
    let document = """
      <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
      <w:document \(w) xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006">
      <w:body>
      <w:p><w:r><w:t>Hello world</w:t></w:r></w:p>
      <w:p><w:r><w:t xml:space="preserve">The fee is </w:t></w:r><w:del w:id="1" w:author="A"><w:r><w:delText>100</w:delText></w:r></w:del>\
      <w:ins w:id="2" w:author="A"><w:r><w:t>200</w:t></w:r></w:ins><w:r><w:t xml:space="preserve"> dollars.</w:t></w:r></w:p>
      <w:p><w:r><w:t xml:space="preserve">Visible </w:t></w:r><w:r><w:rPr><w:vanish/></w:rPr><w:t>secret note</w:t></w:r></w:p>
      <w:tbl><w:tr><w:tc><w:p><w:r><w:t>Item</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>Price</w:t></w:r></w:p></w:tc></w:tr>
      <w:tr><w:tc><w:p><w:r><w:t>Apple</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>3</w:t></w:r></w:p></w:tc></w:tr></w:tbl>
      <w:p><w:r><w:t xml:space="preserve">Before box </w:t></w:r><w:r><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing>\
      <w:txbxContent><w:p><w:r><w:t>Boxed text</w:t></w:r></w:p></w:txbxContent></w:drawing></mc:Choice>\
      <mc:Fallback><w:pict><w:txbxContent><w:p><w:r><w:t>Boxed text</w:t></w:r></w:p></w:txbxContent></w:pict></mc:Fallback>\
      </mc:AlternateContent></w:r><w:r><w:instrText> PAGE </w:instrText></w:r></w:p>
      <w:sectPr><w:headerReference w:type="default" r:id="rId1" \
      xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"/></w:sectPr>
      </w:body></w:document>
      """
    let header = "<w:hdr \(w)><w:p><w:r><w:t>Confidential</w:t></w:r></w:p></w:hdr>"
    let footnotes = """
      <w:footnotes \(w)><w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>\
      <w:footnote w:id="1"><w:p><w:r><w:t>See the contract.</w:t></w:r></w:p></w:footnote></w:footnotes>
      """
    let comments = """
      <w:comments \(w)><w:comment w:id="0" w:author="Jane Doe" w:initials="JD"><w:p><w:r><w:t>Check this figure.</w:t>\
      </w:r></w:p></w:comment></w:comments>
      """
    let rels = relationships([
      ("rId1", "header", "header1.xml"), ("rId2", "footnotes", "footnotes.xml"), ("rId3", "comments", "comments.xml"),
    ])
    return package(
      main: "word/document.xml", mainType: wordMain,
      [
        ("word/document.xml", document), ("word/_rels/document.xml.rels", rels), ("word/header1.xml", header),
        ("word/footnotes.xml", footnotes), ("word/comments.xml", comments),
      ], binary: [("word/embeddings/oleObject1.bin", Data("embedded payload".utf8))])
  }

  /// A workbook with shared and inline strings, numbers, dates, booleans, errors, a formula,
  /// a hidden row and column, a hidden and a very hidden sheet.
  static func excel() -> [(String, Data)] {
    let workbook = """
      <workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" \
      xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>\
      <sheet name="Data" sheetId="1" r:id="rId1"/><sheet name="Secret" sheetId="2" state="hidden" r:id="rId2"/>\
      <sheet name="Deep" sheetId="3" state="veryHidden" r:id="rId3"/></sheets></workbook>
      """
    let rels = relationships([
      ("rId1", "worksheet", "worksheets/sheet1.xml"), ("rId2", "worksheet", "worksheets/sheet2.xml"),
      ("rId3", "worksheet", "worksheets/sheet3.xml"), ("rId4", "sharedStrings", "sharedStrings.xml"),
      ("rId5", "styles", "styles.xml"),
    ])
    let strings = """
      <sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>Name</t></si>\
      <si><r><t>To</t></r><r><t>tal</t></r><rPh><t>ignored</t></rPh></si></sst>
      """
    let styles = """
      <styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts>\
      <numFmt numFmtId="164" formatCode="yyyy\\-mm\\-dd hh:mm"/><numFmt numFmtId="165" formatCode="0.0%"/></numFmts>\
      <cellXfs><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="164"/><xf numFmtId="165"/></cellXfs></styleSheet>
      """
    let ns = "xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\""
    let sheet1 = """
      <worksheet \(ns)><cols><col min="3" max="3" hidden="1"/></cols><sheetData>\
      <row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="inlineStr"><is><t>side</t></is></c></row>\
      <row r="2"><c r="A2"><v>1.5</v></c><c r="B2" s="1"><v>45292</v></c><c r="D2" s="3"><v>0.125</v></c></row>\
      <row r="3" hidden="1"><c r="A3" t="b"><v>1</v></c><c r="B3" t="e"><v>#DIV/0!</v></c>\
      <c r="D3"><f>SUM(A2:A2)</f><v>1.5</v></c></row>\
      <row r="5"><c r="A5" s="2"><v>45292.5</v></c><c r="B5" t="str"><f>A1&amp;"!"</f><v>Name!</v></c></row>\
      </sheetData><headerFooter><oddFooter>&amp;LDraft&amp;RPage &amp;P of &amp;N</oddFooter></headerFooter></worksheet>
      """
    let sheet2 =
      "<worksheet \(ns)><sheetData><row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>hidden value</t></is></c></row></sheetData></worksheet>"
    let sheet3 = "<worksheet \(ns)><sheetData><row r=\"2\"><c r=\"B2\"><v>42</v></c></row></sheetData></worksheet>"
    return package(
      main: "xl/workbook.xml", mainType: excelMain,
      [
        ("xl/workbook.xml", workbook), ("xl/_rels/workbook.xml.rels", rels), ("xl/sharedStrings.xml", strings),
        ("xl/styles.xml", styles), ("xl/worksheets/sheet1.xml", sheet1), ("xl/worksheets/sheet2.xml", sheet2),
        ("xl/worksheets/sheet3.xml", sheet3),
      ])
  }

  /// A presentation whose slides are listed out of part order, one hidden, with notes and a table.
  static func powerpoint() -> [(String, Data)] {
    let pns =
      "xmlns:p=\"http://schemas.openxmlformats.org/presentationml/2006/main\" "
      + "xmlns:a=\"http://schemas.openxmlformats.org/drawingml/2006/main\" "
      + "xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\""
    let presentation =
      "<p:presentation \(pns)><p:sldIdLst><p:sldId id=\"256\" r:id=\"rId2\"/><p:sldId id=\"257\" r:id=\"rId1\"/></p:sldIdLst></p:presentation>"
    let rels = relationships([("rId1", "slide", "slides/slide1.xml"), ("rId2", "slide", "slides/slide2.xml")])
    func shape(_ paragraphs: [String]) -> String {
      "<p:sp><p:txBody>" + paragraphs.map { "<a:p><a:r><a:t>\($0)</a:t></a:r></a:p>" }.joined() + "</p:txBody></p:sp>"
    }
    let slide2 = "<p:sld \(pns)><p:cSld><p:spTree>\(shape(["Opening", "Agenda"]))</p:spTree></p:cSld></p:sld>"
    let table = """
      <p:graphicFrame><a:graphic><a:graphicData><a:tbl><a:tr><a:tc><a:txBody><a:p><a:r><a:t>Q1</a:t></a:r></a:p>\
      </a:txBody></a:tc><a:tc><a:txBody><a:p><a:r><a:t>10</a:t></a:r></a:p></a:txBody></a:tc></a:tr></a:tbl>\
      </a:graphicData></a:graphic></p:graphicFrame>
      """
    let slide1 = "<p:sld \(pns) show=\"0\"><p:cSld><p:spTree>\(shape(["Results"]))\(table)</p:spTree></p:cSld></p:sld>"
    let slide1Rels = relationships([("rId1", "notesSlide", "../notesSlides/notesSlide1.xml")])
    let notes = """
      <p:notes \(pns)><p:cSld><p:spTree><p:sp><p:nvSpPr><p:nvPr><p:ph type="sldImg"/></p:nvPr></p:nvSpPr></p:sp>\
      <p:sp><p:nvSpPr><p:nvPr><p:ph type="body"/></p:nvPr></p:nvSpPr><p:txBody><a:p><a:r><a:t>Say the numbers slowly.</a:t>\
      </a:r></a:p></p:txBody></p:sp><p:sp><p:nvSpPr><p:nvPr><p:ph type="sldNum"/></p:nvPr></p:nvSpPr><p:txBody><a:p>\
      <a:fld type="slidenum"><a:t>2</a:t></a:fld></a:p></p:txBody></p:sp></p:spTree></p:cSld></p:notes>
      """
    return package(
      main: "ppt/presentation.xml", mainType: powerpointMain,
      [
        ("ppt/presentation.xml", presentation), ("ppt/_rels/presentation.xml.rels", rels),
        ("ppt/slides/slide1.xml", slide1), ("ppt/slides/slide2.xml", slide2),
        ("ppt/slides/_rels/slide1.xml.rels", slide1Rels), ("ppt/notesSlides/notesSlide1.xml", notes),
      ])
  }

  /// Extracts the package `parts` written under `name` in `dir` with the registry's `.office` extractor.
  static func extract(_ parts: [(String, Data)], name: String, in dir: URL) throws -> Extraction {
    let url = dir.appendingPathComponent(name)
    try write(parts, to: url)
    var options = IngestOptions(base: dir)
    options.redact = false
    guard let extractor = Extractors.extractor(for: .office) else { throw IngestError.pathNotFound("no extractor") }
    return try extractor.extract(ExtractionInput(path: url.path, displayPath: name, options: options))
  }
}
