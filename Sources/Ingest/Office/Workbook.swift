/// The workbook-wide parts of a SpreadsheetML package: sheets in order, shared strings and number formats.
struct Workbook {
  /// A sheet as the workbook lists it.
  struct Sheet {
    var name: String
    /// `visible`, `hidden` or `veryHidden`.
    var state: String
    /// The part holding its cells; `nil` when the relationship is missing.
    var part: String?
    /// `worksheet`, `chartsheet`, `dialogsheet`…
    var type: String
  }

  var sheets: [Sheet] = []
  var sharedStrings: [String] = []
  /// The number-format kind of each cell style (`s` attribute), by index.
  var styleKinds: [CellFormat.Kind] = []
  /// Whether each cell style shows a percentage, by index.
  var percentStyles: [Bool] = []
  var date1904 = false
  var warnings: [String] = []

  /// Reads the workbook whose main part is `main`.
  init(_ parts: any OfficePartSource, main: String) throws {
    guard let bytes = try parts.read(main) else { throw OfficeError.notOffice("its workbook part \(main) is missing") }
    let relationships = parts.relationships(of: main)
    var scanner = XMLScanner(bytes)
    while let token = scanner.next() {
      guard case .start(let tag) = token else { continue }
      switch tag.name {
      case "workbookPr": date1904 = tag.value("date1904").map { $0 == "1" || $0 == "true" } ?? false
      case "sheet":
        let relation = tag.relationship("id").flatMap { id in relationships.first { $0.id == id } }
        sheets.append(
          Sheet(
            name: tag.value("name") ?? "Sheet\(sheets.count + 1)", state: tag.value("state") ?? "visible",
            part: relation?.target, type: relation?.type ?? "worksheet"))
      default: break
      }
    }
    if let target = relationships.first(where: { $0.type == "sharedStrings" })?.target {
      try readSharedStrings(parts, target)
    }
    if let target = relationships.first(where: { $0.type == "styles" })?.target {
      try readStyles(parts, target)
    }
  }

  private mutating func readSharedStrings(_ parts: any OfficePartSource, _ name: String) throws {
    guard let (bytes, cut) = try parts.read(name, limit: OfficeLimits.maxXMLPartBytes) else { return }
    if cut {
      warnings.append("the shared strings are over \(OfficeLimits.maxXMLPartBytes >> 20) MB; later ones are empty")
    }
    var scanner = XMLScanner(bytes)
    var current = ""
    var inString = false
    var collecting = false
    var skipPhonetic = 0
    var bytesKept = 0
    while let token = scanner.next() {
      switch token {
      case .start(let tag):
        switch tag.name {
        case "si":
          inString = true
          current = ""
        case "rPh": skipPhonetic += 1
        case "t": collecting = inString && skipPhonetic == 0
        default: break
        }
      case .end(let name):
        switch name {
        case "si":
          bytesKept += current.utf8.count
          sharedStrings.append(bytesKept <= OfficeLimits.maxTextBytes ? current : "")
          inString = false
        case "rPh": skipPhonetic = max(0, skipPhonetic - 1)
        case "t": collecting = false
        default: break
        }
      case .text(let range, let cdata):
        if collecting { current += scanner.text(range, cdata: cdata) }
      }
    }
  }

  private mutating func readStyles(_ parts: any OfficePartSource, _ name: String) throws {
    guard let bytes = try parts.read(name) else { return }
    var scanner = XMLScanner(bytes)
    var codes: [Int: String] = [:]
    var inCellXfs = false
    while let token = scanner.next() {
      switch token {
      case .start(let tag):
        switch tag.name {
        case "numFmt":
          if let id = tag.value("numFmtId").flatMap(Int.init), let code = tag.value("formatCode") { codes[id] = code }
        case "cellXfs": inCellXfs = true
        case "xf" where inCellXfs:
          let id = tag.value("numFmtId").flatMap(Int.init) ?? 0
          styleKinds.append(CellFormat.kind(id: id, code: codes[id]))
          percentStyles.append(Self.isPercent(id: id, code: codes[id]))
        default: break
        }
      case .end(let name): if name == "cellXfs" { inCellXfs = false }
      case .text: break
      }
    }
  }

  /// Whether number format `id` (with custom `code`) shows a percentage: `0%`, `0.00%`.
  private static func isPercent(id: Int, code: String?) -> Bool {
    guard let code else { return id == 9 || id == 10 }
    var inQuote = false
    for char in code {
      if char == "\"" { inQuote.toggle() }
      if char == "%" && !inQuote { return true }
    }
    return false
  }
}
