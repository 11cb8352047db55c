/// How a run of Word text differs from plain body text.
struct RevisionMarks: OptionSet, Hashable {
  let rawValue: UInt8
  static let inserted = RevisionMarks(rawValue: 1)
  static let deleted = RevisionMarks(rawValue: 2)
  static let movedFrom = RevisionMarks(rawValue: 4)
  static let movedTo = RevisionMarks(rawValue: 8)
  static let hidden = RevisionMarks(rawValue: 16)

  /// `inserted`, `deleted, hidden`…: the label of a marked span.
  var label: String {
    var names: [String] = []
    if contains(.inserted) { names.append("inserted") }
    if contains(.deleted) { names.append("deleted") }
    if contains(.movedFrom) { names.append("moved from") }
    if contains(.movedTo) { names.append("moved to") }
    if contains(.hidden) { names.append("hidden") }
    return names.joined(separator: ", ")
  }
}

/// One paragraph's text as spans, each plain or marked (inserted, deleted, hidden…).
struct MarkedText {
  private(set) var spans: [(marks: RevisionMarks, text: String)] = []

  mutating func append(_ text: String, marks: RevisionMarks) {
    guard !text.isEmpty else { return }
    if let last = spans.last, last.marks == marks {
      spans[spans.count - 1].text += text
    } else {
      spans.append((marks, text))
    }
  }

  /// Plain text as it stands, marked spans as `[inserted: …]`, `[deleted: …]`, `[hidden: …]`.
  var rendered: String {
    var out = ""
    for span in spans {
      if span.marks.isEmpty {
        out += span.text
      } else {
        out += "[\(span.marks.label): \(span.text)]"
      }
    }
    return out
  }
}

/// The text of one WordprocessingML part (body, header, notes, comments) or
/// DrawingML part (a slide, its notes) in reading order.
///
/// Each paragraph and each table row (cells joined by " | ") is one
/// paragraph; paragraphs in text boxes come out as paragraphs of their own;
/// the fallback copies of `mc:AlternateContent` and field codes are skipped.
/// Tracked changes and hidden text are marked, never merged silently.
struct TextFlow {
  /// A paragraph and the note or comment (`containers` index) it belongs to.
  var paragraphs: [(text: String, container: Int?)] = []
  /// The `w:footnote`, `w:endnote` and `w:comment` elements, in order.
  var containers: [XMLTag] = []
  var insertions = 0
  var deletions = 0
  var moves = 0
  /// Inserted or deleted paragraph marks and table rows (no text of their own).
  var markChanges = 0
  /// Tracked formatting changes.
  var formatChanges = 0
  var hiddenSpans = 0
  /// Whether the part's text passed `OfficeLimits.maxTextBytes` and was cut.
  var truncated = false
}

/// Reads `TextFlow`s.
struct TextFlowReader {
  /// Elements whose content is never text: field codes, fallback copies.
  private static let skipped: Set<String> = ["Fallback", "instrText", "delInstrText", "pPr", "sectPr", "tblPr"]

  private var flow = TextFlow()
  private var stack: [String] = []
  private var skipDepth: Int?
  private var paragraphs: [MarkedText] = []
  /// Open tables, innermost last: the current row's cells and the current cell's paragraphs.
  private var tables: [(cells: [String], cell: [String])] = []
  private var runHidden: [Bool] = []
  private var marks: [RevisionMarks] = []
  private var revisionHasText: [Bool] = []
  private var collecting = false
  private var container: Int?
  private var textBytes = 0
  private let textLimit: Int
  /// DrawingML placeholders whose shapes are left out (`sldNum`, `sldImg` in notes).
  private let droppedPlaceholders: Set<String>
  /// Where the current shape's paragraphs start, and whether it is dropped.
  private var shapeStart: (depth: Int, paragraphs: Int, dropped: Bool)?
  /// Word's list numbering, counted through the part; each open paragraph's list, level and style.
  private var numbering: WordNumbering?
  private var numbered: [WordNumbering.Reference] = []
  /// The text of the charts the part anchors, by relationship id.
  private let charts: [String: [String]]

  private init(
    textLimit: Int, droppedPlaceholders: Set<String>, numbering: WordNumbering?, charts: [String: [String]]
  ) {
    self.textLimit = textLimit
    self.droppedPlaceholders = droppedPlaceholders
    self.numbering = numbering
    self.charts = charts
  }

  /// Reads a part's bytes.
  ///
  /// - Parameters:
  ///   - textLimit: the most bytes of text kept (`truncated` says when cut).
  ///   - droppedPlaceholders: DrawingML placeholder types whose shapes are left out.
  ///   - numbering: Word's lists: numbered and bulleted paragraphs start with their label ("1.", "•").
  ///   - charts: The lines of each chart the part anchors (`ChartReader`), by relationship id,
  ///     put where the chart stands.
  static func read(
    _ bytes: [UInt8], textLimit: Int = OfficeLimits.maxTextBytes, droppedPlaceholders: Set<String> = [],
    numbering: WordNumbering? = nil, charts: [String: [String]] = [:]
  ) -> TextFlow {
    var reader = TextFlowReader(
      textLimit: textLimit, droppedPlaceholders: droppedPlaceholders, numbering: numbering, charts: charts)
    var scanner = XMLScanner(bytes)
    while let token = scanner.next() {
      switch token {
      case .start(let tag): reader.start(tag)
      case .end(let name): reader.end(name)
      case .text(let range, let cdata):
        guard reader.collecting, reader.skipDepth == nil else { continue }
        reader.append(scanner.text(range, cdata: cdata))
      }
    }
    // A damaged part ends early: keep what was read.
    while !reader.paragraphs.isEmpty { reader.closeParagraph() }
    return reader.flow
  }

  private var currentMarks: RevisionMarks {
    var result = marks.last ?? []
    if runHidden.last == true { result.insert(.hidden) }
    return result
  }

  private mutating func start(_ tag: XMLTag) {
    stack.append(tag.name)
    guard skipDepth == nil else {
      // A paragraph's own properties: its list and level, or its style (which may number it).
      if let skip = skipDepth, stack[skip - 1] == "pPr", !numbered.isEmpty {
        let parent = stack[stack.count - 2]
        if tag.name == "pStyle" && stack.count == skip + 1 {
          numbered[numbered.count - 1].style = tag.value("val")
        } else if parent == "numPr" && stack.count == skip + 2 && tag.name == "numId" {
          numbered[numbered.count - 1].numID = tag.value("val")
        } else if parent == "numPr" && stack.count == skip + 2 && tag.name == "ilvl" {
          numbered[numbered.count - 1].level = Int(tag.value("val") ?? "")
        }
      }
      // Revisions of paragraph marks and formatting: counted, no text to mark.
      switch tag.name {
      case "ins", "del", "moveFrom", "moveTo": flow.markChanges += 1
      case "rPrChange", "pPrChange", "tblPrChange", "trPrChange", "tcPrChange", "sectPrChange":
        flow.formatChanges += 1
      default: break
      }
      return
    }
    if Self.skipped.contains(tag.name) {
      skipDepth = stack.count
      return
    }
    switch tag.name {
    case "p":
      paragraphs.append(MarkedText())
      numbered.append(WordNumbering.Reference())
    case "chart":
      // A chart in a drawing (Word) or a graphic frame (PowerPoint): its text where it stands.
      if let id = tag.relationship("id"), let lines = charts[id] {
        for line in lines { emit(line) }
      }
    case "tbl": tables.append(([], []))
    case "tr": if !tables.isEmpty { tables[tables.count - 1].cells = [] }
    case "tc": if !tables.isEmpty { tables[tables.count - 1].cell = [] }
    case "r": runHidden.append(false)
    case "vanish":
      // Only a run's own properties hide its text (a paragraph mark's do not).
      if stack.count >= 3, stack[stack.count - 2] == "rPr", stack[stack.count - 3] == "r", tag.isOn,
        !runHidden.isEmpty
      {
        runHidden[runHidden.count - 1] = true
      }
    case "rPr" where stack.count >= 2 && stack[stack.count - 2] != "r":
      // Properties of a paragraph mark or a table row, not text.
      skipDepth = stack.count
    case "ins": pushMarks(.inserted)
    case "del": pushMarks(.deleted)
    case "moveFrom": pushMarks(.movedFrom)
    case "moveTo": pushMarks(.movedTo)
    case "t", "delText": collecting = true
    case "tab", "ptab": if inRun { append("\t") }
    case "br", "cr": if inRun || stack.dropLast().last == "p" { append("\n") }
    case "sp" where shapeStart == nil: shapeStart = (stack.count, flow.paragraphs.count, false)
    case "ph":
      if let type = tag.value("type"), droppedPlaceholders.contains(type), shapeStart != nil {
        shapeStart?.dropped = true
      }
    case "noBreakHyphen": append("-")
    // An optional hyphen stays in the text as Word and LibreOffice keep it (U+00AD, shown only at a line end).
    case "softHyphen": if inRun { append("\u{00AD}") }
    case "footnote", "endnote", "comment":
      if let type = tag.value("type"), type != "normal" {
        skipDepth = stack.count  // separators and continuation notices
        return
      }
      container = flow.containers.count
      flow.containers.append(tag)
    default: break
    }
  }

  private mutating func end(_ name: String) {
    // Tolerate mismatched tags: pop to the matching open element, if any.
    guard let depth = stack.lastIndex(of: name) else { return }
    while stack.count > depth + 1 { end(stack[stack.count - 1]) }
    defer { stack.removeLast() }
    if let skip = skipDepth {
      if stack.count == skip { skipDepth = nil }
      return
    }
    switch name {
    case "p": if !paragraphs.isEmpty { closeParagraph() }
    case "tc":
      guard !tables.isEmpty else { return }
      let cell = tables[tables.count - 1].cell.joined(separator: " ")
      tables[tables.count - 1].cells.append(cell)
      tables[tables.count - 1].cell = []
    case "tr":
      guard !tables.isEmpty else { return }
      let row = tables[tables.count - 1].cells
      tables[tables.count - 1].cells = []
      if row.contains(where: { !$0.allSatisfy(\.isWhitespace) }) {
        tables.removeLast()
        let text = row.joined(separator: " | ")
        emit(text)
        tables.append(([], []))
      }
    case "tbl": if !tables.isEmpty { tables.removeLast() }
    case "r": if !runHidden.isEmpty { runHidden.removeLast() }
    case "ins", "del", "moveFrom", "moveTo": popMarks(name)
    case "t", "delText": collecting = false
    case "footnote", "endnote", "comment": container = nil
    case "sp":
      guard let shape = shapeStart, shape.depth == stack.count else { return }
      if shape.dropped, flow.paragraphs.count > shape.paragraphs {
        flow.paragraphs.removeSubrange(shape.paragraphs...)
      }
      shapeStart = nil
    default: break
    }
  }

  private var inRun: Bool { !runHidden.isEmpty }

  private mutating func pushMarks(_ mark: RevisionMarks) {
    marks.append((marks.last ?? []).union(mark))
    revisionHasText.append(false)
  }

  private mutating func popMarks(_ name: String) {
    guard !marks.isEmpty else { return }
    marks.removeLast()
    if revisionHasText.removeLast() {
      switch name {
      case "ins": flow.insertions += 1
      case "del": flow.deletions += 1
      default: flow.moves += 1
      }
    }
  }

  private mutating func append(_ text: String) {
    guard !paragraphs.isEmpty, !text.isEmpty else { return }
    textBytes += text.utf8.count
    guard textBytes <= textLimit else {
      flow.truncated = true
      return
    }
    let marks = currentMarks
    if !revisionHasText.isEmpty { revisionHasText[revisionHasText.count - 1] = true }
    paragraphs[paragraphs.count - 1].append(text, marks: marks)
  }

  private mutating func closeParagraph() {
    let paragraph = paragraphs.removeLast()
    let reference = numbered.popLast()
    flow.hiddenSpans += paragraph.spans.filter { $0.marks.contains(.hidden) }.count
    // Word counts an empty numbered paragraph too (it shows its number).
    var label: String?
    if let reference { label = numbering?.label(reference) }
    let text = paragraph.rendered
    guard !text.allSatisfy(\.isWhitespace) else { return }
    emit((label ?? "") + text.trimmingWhitespace)
  }

  /// A finished paragraph or row: into the open table cell, or out.
  private mutating func emit(_ text: String) {
    if !tables.isEmpty {
      tables[tables.count - 1].cell.append(text.replacingNewlines)
    } else {
      flow.paragraphs.append((text, container))
    }
  }
}

extension String {
  /// Without leading and trailing whitespace and newlines.
  var trimmingWhitespace: String {
    guard let first = firstIndex(where: { !$0.isWhitespace }),
      let last = lastIndex(where: { !$0.isWhitespace })
    else { return "" }
    return String(self[first...last])
  }

  /// Line breaks as spaces (a table cell stays on its row's line).
  var replacingNewlines: String {
    guard contains(where: \.isNewline) else { return self }
    return String(map { $0.isNewline ? " " : $0 })
  }
}
