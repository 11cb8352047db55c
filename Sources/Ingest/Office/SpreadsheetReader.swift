/// Reads a SpreadsheetML package (xlsx, xlsm, xltx, xltm).
///
/// Sheets come in workbook order; each section is a block of rows (at most
/// `maxBytes`) cited `#sheet=Name!A1:F40` over the block's used range. A row
/// is one line of `A1: value | B1: =SUM(…) → 6`; hidden sheets, rows and
/// columns are flagged in the text and in a warning; cell comments follow
/// their sheet's rows.
struct SpreadsheetReader {
  /// The most bytes in one section (a longer row is a section of its own).
  var maxBytes = 6000

  func read(_ parts: any OfficePartSource, main: String, path: String) throws -> OfficeContent {
    var content = OfficeContent(flavour: .excel)
    let workbook = try Workbook(parts, main: main)
    content.warnings += workbook.warnings
    var cellBudget = OfficeLimits.maxCells
    var byteBudget = OfficeLimits.maxTextBytes
    var flagged: [String] = []
    var cutSheets: [String] = []
    var comments = 0
    for sheet in workbook.sheets {
      let prefix =
        switch sheet.state {
        case "hidden": "[hidden sheet] "
        case "veryHidden": "[very hidden sheet] "
        default: ""
        }
      if !prefix.isEmpty {
        flagged.append("sheet \"\(sheet.name)\" is \(sheet.state == "hidden" ? "hidden" : "very hidden")")
      }
      guard let part = sheet.part, sheet.type == "worksheet" else { continue }
      guard let (bytes, partCut) = try parts.read(part, limit: OfficeLimits.maxXMLPartBytes) else { continue }
      var reader = SheetReader(workbook: workbook, cellBudget: cellBudget, byteBudget: byteBudget)
      let rows = reader.rows(bytes)
      cellBudget = reader.cellBudget
      byteBudget = reader.byteBudget
      if partCut || reader.cut { cutSheets.append(sheet.name) }
      if reader.hiddenRowCount > 0 {
        flagged.append(
          "\(reader.hiddenRowCount) hidden row\(reader.hiddenRowCount == 1 ? "" : "s") in \"\(sheet.name)\"")
      }
      let hiddenUsed = Set(rows.flatMap { $0.cells.map(\.column) }).intersection(reader.hiddenColumns)
      if !hiddenUsed.isEmpty {
        let names = hiddenUsed.sorted().prefix(20).map(CellFormat.columnName).joined(separator: ", ")
        flagged.append("hidden column\(hiddenUsed.count == 1 ? "" : "s") \(names) in \"\(sheet.name)\"")
      }
      content.sections += blocks(rows, sheet: sheet.name, prefix: prefix, path: path)
      let notes = Self.comments(parts, sheetPart: part)
      comments += notes.lines.count
      // Comments, then page headers and footers, after the sheet's cells.
      if !notes.lines.isEmpty {
        content.sections.append(
          OfficeSection(
            locator: Locator(path: path, sheet: sheet.name, cells: notes.range),
            text: notes.lines.joined(separator: "\n")))
      }
      if !reader.headerFooter.isEmpty {
        content.sections.append(
          OfficeSection(
            locator: Locator(path: path, sheet: sheet.name), text: reader.headerFooter.joined(separator: "\n")))
      }
    }
    let sheetsRead = workbook.sheets.count
    content.metadata["sheets"] = String(sheetsRead)
    if !flagged.isEmpty { content.warnings.append("the workbook holds " + flagged.joined(separator: "; ")) }
    if comments > 0 {
      content.warnings.append("the workbook holds \(comments) cell comment\(comments == 1 ? "" : "s")")
    }
    if !cutSheets.isEmpty {
      content.warnings.append(
        "cut at \(OfficeLimits.maxCells) cells or \(OfficeLimits.maxTextBytes >> 20) MB of text: sheet(s) "
          + cutSheets.map { "\"\($0)\"" }.joined(separator: ", ") + " not read to the end")
    }
    content.objects = OfficeObjects.embedded(in: parts)
    return content
  }

  /// Rows grouped into sections of at most `maxBytes`, each cited over its used range.
  private func blocks(_ rows: [SheetRow], sheet: String, prefix: String, path: String) -> [OfficeSection] {
    var out: [OfficeSection] = []
    var lines: [String] = []
    var bytes = 0
    var first = 0
    var last = 0
    var minColumn = Int.max
    var maxColumn = 0
    func flush() {
      guard !lines.isEmpty else { return }
      let range =
        CellFormat.reference(column: minColumn, row: first) + ":"
        + CellFormat.reference(column: maxColumn, row: last)
      out.append(
        OfficeSection(
          locator: Locator(path: path, sheet: sheet, cells: range), text: prefix + lines.joined(separator: "\n")))
      lines = []
      bytes = 0
      minColumn = Int.max
      maxColumn = 0
    }
    for row in rows {
      var line = row.hidden ? "[hidden row] " : ""
      line += row.cells.map { CellFormat.reference(column: $0.column, row: row.number) + ": " + $0.text }
        .joined(separator: " | ")
      if !lines.isEmpty, bytes + 1 + line.utf8.count > maxBytes { flush() }
      if lines.isEmpty { first = row.number }
      last = row.number
      lines.append(line)
      bytes += line.utf8.count + 1
      for cell in row.cells {
        minColumn = min(minColumn, cell.column)
        maxColumn = max(maxColumn, cell.column)
      }
    }
    flush()
    return out
  }

  /// The legacy cell comments of a sheet: `[comment by Jane Doe on B4] text`, and the range they cover.
  static func comments(_ parts: any OfficePartSource, sheetPart: String) -> (lines: [String], range: String?) {
    guard let target = parts.relationships(of: sheetPart).first(where: { $0.type == "comments" })?.target,
      let bytes = try? parts.read(target)
    else { return ([], nil) }
    var scanner = XMLScanner(bytes)
    var authors: [String] = []
    var lines: [String] = []
    var inAuthor = false
    var inText = false
    var phonetic = 0
    var collecting = false
    var current = ""
    var reference = ""
    var author: Int?
    var cells: [(column: Int, row: Int)] = []
    while let token = scanner.next() {
      switch token {
      case .start(let tag):
        switch tag.name {
        case "author":
          inAuthor = true
          current = ""
        case "comment":
          reference = tag.value("ref") ?? ""
          author = tag.value("authorId").flatMap(Int.init)
          current = ""
        case "text": inText = true
        case "rPh": phonetic += 1
        case "t": collecting = inText && phonetic == 0
        default: break
        }
      case .end(let name):
        switch name {
        case "author":
          authors.append(current.trimmingWhitespace)
          inAuthor = false
        case "text": inText = false
        case "rPh": phonetic = max(0, phonetic - 1)
        case "t": collecting = false
        case "comment":
          let name = author.flatMap { authors.indices.contains($0) ? authors[$0] : nil } ?? ""
          let by = name.isEmpty ? "comment" : "comment by \(name)"
          let body = current.trimmingWhitespace.replacingNewlines
          if !body.isEmpty { lines.append("[\(by) on \(reference)] \(body)") }
          if let cell = CellFormat.parse(reference.split(separator: ":").first.map(String.init) ?? "") {
            cells.append(cell)
          }
        default: break
        }
      case .text(let range, let cdata):
        if inAuthor || collecting { current += scanner.text(range, cdata: cdata) }
      }
    }
    guard !cells.isEmpty else { return (lines, nil) }
    let range =
      CellFormat.reference(column: cells.map(\.column).min() ?? 1, row: cells.map(\.row).min() ?? 1) + ":"
      + CellFormat.reference(column: cells.map(\.column).max() ?? 1, row: cells.map(\.row).max() ?? 1)
    return (lines, range)
  }
}
