import Foundation

/// One row of a worksheet as text.
struct SheetRow {
  var number: Int
  var hidden: Bool
  /// Cells with something to show, left to right: column and text.
  var cells: [(column: Int, text: String)]
}

/// Reads the cells of one worksheet part: cached values, formulas, hidden rows and columns.
struct SheetReader {
  let workbook: Workbook
  /// Cells still allowed across the workbook (`OfficeLimits.maxCells`).
  var cellBudget: Int
  /// Text bytes still allowed across the workbook.
  var byteBudget: Int
  /// Whether a budget ran out in this sheet.
  private(set) var cut = false
  private(set) var hiddenColumns = Set<Int>()
  private(set) var hiddenRowCount = 0
  /// The sheet's page headers and footers (`&C` codes resolved), as `[header] …` lines.
  private(set) var headerFooter: [String] = []

  init(workbook: Workbook, cellBudget: Int, byteBudget: Int) {
    self.workbook = workbook
    self.cellBudget = cellBudget
    self.byteBudget = byteBudget
  }

  /// The rows of worksheet XML `bytes` that hold something.
  mutating func rows(_ bytes: [UInt8]) -> [SheetRow] {
    var scanner = XMLScanner(bytes)
    var rows: [SheetRow] = []
    var row: SheetRow?
    var cell = Cell()
    var field: Field?
    var lastRow = 0
    var lastColumn = 0
    var phonetic = 0
    tokens: while let token = scanner.next() {
      switch token {
      case .start(let tag):
        switch tag.name {
        case "col":
          guard tag.value("hidden").map({ $0 == "1" || $0 == "true" }) == true,
            let min = tag.value("min").flatMap(Int.init), let max = tag.value("max").flatMap(Int.init), min <= max
          else { continue }
          // A hidden range running to column XFD hides the unused ones: keep the first 1,000.
          for column in min...Swift.min(max, min + 1000) { hiddenColumns.insert(column) }
        case "row":
          let number = tag.value("r").flatMap(Int.init) ?? lastRow + 1
          lastRow = number
          lastColumn = 0
          let hidden = tag.value("hidden").map { $0 == "1" || $0 == "true" } ?? false
          row = SheetRow(number: number, hidden: hidden, cells: [])
        case "c":
          let column = tag.value("r").flatMap(CellFormat.parse)?.column ?? lastColumn + 1
          lastColumn = column
          cell = Cell(column: column, type: tag.value("t") ?? "n", style: tag.value("s").flatMap(Int.init) ?? 0)
        case "v": field = .value
        case "f":
          field = .formula
          cell.sharedFormula = tag.value("t") == "shared"
        case "is": cell.inline = ""
        case "t": if cell.inline != nil && phonetic == 0 { field = .inline }
        case "rPh": phonetic += 1
        case "oddHeader", "evenHeader", "firstHeader", "oddFooter", "evenFooter", "firstFooter":
          field = .headerFooter
          cell.value = ""
        default: break
        }
      case .end(let name):
        switch name {
        case "v", "f", "t": field = nil
        case "oddHeader", "evenHeader", "firstHeader", "oddFooter", "evenFooter", "firstFooter":
          field = nil
          let text = CellFormat.headerFooterText(cell.value)
          let line = "[\(name.hasSuffix("Header") ? "header" : "footer")] \(text)"
          if !text.isEmpty, !headerFooter.contains(line) { headerFooter.append(line) }
        case "rPh": phonetic = max(0, phonetic - 1)
        case "c":
          guard let text = render(cell), !text.isEmpty else { continue }
          guard cellBudget > 0, byteBudget >= text.utf8.count else {
            cut = true
            break tokens
          }
          cellBudget -= 1
          byteBudget -= text.utf8.count
          let shown = hiddenColumns.contains(cell.column) ? "[hidden column] " + text : text
          row?.cells.append((cell.column, shown))
        case "row":
          if let finished = row, !finished.cells.isEmpty {
            rows.append(finished)
            if finished.hidden { hiddenRowCount += 1 }
          }
          row = nil
        default: break
        }
      case .text(let range, let cdata):
        guard let field else { continue }
        let text = scanner.text(range, cdata: cdata)
        switch field {
        case .value, .headerFooter: cell.value += text
        case .formula: cell.formula += text
        case .inline: cell.inline = (cell.inline ?? "") + text
        }
      }
    }
    if let finished = row, !finished.cells.isEmpty { rows.append(finished) }
    return rows
  }

  private enum Field { case value, formula, inline, headerFooter }

  private struct Cell {
    var column = 0
    var type = "n"
    var style = 0
    var value = ""
    var formula = ""
    var sharedFormula = false
    var inline: String?
  }

  /// `text`, `42`, `2024-03-01`, `=SUM(A1:A3) → 6`; `nil` for an empty cell.
  private func render(_ cell: Cell) -> String? {
    let value: String
    switch cell.type {
    case "s":
      guard let index = Int(cell.value.trimmingWhitespace), workbook.sharedStrings.indices.contains(index) else {
        value = ""
        break
      }
      value = workbook.sharedStrings[index]
    case "inlineStr": value = cell.inline ?? cell.value
    case "b": value = cell.value.trimmingWhitespace == "1" ? "TRUE" : cell.value.isEmpty ? "" : "FALSE"
    case "e", "str", "d": value = cell.value
    default: value = number(cell.value.trimmingWhitespace, style: cell.style)
    }
    let shown = value.replacingNewlines
    let formula = cell.formula.trimmingWhitespace.replacingNewlines
    if formula.isEmpty { return shown.isEmpty ? nil : shown }
    return shown.isEmpty ? "=\(formula)" : "=\(formula) → \(shown)"
  }

  private func number(_ raw: String, style: Int) -> String {
    guard !raw.isEmpty else { return "" }
    if workbook.styleKinds.indices.contains(style) {
      let kind = workbook.styleKinds[style]
      if kind != .number, let date = CellFormat.isoDate(raw, kind: kind, date1904: workbook.date1904) { return date }
    }
    if workbook.percentStyles.indices.contains(style), workbook.percentStyles[style], let value = Double(raw),
      value.isFinite
    {
      // Excel rounds to the format's decimals; the full value keeps what the cell holds.
      return CellFormat.general(String(value * 100)) + "%"
    }
    return CellFormat.general(raw)
  }
}
