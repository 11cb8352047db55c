import Foundation
import Storage
import Testing
import _LongctxTestSupport

@testable import Pipeline

/// Parts of a production that need no ingest: a child's parent among display paths, the
/// Office page placeholder, XML escaping, dates and the EDRM XML read back by the check.
@Suite struct ProductionPartsTests {
  func production(_ tmp: TemporaryDirectory) throws -> Production {
    let yaml = """
      name: parts
      inputs: [in]
      model: {engine: llama, context: 4096}
      map: {prompt: "{{window}}"}
      reduce: {prompt: "{{outputs}}"}
      production: {prefix: PP-, digits: 4}
      """
    let spec = try JobFile.parse(yaml, path: "j.yaml", baseDirectory: tmp.url.path)
    return try Production(workspace: try Workspace(root: tmp.url.appendingPathComponent("ws")), spec: spec)
  }

  /// A child's parent is the longest known prefix ending where a suffix starts (`#` or `/`),
  /// never a prefix cut inside a key (`#msg=1` is not the parent of `#msg=12/…`).
  @Test func parentsAreFoundAtSuffixBoundaries() {
    let known: Set<String> = [
      "box.pst", "box.pst#folder=Inbox&msg=1", "a.zip#member=x.docx", "m.mbox#msg=1", "m.mbox#msg=12",
    ]
    let parent = { (path: String) in Production.parentPath(of: path) { known.contains($0) } }
    #expect(parent("box.pst#folder=Inbox&msg=1") == "box.pst")
    #expect(parent("box.pst#folder=Inbox&msg=1/attachment=r.pdf") == "box.pst#folder=Inbox&msg=1")
    #expect(parent("a.zip#member=x.docx#para=3/object=s.xlsx") == "a.zip#member=x.docx")
    #expect(parent("m.mbox#msg=12/attachment=a.txt") == "m.mbox#msg=12")
    #expect(parent("m.mbox#msg=123/attachment=a.txt") == nil)
    #expect(parent("plain.pdf") == nil)
  }

  /// An Office file's pages are placeholders that name the LibreOffice renderer, one per page.
  @Test func officePagesArePlaceholdersNamingTheRenderer() throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let p = try production(tmp)
    var warnings: [String] = []
    let member = (
      name: "memo.docx", ext: "docx", source: String?.none, withheld: false, parent: false, failure: String?.none
    )
    let office = try p.pageImages(member: member, begin: 1, pages: 2, office: true, warnings: &warnings)
    let plain = try p.pageImages(member: member, begin: 1, pages: 2, office: false, warnings: &warnings)
    #expect(office.count == 2 && office.allSatisfy(\.placeholder) && warnings.isEmpty)
    #expect(
      office[0].tiff.starts(with: [0x49, 0x49, 0x2A, 0x00]) || office[0].tiff.starts(with: [0x4D, 0x4D, 0x00, 0x2A]))
    // The words differ, so the pages do.
    #expect(office[0].tiff != plain[0].tiff)
  }

  @Test func xmlEscapingAndDates() {
    #expect(Production.xmlEscape("a<b>&\"c'\n\u{1}d") == "a&lt;b&gt;&amp;&quot;c&apos;&#10;d")
    #expect(Production.cleanCell("x\r\ny\u{0}z\u{7}") == "x yz")
    #expect(Production.isoDate("Tue, 1 Jul 2025 09:30:00 +0200") == "2025-07-01T07:30:00Z")
    #expect(Production.isoDate("2024-03-05T10:00:00Z") == "2024-03-05T10:00:00Z")
    #expect(Production.isoDate("sometime in May") == "sometime in May")
    #expect(Production.batesRange("PP-0009", "PP-0011") == ["PP-0009", "PP-0010", "PP-0011"])
  }

  /// The EDRM XML written from DAT rows reads back equal through the check; a stale one does not.
  @Test func edrmXMLMatchesItsDAT() throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let header = ["BEGBATES", "ENDBATES", "BEGATTACH", "ENDATTACH", "PARENTBATES", "DOCTYPE", "SUBJECT", "TEXTPATH"]
    let rows = [
      ["PP-0001", "PP-0001", "PP-0001", "PP-0002", "", "Email", "Budget <Q3> & \"travel\"\tnew", "TEXT/PP-0001.txt"],
      ["PP-0002", "PP-0002", "PP-0001", "PP-0002", "PP-0001", "Attachment", "", "TEXT/PP-0002.txt"],
    ]
    try tmp.write("TEXT/PP-0001.txt", "one")
    try tmp.write("TEXT/PP-0002.txt", "two")
    try FileManager.default.createDirectory(
      at: tmp.url.appendingPathComponent("DATA"), withIntermediateDirectories: true)
    try Production.edrmXML(header: header, rows: rows, directory: tmp.url, batch: "parts").write(
      to: tmp.url.appendingPathComponent("DATA/parts.xml"))
    #expect(Production.checkEDRM(directory: tmp.url, dat: "parts.dat", header: header, rows: rows).isEmpty)
    var changed = rows
    changed[0][6] = "Budget"
    let problems = Production.checkEDRM(directory: tmp.url, dat: "parts.dat", header: header, rows: changed)
    #expect(problems.count == 1 && problems[0].contains("tag #Subject"), "\(problems)")
    try tmp.write("TEXT/PP-0002.txt", "changed")
    #expect(
      Production.checkEDRM(directory: tmp.url, dat: "parts.dat", header: header, rows: rows)
        == ["DATA/parts.xml document 2 (PP-0002): TEXT/PP-0002.txt's MD5 is not the ExternalFile's Hash"])
  }
}
