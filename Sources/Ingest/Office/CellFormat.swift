import Foundation

/// Cell references and how cell values are shown.
enum CellFormat {
  /// `A1` → (column 1, row 1); `nil` when `reference` is not a cell reference.
  static func parse(_ reference: String) -> (column: Int, row: Int)? {
    var column = 0
    var row = 0
    var sawDigit = false
    for byte in reference.utf8 {
      switch byte {
      case UInt8(ascii: "A")...UInt8(ascii: "Z"):
        guard !sawDigit, column < 1_000_000 else { return nil }
        column = column * 26 + Int(byte - UInt8(ascii: "A")) + 1
      case UInt8(ascii: "a")...UInt8(ascii: "z"):
        guard !sawDigit, column < 1_000_000 else { return nil }
        column = column * 26 + Int(byte - UInt8(ascii: "a")) + 1
      case UInt8(ascii: "0")...UInt8(ascii: "9"):
        guard row < 100_000_000 else { return nil }
        sawDigit = true
        row = row * 10 + Int(byte - UInt8(ascii: "0"))
      case UInt8(ascii: "$"): continue
      default: return nil
      }
    }
    guard column > 0, row > 0 else { return nil }
    return (column, row)
  }

  /// Column 1 → `A`, 27 → `AA`.
  static func columnName(_ column: Int) -> String {
    var n = max(1, column)
    var letters: [Character] = []
    while n > 0 {
      let rem = (n - 1) % 26
      letters.append(Character(Unicode.Scalar(UInt8(65 + rem))))
      n = (n - 1) / 26
    }
    return String(letters.reversed())
  }

  /// `B7`.
  static func reference(column: Int, row: Int) -> String { columnName(column) + String(row) }

  /// A page header or footer without its codes: `&LLeft&CMiddle&RRight` → `Left | Middle | Right`;
  /// fields (page number, date, file name) as `[page]`, `[date]`…; fonts and styles dropped.
  static func headerFooterText(_ code: String) -> String {
    var parts: [String] = []
    var current = ""
    var chars = Array(code)[...]
    while let char = chars.popFirst() {
      guard char == "&", let next = chars.popFirst() else {
        current.append(char)
        continue
      }
      switch next {
      case "L", "C", "R":
        if !current.trimmingWhitespace.isEmpty { parts.append(current.trimmingWhitespace) }
        current = ""
      case "&": current.append("&")
      case "P": current += "[page]"
      case "N": current += "[pages]"
      case "D": current += "[date]"
      case "T": current += "[time]"
      case "F": current += "[file]"
      case "A": current += "[sheet]"
      case "Z": current += "[path]"
      case "G": current += "[picture]"
      case "\"":
        // &"Font,Style": skip to the closing quote.
        while let skipped = chars.popFirst(), skipped != "\"" {}
      default:
        // &B &I &U &S &X &Y &E &K… and font sizes (&12): styles only.
        if next == "K" { chars = chars.dropFirst(6) }
        if next.isASCII && next.isNumber {
          while let digit = chars.first, digit.isASCII, digit.isNumber { chars.removeFirst() }
        }
      }
    }
    if !current.trimmingWhitespace.isEmpty { parts.append(current.trimmingWhitespace) }
    return parts.joined(separator: " | ")
  }

  // MARK: - Numbers

  /// A number as Excel shows it in General format (up to 15 significant digits), from its stored text.
  static func general(_ raw: String) -> String {
    guard let value = Double(raw), value.isFinite else { return raw }
    if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
    var text = String(format: "%.15g", value)
    if text.contains("e") { return text }
    if text.contains(".") {
      while text.hasSuffix("0") { text.removeLast() }
      if text.hasSuffix(".") { text.removeLast() }
    }
    return text
  }

  /// Built-in number formats that show dates or times (ECMA-376 18.8.30).
  private static let builtInDateFormats: Set<Int> = Set(14...22).union(45...47).union(27...36).union(50...58)

  /// What a number format shows a number as: a date, a time, both, or a plain number.
  enum Kind: Equatable { case number, date, time, dateTime }

  /// The kind of number format `id` with code `code` (custom formats; `nil` for built-ins).
  static func kind(id: Int, code: String?) -> Kind {
    guard let code else {
      if [18, 19, 20, 21, 45, 46, 47].contains(id) { return .time }
      if id == 22 { return .dateTime }
      return builtInDateFormats.contains(id) ? .date : .number
    }
    // Date and time letters outside quotes, escapes and bracketed colours/conditions ([h] counts).
    // `m` is minutes after an hour or before seconds, months otherwise.
    let chars = Array(code)
    var hasDate = false
    var hasTime = false
    var lastLetter: Character = " "
    var i = 0
    while i < chars.count {
      let char = chars[i]
      switch char {
      case "\"":
        i += 1
        while i < chars.count, chars[i] != "\"" { i += 1 }
      case "\\", "_", "*": i += 1
      case "[":
        // Elapsed time ([h], [mm], [ss]) counts; colours, locales and conditions do not.
        let start = i + 1
        while i < chars.count, chars[i] != "]" { i += 1 }
        let inside = chars[min(start, i)..<i]
        if !inside.isEmpty, inside.allSatisfy({ "hHmMsS".contains($0) }) {
          hasTime = true
          lastLetter = "h"
        }
      case ";": if hasDate || hasTime { return combine(hasDate, hasTime) }
      case "d", "D", "y", "Y":
        hasDate = true
        lastLetter = "d"
      case "h", "H", "s", "S":
        hasTime = true
        lastLetter = "h"
      case "m", "M":
        var next = i + 1
        while next < chars.count, "mM".contains(chars[next]) { next += 1 }
        while next < chars.count, !chars[next].isLetter, chars[next] != "\"", chars[next] != ";" { next += 1 }
        if lastLetter == "h" || (next < chars.count && "sS".contains(chars[next])) {
          hasTime = true
        } else {
          hasDate = true
          lastLetter = "d"
        }
        i = next - 1
      case "0", "#", "?", "@": if !(hasDate || hasTime) { return .number }
      default: break
      }
      i += 1
    }
    return combine(hasDate, hasTime)
  }

  private static func combine(_ date: Bool, _ time: Bool) -> Kind {
    switch (date, time) {
    case (true, true): .dateTime
    case (true, false): .date
    case (false, true): .time
    default: .number
    }
  }

  /// A serial date number as ISO 8601 (`2024-03-01`, `2024-03-01T09:30:00`, `09:30:00`), or `nil` when out of range.
  static func isoDate(_ raw: String, kind: Kind, date1904: Bool) -> String? {
    guard let serial = Double(raw), serial.isFinite, serial >= 0, serial < 2_958_466 else { return nil }
    var days = serial.rounded(.down)
    var seconds = ((serial - days) * 86_400).rounded()
    if seconds >= 86_400 {
      days += 1
      seconds -= 86_400
    }
    let time = String(format: "%02d:%02d:%02d", Int(seconds) / 3600, Int(seconds) % 3600 / 60, Int(seconds) % 60)
    if kind == .time && serial < 1 { return time }
    // Days since 1899-12-30 (1900 system, past Excel's phantom 1900-02-29) or since 1904-01-01.
    var julian: Int
    if date1904 {
      julian = Int(days) + 2_416_481
    } else {
      if days == 60 { return kind == .date ? "1900-02-29" : "1900-02-29T" + time }
      julian = Int(days) + 2_415_019 + (days < 60 ? 1 : 0)
    }
    // Julian day number to the proleptic Gregorian calendar (Fliegel & Van Flandern).
    julian += 68_569
    let n = 4 * julian / 146_097
    julian -= (146_097 * n + 3) / 4
    let i = 4000 * (julian + 1) / 1_461_001
    julian = julian - 1461 * i / 4 + 31
    let j = 80 * julian / 2447
    let day = julian - 2447 * j / 80
    let k = j / 11
    let month = j + 2 - 12 * k
    let year = 100 * (n - 49) + i + k
    let date = String(format: "%04d-%02d-%02d", year, month, day)
    switch kind {
    case .date: return date
    case .time, .dateTime: return date + "T" + time
    case .number: return nil
    }
  }
}
