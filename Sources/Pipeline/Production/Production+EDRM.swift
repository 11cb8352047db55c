import Foundation
import Storage

#if canImport(FoundationXML)
  import FoundationXML
#endif

/// The production as an EDRM XML 1.2 load file (`DATA/<job>.xml`, beside the DAT): one
/// `Document` per DAT row (`DocID` its BEGBATES), the row's fields as `Tags`, its native,
/// text and page images as `Files` (`ExternalFile` with path, name, size and MD5), its
/// custodian and original path as its `Location`, and every child's link to its direct
/// parent as an `Attachment` relationship.
extension Production {
  /// The EDRM tag name of each DAT column (`#`-names are EDRM's own); other columns (coding
  /// fields, WITHHELD) keep their DAT name. TEXTPATH, NATIVEPATH and IMAGEPATH are `Files`.
  static let edrmTagNames: [String: String] = [
    "BEGBATES": "BegBates", "ENDBATES": "EndBates", "BEGATTACH": "BegAttach", "ENDATTACH": "EndAttach",
    "PARENTBATES": "ParentBates", "ATTACHCOUNT": "#AttachmentCount", "ATTACHNAMES": "#AttachmentNames",
    "CUSTODIAN": "#Custodian", "ALLCUSTODIANS": "AllCustodians", "DOCTYPE": "DocType", "FILENAME": "#FileName",
    "FILEPATH": "#FilePath", "FILEEXT": "#FileExtension", "FILESIZE": "#FileSize", "MD5HASH": "#MD5Hash",
    "SHA1HASH": "#SHA1Hash", "SHA256HASH": "SHA256Hash", "PAGECOUNT": "#PageCount", "DATESENT": "#DateSent",
    "DATERECEIVED": "#DateReceived", "DATECREATED": "#DateCreated", "DATEMODIFIED": "#DateModified",
    "DATELASTPRINTED": "#DateLastPrinted", "FROM": "#From", "TO": "#To", "CC": "#CC", "BCC": "#BCC",
    "SUBJECT": "#Subject", "MESSAGEID": "#MessageID", "THREADID": "ThreadID", "THREADPOSITION": "ThreadPosition",
    "INCLUSIVE": "Inclusive", "TITLE": "#Title", "AUTHOR": "#Author", "LASTMODIFIEDBY": "#LastAuthor",
    "COMPANY": "#Company", "REVISION": "#Revision", "APPLICATION": "#Application",
  ]
  /// DAT columns given as `Files`, not tags.
  static let edrmFileColumns: Set<String> = ["TEXTPATH", "NATIVEPATH", "IMAGEPATH"]

  static func edrmTagName(_ column: String) -> String { edrmTagNames[column] ?? column }

  /// EDRM's data type of a column's value: `DateTime` for an ISO 8601 date, `LongInteger`
  /// for counts and sizes, `Text` otherwise.
  static func edrmDataType(_ column: String, _ value: String) -> String {
    if column.hasPrefix("DATE"), value.count >= 20, ISO8601DateFormatter().date(from: value) != nil {
      return "DateTime"
    }
    if ["ATTACHCOUNT", "FILESIZE", "PAGECOUNT"].contains(column), Int(value) != nil { return "LongInteger" }
    return "Text"
  }

  /// The EDRM XML 1.2 load file of a production's DAT `rows`, its files read from `directory`
  /// (sizes and MD5 of the natives, texts and images the rows name).
  static func edrmXML(header: [String], rows: [[String]], directory: URL, batch: String) -> Data {
    func column(_ name: String) -> Int? { header.firstIndex(of: name) }
    var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    out += "<Root MajorVersion=\"1\" MinorVersion=\"2\" Description=\"longctx production \(xmlEscape(batch))\""
    out += " Locale=\"US\" DataInterchangeType=\"Update\">\n"
    out += "  <Batch Name=\"\(xmlEscape(batch))\">\n    <Documents>\n"
    var relationships: [(String, String)] = []
    for row in rows where row.count == header.count {
      let cell = { (name: String) in column(name).map { row[$0] } ?? "" }
      let docID = cell("BEGBATES")
      let type = cell("DOCTYPE").hasPrefix("Email") ? "Message" : "File"
      out += "      <Document DocID=\"\(xmlEscape(docID))\" DocType=\"\(type)\">\n        <Tags>\n"
      for (c, name) in header.enumerated() where !edrmFileColumns.contains(name) && !row[c].isEmpty {
        out += "          <Tag TagName=\"\(xmlEscape(edrmTagName(name)))\""
        out += " TagDataType=\"\(edrmDataType(name, row[c]))\" TagValue=\"\(xmlEscape(row[c]))\"/>\n"
      }
      out += "        </Tags>\n        <Files>\n"
      var files: [(type: String, paths: [String])] = []
      if !cell("NATIVEPATH").isEmpty { files.append(("Native", [cell("NATIVEPATH")])) }
      if !cell("TEXTPATH").isEmpty { files.append(("Text", [cell("TEXTPATH")])) }
      if let first = column("IMAGEPATH").map({ row[$0] }), !first.isEmpty {
        let pages = batesRange(cell("BEGBATES"), cell("ENDBATES")).map { "IMAGES/\($0).tif" }
        files.append(("Image", pages.isEmpty ? [first] : pages))
      }
      for file in files {
        out += "          <File FileType=\"\(file.type)\">\n"
        for path in file.paths {
          let data = FileManager.default.contents(atPath: directory.appendingPathComponent(path).path)
          let folder = (path as NSString).deletingLastPathComponent
          out += "            <ExternalFile FilePath=\"\(xmlEscape(folder))\""
          out += " FileName=\"\(xmlEscape((path as NSString).lastPathComponent))\""
          if let data { out += " FileSize=\"\(data.count)\" Hash=\"\(Hashing.md5(data))\" HashType=\"MD5\"" }
          out += "/>\n"
        }
        out += "          </File>\n"
      }
      out += "        </Files>\n        <Locations>\n          <Location>\n"
      out += "            <Custodian>\(xmlEscape(cell("CUSTODIAN")))</Custodian>\n"
      out += "            <LocationURI>\(xmlEscape(cell("FILEPATH")))</LocationURI>\n"
      out += "            <Description>Original path</Description>\n"
      out += "          </Location>\n        </Locations>\n      </Document>\n"
      if !cell("PARENTBATES").isEmpty { relationships.append((cell("PARENTBATES"), docID)) }
    }
    out += "    </Documents>\n    <Relationships>\n"
    for (parent, child) in relationships {
      out += "      <Relationship Type=\"Attachment\" ParentDocId=\"\(xmlEscape(parent))\""
      out += " ChildDocId=\"\(xmlEscape(child))\"/>\n"
    }
    out += "    </Relationships>\n  </Batch>\n</Root>\n"
    return Data(out.utf8)
  }

  /// `text` escaped for XML character data and attribute values: the five markup
  /// characters, and tab and line ends as references (an attribute keeps them then).
  static func xmlEscape(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for scalar in text.unicodeScalars {
      switch scalar {
      case "&": out += "&amp;"
      case "<": out += "&lt;"
      case ">": out += "&gt;"
      case "\"": out += "&quot;"
      case "'": out += "&apos;"
      case "\t": out += "&#9;"
      case "\n": out += "&#10;"
      case "\r": out += "&#13;"
      default:
        // Characters XML 1.0 cannot carry at all are dropped (DAT cells are cleaned alike).
        if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF { continue }
        out.unicodeScalars.append(scalar)
      }
    }
    return out
  }

  /// The Bates numbers from `begin` to `end` (`ABC-000007`…`ABC-000009`), same prefix and width.
  static func batesRange(_ begin: String, _ end: String) -> [String] {
    func split(_ bates: String) -> (prefix: String, n: Int, digits: Int)? {
      let digits = String(bates.reversed().prefix { $0.isNumber }.reversed())
      guard let n = Int(digits) else { return nil }
      return (String(bates.dropLast(digits.count)), n, digits.count)
    }
    guard let b = split(begin), let e = split(end), b.n <= e.n, e.n - b.n < 1_000_000 else { return [] }
    return (b.n...e.n).map { n in
      let digits = String(n)
      return b.prefix + String(repeating: "0", count: max(0, b.digits - digits.count)) + digits
    }
  }

  // MARK: - Checking

  /// One `Document` of an EDRM XML file as read back.
  struct EDRMDocument {
    var docID = ""
    var docType = ""
    var tags: [String: String] = [:]
    var files: [(type: String, path: String, name: String, hash: String?)] = []
    var custodian = ""
    var location = ""
  }

  /// The EDRM XML beside `dat` checked against the DAT's rows: the same documents in the same
  /// order (DocID the BEGBATES), each row's non-empty fields as tags with the same values and
  /// no other tags, the native and text files the DAT names present with their MD5, and an
  /// `Attachment` relationship for exactly every row with a PARENTBATES.
  static func checkEDRM(directory: URL, dat: String, header: [String], rows: [[String]]) -> [String] {
    let name = String(dat.dropLast(4)) + ".xml"
    guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent("DATA/\(name)").path)
    else { return [] }
    let reader = EDRMReader()
    let parser = XMLParser(data: data)
    parser.delegate = reader
    guard parser.parse() else {
      return ["DATA/\(name) is not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "unknown error")"]
    }
    var problems: [String] = []
    if reader.version?.0 != "1" || reader.version?.1 != "2" {
      problems.append("DATA/\(name): the Root is not EDRM XML MajorVersion 1 MinorVersion 2")
    }
    let docs = reader.documents
    let valid = rows.filter { $0.count == header.count }
    if docs.count != valid.count {
      problems.append("DATA/\(name) has \(docs.count) documents where DATA/\(dat) has \(valid.count) rows")
    }
    guard let beg = header.firstIndex(of: "BEGBATES") else { return problems }
    for (i, (doc, row)) in zip(docs, valid).enumerated() {
      let at = "DATA/\(name) document \(i + 1)"
      guard doc.docID == row[beg] else {
        problems.append("\(at): DocID \(doc.docID) where the DAT's row \(i + 2) is \(row[beg])")
        break  // out of step: every later document would differ too
      }
      var expected: [String: String] = [:]
      for (c, column) in header.enumerated() where !edrmFileColumns.contains(column) && !row[c].isEmpty {
        expected[edrmTagName(column)] = row[c]
      }
      for (tag, value) in expected.sorted(by: { $0.key < $1.key }) where doc.tags[tag] != value {
        problems.append(
          "\(at) (\(doc.docID)): tag \(tag) is \(doc.tags[tag].map { "“\($0)”" } ?? "missing") where the DAT has “\(value)”"
        )
      }
      for tag in doc.tags.keys.sorted() where expected[tag] == nil {
        problems.append("\(at) (\(doc.docID)): tag \(tag) is not in the DAT's row")
      }
      for (type, column) in [("Native", "NATIVEPATH"), ("Text", "TEXTPATH")] {
        let path = header.firstIndex(of: column).map { row[$0] } ?? ""
        let file = doc.files.first { $0.type == type }
        if path.isEmpty {
          if file != nil { problems.append("\(at) (\(doc.docID)): a \(type) file the DAT has no \(column) for") }
          continue
        }
        guard let file, file.path + "/" + file.name == path else {
          problems.append("\(at) (\(doc.docID)): its \(type) file is not the DAT's \(column) \(path)")
          continue
        }
        let bytes = FileManager.default.contents(atPath: directory.appendingPathComponent(path).path)
        if let bytes, let hash = file.hash, hash != Hashing.md5(bytes) {
          problems.append("\(at) (\(doc.docID)): \(path)'s MD5 is not the ExternalFile's Hash")
        }
      }
    }
    let expectedLinks = Set(
      valid.compactMap { row -> String? in
        guard let p = header.firstIndex(of: "PARENTBATES"), !row[p].isEmpty else { return nil }
        return row[p] + " → " + row[beg]
      })
    let links = Set(reader.relationships.map { $0.parent + " → " + $0.child })
    for link in expectedLinks.subtracting(links).sorted() {
      problems.append("DATA/\(name): no Attachment relationship \(link), which the DAT's PARENTBATES gives")
    }
    for link in links.subtracting(expectedLinks).sorted() {
      problems.append("DATA/\(name): relationship \(link) is not in the DAT's PARENTBATES")
    }
    if reader.relationships.contains(where: { $0.type != "Attachment" }) {
      problems.append("DATA/\(name): a relationship whose Type is not Attachment")
    }
    return problems
  }
}

/// Reads an EDRM XML load file's documents and relationships (SAX, through `XMLParser`).
private final class EDRMReader: NSObject, XMLParserDelegate {
  var version: (String, String)?
  var documents: [Production.EDRMDocument] = []
  var relationships: [(type: String, parent: String, child: String)] = []
  private var current: Production.EDRMDocument?
  private var fileType = ""
  private var text = ""

  func parser(
    _ parser: XMLParser, didStartElement element: String, namespaceURI: String?, qualifiedName: String?,
    attributes: [String: String] = [:]
  ) {
    text = ""
    switch element {
    case "Root": version = (attributes["MajorVersion"] ?? "", attributes["MinorVersion"] ?? "")
    case "Document" where current == nil:
      current = Production.EDRMDocument(docID: attributes["DocID"] ?? "", docType: attributes["DocType"] ?? "")
    case "Tag": current?.tags[attributes["TagName"] ?? ""] = attributes["TagValue"] ?? ""
    case "File": fileType = attributes["FileType"] ?? ""
    case "ExternalFile":
      current?.files.append(
        (fileType, attributes["FilePath"] ?? "", attributes["FileName"] ?? "", attributes["Hash"]))
    case "Relationship":
      relationships.append(
        (attributes["Type"] ?? "", attributes["ParentDocId"] ?? "", attributes["ChildDocId"] ?? ""))
    default: break
    }
  }

  func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

  func parser(_ parser: XMLParser, didEndElement element: String, namespaceURI: String?, qualifiedName: String?) {
    switch element {
    case "Custodian": current?.custodian = text
    case "LocationURI": current?.location = text
    case "Document":
      if let doc = current { documents.append(doc) }
      current = nil
    default: break
    }
  }
}
