/// Word's list numbering (`numbering.xml`, and the paragraph styles of `styles.xml`
/// that number their paragraphs): the label Word shows before a numbered or bulleted
/// paragraph, "1.", "a)", "iv.", "2.3" or "•", counted through the part as Word counts.
struct WordNumbering {
  struct Level {
    var start = 1
    var format = "decimal"
    var text = ""
    /// What follows the label: a tab (shown as a space here), a space, or nothing.
    var suffix = " "
  }

  /// A paragraph's own numbering, or its style's.
  struct Reference {
    var numID: String?
    var level: Int?
    var style: String?
  }

  /// Each list definition's levels, by `abstractNumId`.
  private var abstracts: [String: [Int: Level]] = [:]
  /// Each list: its definition and the levels it starts again (`startOverride`).
  private var lists: [String: (abstract: String, starts: [Int: Int])] = [:]
  /// Paragraph styles that number: their list and level, and the style they are based on.
  private var styles: [String: Reference] = [:]
  private var basedOn: [String: String] = [:]
  /// The current number of each level, per list definition (lists of one definition share them).
  private var counters: [String: [Int: Int]] = [:]
  private var startedLists = Set<String>()

  /// The numbering of a document, or `nil` when it has no lists.
  static func read(numbering: [UInt8]?, styles: [UInt8]?) -> WordNumbering? {
    guard let numbering else { return nil }
    var result = WordNumbering()
    result.readNumbering(numbering)
    if let styles { result.readStyles(styles) }
    return result.lists.isEmpty ? nil : result
  }

  private mutating func readNumbering(_ bytes: [UInt8]) {
    var scanner = XMLScanner(bytes)
    var abstract: String?
    var level: (index: Int, value: Level)?
    var list: String?
    var override: Int?
    while let token = scanner.next() {
      switch token {
      case .start(let tag):
        switch tag.name {
        case "abstractNum": abstract = tag.value("abstractNumId")
        case "lvl" where abstract != nil && list == nil:
          level = Int(tag.value("ilvl") ?? "").map { ($0, Level()) }
        case "start" where level != nil: level?.value.start = Int(tag.value("val") ?? "") ?? 1
        case "numFmt" where level != nil: level?.value.format = tag.value("val") ?? "decimal"
        case "lvlText" where level != nil: level?.value.text = tag.value("val") ?? ""
        case "suff" where level != nil: level?.value.suffix = tag.value("val") == "nothing" ? "" : " "
        case "num": list = tag.value("numId")
        case "abstractNumId" where list != nil:
          if let list, let id = tag.value("val") { lists[list] = (id, [:]) }
        case "lvlOverride" where list != nil: override = Int(tag.value("ilvl") ?? "")
        case "startOverride" where list != nil:
          if let list, let override, let start = Int(tag.value("val") ?? "") { lists[list]?.starts[override] = start }
        default: break
        }
      case .end(let name):
        switch name {
        case "lvl":
          if let abstract, let level, list == nil { abstracts[abstract, default: [:]][level.index] = level.value }
          level = nil
        case "abstractNum": abstract = nil
        case "num": list = nil
        case "lvlOverride": override = nil
        default: break
        }
      case .text: break
      }
    }
  }

  private mutating func readStyles(_ bytes: [UInt8]) {
    var scanner = XMLScanner(bytes)
    var style: String?
    var stack: [String] = []
    while let token = scanner.next() {
      switch token {
      case .start(let tag):
        stack.append(tag.name)
        switch tag.name {
        case "style": style = tag.value("type") == "paragraph" ? tag.value("styleId") : nil
        case "basedOn": if let style, let base = tag.value("val") { basedOn[style] = base }
        case "numId" where stack.dropLast().last == "numPr" && stack.dropLast(2).last == "pPr":
          if let style { styles[style, default: Reference()].numID = tag.value("val") }
        case "ilvl" where stack.dropLast().last == "numPr" && stack.dropLast(2).last == "pPr":
          if let style { styles[style, default: Reference()].level = Int(tag.value("val") ?? "") }
        default: break
        }
      case .end(let name):
        if let depth = stack.lastIndex(of: name) { stack.removeSubrange(depth...) }
        if name == "style" { style = nil }
      case .text: break
      }
    }
  }

  /// The label of the next paragraph numbered by `reference` ("1.", "•"), counting it;
  /// `nil` for a paragraph that is not numbered.
  mutating func label(_ reference: Reference) -> String? {
    var numID = reference.numID
    var level = reference.level
    // The style's list, or its base style's (a few levels up at most).
    var style = reference.style
    for _ in 0..<8 where numID == nil || level == nil {
      guard let name = style else { break }
      if let own = styles[name] {
        numID = numID ?? own.numID
        level = level ?? own.level
      }
      style = basedOn[name]
    }
    guard let numID, numID != "0", let list = lists[numID], let levels = abstracts[list.abstract] else { return nil }
    let index = min(max(level ?? 0, 0), 8)
    if startedLists.insert(numID).inserted {
      for (overridden, start) in list.starts { counters[list.abstract, default: [:]][overridden] = start - 1 }
    }
    var counts = counters[list.abstract] ?? [:]
    let definition = levels[index] ?? Level()
    counts[index] = (counts[index] ?? definition.start - 1) + 1
    // A deeper level starts again after each item of a shallower one.
    for deeper in (index + 1)..<9 { counts[deeper] = nil }
    counters[list.abstract] = counts
    if definition.format == "bullet" { return Self.bullet(definition.text).map { $0 + definition.suffix } }
    var text = ""
    var chars = definition.text.makeIterator()
    while let c = chars.next() {
      guard c == "%" else {
        text.append(c)
        continue
      }
      guard let digit = chars.next() else { break }
      guard let n = digit.wholeNumberValue, (1...9).contains(n) else {
        text.append(digit)
        continue
      }
      let shown = levels[n - 1] ?? Level()
      text += Self.format(counts[n - 1] ?? shown.start, as: definition.format == "none" ? "none" : shown.format)
    }
    text = text.trimmingWhitespace
    return text.isEmpty ? nil : text + definition.suffix
  }

  /// A bullet as a character a reader sees: Symbol and Wingdings glyphs (private-use
  /// code points) become "•" or a look-alike.
  static func bullet(_ text: String) -> String? {
    let trimmed = text.trimmingWhitespace
    guard let scalar = trimmed.unicodeScalars.first else { return nil }
    switch scalar.value {
    case 0xF0A7, 0xF06E, 0xF0A8: return "▪"
    case 0xF0D8, 0xF0E0: return "➢"
    case 0xF0FC: return "✓"
    case 0xF076: return "❖"
    case 0xF000...0xF0FF: return "•"
    default: return trimmed
    }
  }

  /// `n` as Word writes it in `format` (`decimal`, `lowerLetter`, `upperRoman`…).
  static func format(_ n: Int, as format: String) -> String {
    switch format {
    case "none": return ""
    case "decimalZero": return n < 10 && n >= 0 ? "0\(n)" : String(n)
    case "lowerLetter", "upperLetter":
      // a…z, then aa…zz, as Word repeats the letter.
      guard n > 0 else { return String(n) }
      let letter = Character(UnicodeScalar(UInt8(97 + (n - 1) % 26)))
      let text = String(repeating: letter, count: (n - 1) / 26 + 1)
      return format == "upperLetter" ? text.uppercased() : text
    case "lowerRoman", "upperRoman":
      guard n > 0 && n < 4000 else { return String(n) }
      let table: [(Int, String)] = [
        (1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"), (50, "l"), (40, "xl"),
        (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i"),
      ]
      var rest = n
      var text = ""
      for (value, numeral) in table {
        while rest >= value {
          text += numeral
          rest -= value
        }
      }
      return format == "upperRoman" ? text.uppercased() : text
    default: return String(n)
    }
  }
}
