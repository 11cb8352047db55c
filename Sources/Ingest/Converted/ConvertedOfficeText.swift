import Foundation

/// Sections from LibreOffice's plain exports, used when no OOXML extractor
/// reads the converted file: a text document's UTF-8 text by paragraphs, a
/// sheet's tab-separated values by row ranges.
enum ConvertedOfficeText {
  /// The most paragraphs or rows in one section.
  static let maxLines = 40
  /// The most bytes in one section (a longer paragraph or row is a section of its own).
  static let maxBytes = 6000

  /// A text document's sections: its non-empty paragraphs (one a line in
  /// LibreOffice's text export), cited `memo.doc#para=3-9`.
  static func paragraphs(_ text: String, displayPath: String, redactor: inout Redactor) -> [Section] {
    let paragraphs = text.split(separator: "\n", omittingEmptySubsequences: false)
      .map { $0.trimmingCharacters(in: .whitespaces) }
      .filter { !$0.isEmpty }
    return groups(paragraphs.map { $0.utf8.count }).map { range in
      let locator = Locator(path: displayPath, paragraph: range.lowerBound + 1, paragraphEnd: range.upperBound)
      let body = paragraphs[range].joined(separator: "\n")
      return Section(locator: locator, text: redactor.redact(body, locator: locator))
    }
  }

  /// A sheet's sections: its non-empty rows, cells separated by tabs, cited `book.xls#sheet=Q3!A1:F40`.
  static func sheet(
    _ values: String, name: String, displayPath: String, redactor: inout Redactor
  ) -> [Section] {
    var rows: [(number: Int, cells: [String])] = []
    for (index, row) in parseTSV(values).enumerated() {
      var cells = row
      while let last = cells.last, last.trimmingCharacters(in: .whitespaces).isEmpty { cells.removeLast() }
      if !cells.isEmpty { rows.append((index + 1, cells)) }
    }
    let lines = rows.map { $0.cells.joined(separator: "\t") }
    return groups(lines.map { $0.utf8.count }).map { range in
      let width = rows[range].map { $0.cells.count }.max() ?? 1
      let cells = "A\(rows[range.lowerBound].number):\(columnName(width - 1))\(rows[range.upperBound - 1].number)"
      let locator = Locator(path: displayPath, sheet: name, cells: cells)
      let body = lines[range].joined(separator: "\n")
      return Section(locator: locator, text: redactor.redact(body, locator: locator))
    }
  }

  /// Consecutive ranges of items of `sizes` bytes: at most `maxLines` items and `maxBytes` bytes each.
  static func groups(_ sizes: [Int]) -> [Range<Int>] {
    var ranges: [Range<Int>] = []
    var start = 0
    while start < sizes.count {
      var end = start + 1
      var bytes = sizes[start]
      while end < sizes.count, end - start < maxLines, bytes + sizes[end] <= maxBytes {
        bytes += sizes[end]
        end += 1
      }
      ranges.append(start..<end)
      start = end
    }
    return ranges
  }

  /// `A` for 0, `Z` for 25, `AA` for 26.
  static func columnName(_ index: Int) -> String {
    var n = max(0, index) + 1
    var name = ""
    while n > 0 {
      let digit = (n - 1) % 26
      name = String(UnicodeScalar(UInt8(65 + digit))) + name
      n = (n - 1) / 26
    }
    return name
  }

  /// Rows of tab-separated values as LibreOffice writes them: a field with a
  /// tab, a quote or a line break is quoted, its quotes doubled.
  static func parseTSV(_ text: String) -> [[String]] {
    var rows: [[String]] = []
    var row: [String] = []
    var field = ""
    var quoted = false
    var atFieldStart = true
    var iterator = text.unicodeScalars.makeIterator()
    var pending: Unicode.Scalar? = iterator.next()
    while let c = pending {
      pending = iterator.next()
      if quoted {
        if c == "\"" {
          if pending == "\"" {
            field.unicodeScalars.append("\"")
            pending = iterator.next()
          } else {
            quoted = false
          }
        } else {
          field.unicodeScalars.append(c)
        }
        continue
      }
      switch c {
      case "\"" where atFieldStart:
        quoted = true
        atFieldStart = false
      case "\t":
        row.append(field)
        field = ""
        atFieldStart = true
      case "\n", "\r":
        if c == "\r" && pending == "\n" { pending = iterator.next() }
        row.append(field)
        rows.append(row)
        row = []
        field = ""
        atFieldStart = true
      default:
        field.unicodeScalars.append(c)
        atFieldStart = false
      }
    }
    if !field.isEmpty || !row.isEmpty {
      row.append(field)
      rows.append(row)
    }
    return rows
  }

  /// The text of a UTF-8 file LibreOffice wrote, without its byte-order mark.
  static func read(_ path: String) throws -> String {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    let bom = data.starts(with: [0xEF, 0xBB, 0xBF])
    return String(decoding: bom ? data.dropFirst(3) : data[...], as: UTF8.self)
  }
}
