/// Where a piece of text came from: a file and a page, a line range, a message,
/// a paragraph, a sheet range or a slide.
///
/// Its `description` is the citation form used in reports:
/// `contract.pdf#page=3`, `app.log#L120-L188`, `inbox.mbox#msg=<id>`,
/// `archive.pst#folder=Inbox/Projects&msg=<id>`, `report.docx#para=12`,
/// `book.xlsx#sheet=Q3!A1:F40`, `deck.pptx#slide=7`. A document inside another
/// (an archive member, an attachment) has its parent's citation in its `path`:
/// `bundle.zip#member=dir/memo.docx#para=3`.
public struct Locator: Codable, Hashable, Sendable, CustomStringConvertible {
  /// The file's path as cited (relative to the job or the ingest root).
  public var path: String
  /// 1-based PDF page.
  public var page: Int?
  /// 1-based first line, inclusive.
  public var lineStart: Int?
  /// 1-based last line, inclusive.
  public var lineEnd: Int?
  /// Email Message-ID or message ordinal within a mailbox.
  public var message: String?
  /// The folder of a message in a mail store (`Inbox/Projects`), with `message`.
  public var folder: String?
  /// 1-based first paragraph of a word-processing document or an HTML page
  /// (body paragraphs and table rows, in reading order), inclusive.
  public var paragraph: Int?
  /// 1-based last paragraph, inclusive; `nil` or equal to `paragraph` for one paragraph.
  public var paragraphEnd: Int?
  /// A spreadsheet's sheet name.
  public var sheet: String?
  /// A cell range of `sheet`, `A1:F40`.
  public var cells: String?
  /// 1-based slide of a presentation.
  public var slide: Int?

  public init(
    path: String, page: Int? = nil, lineStart: Int? = nil, lineEnd: Int? = nil, message: String? = nil,
    folder: String? = nil, paragraph: Int? = nil, paragraphEnd: Int? = nil, sheet: String? = nil, cells: String? = nil,
    slide: Int? = nil
  ) {
    self.path = path
    self.page = page
    self.lineStart = lineStart
    self.lineEnd = lineEnd
    self.message = message
    self.folder = folder
    self.paragraph = paragraph
    self.paragraphEnd = paragraphEnd
    self.sheet = sheet
    self.cells = cells
    self.slide = slide
  }

  public var description: String {
    if let page { return "\(path)#page=\(page)" }
    if let message {
      let id = Self.escaped(message, Self.messageSpecials, whenContaining: Self.isMessageAmbiguous)
      guard let folder else { return "\(path)#msg=\(id)" }
      return
        "\(path)#folder=\(Self.escaped(folder, Self.folderSpecials, whenContaining: Self.isFolderAmbiguous))&msg=\(id)"
    }
    if let paragraph {
      if let paragraphEnd, paragraphEnd != paragraph { return "\(path)#para=\(paragraph)-\(paragraphEnd)" }
      return "\(path)#para=\(paragraph)"
    }
    if let slide { return "\(path)#slide=\(slide)" }
    if let sheet {
      let name = Self.escaped(sheet, Self.sheetSpecials) { Self.isSheetAmbiguous($0, withCells: cells != nil) }
      return cells.map { "\(path)#sheet=\(name)!\($0)" } ?? "\(path)#sheet=\(name)"
    }
    if let lineStart, let lineEnd {
      return lineStart == lineEnd ? "\(path)#L\(lineStart)" : "\(path)#L\(lineStart)-L\(lineEnd)"
    }
    return path
  }

  /// Parses the citation form back into a locator: every locator of a page, lines, a message,
  /// paragraphs, a sheet or a slide reads back equal from its `description`.
  ///
  /// The fragment starts at the last `#`: a path may hold `#` and even whole fragments (a
  /// document inside another, `m.mbox#msg=<id>/attachment=r.pdf`, or a file name), but a
  /// fragment never holds `#`, because `description` writes a `#` in a message id, a folder or
  /// a sheet name as `%23`, with `%` as `%25` (and `&` of a folder holding `&msg=` as `%26`,
  /// `!` of a sheet name that would read as a range as `%21`). Only a value holding one of
  /// these, or an escape, is escaped: every other citation is the plain text it always was.
  ///
  /// A whole file's locator (no page, lines…) is its bare path, which is not a citation; the
  /// one that does not read back is a whole file whose path ends in what reads as a fragment
  /// (`z.zip#member=x#L5`: lines 5 of `z.zip#member=x`). Extractors never write whole-file
  /// locators; `StoredLocators` keeps such text as it is.
  ///
  /// - Returns: `nil` when `text` is not a citation: no `#`, an empty path, or a fragment
  ///   that is none of `page=N`, `LN`, `LN-LM`, `msg=ID`, `folder=F&msg=ID`, `para=N`,
  ///   `para=N-M`, `slide=N`, `sheet=NAME`, `sheet=NAME!CELLS`.
  public init?(citation text: Substring) {
    var text = text
    // On the UTF-8 bytes in place (`withUTF8` copies only text that is not contiguous).
    guard let locator = text.withUTF8({ Self.parse(Bytes(rebasing: $0[...])) }) else { return nil }
    self = locator
  }

  /// A citation's UTF-8 bytes, or a part of them.
  private typealias Bytes = UnsafeBufferPointer<UInt8>

  /// The locator `citation` names, read as `init?(citation:)` says.
  private static func parse(_ citation: Bytes) -> Locator? {
    guard let hash = citation.lastIndex(of: UInt8(ascii: "#")), hash != 0 else { return nil }
    let path = string(citation, 0..<hash)
    let f = hash + 1  // the fragment's first byte
    let end = citation.count
    if f < end, citation[f] == UInt8(ascii: "L") {
      guard let dash = citation[(f + 1)...].firstIndex(of: UInt8(ascii: "-")) else {
        guard let line = number(citation, (f + 1)..<end) else { return nil }
        return Locator(path: path, lineStart: line, lineEnd: line)
      }
      guard let start = number(citation, (f + 1)..<dash), dash + 1 < end, citation[dash + 1] == UInt8(ascii: "L"),
        let last = number(citation, (dash + 2)..<end)
      else { return nil }
      return Locator(path: path, lineStart: start, lineEnd: last)
    }
    if let rest = after("page=", citation, f) {
      return number(citation, rest..<end).map { Locator(path: path, page: $0) }
    }
    if let rest = after("msg=", citation, f) {
      return Locator(path: path, message: unescaped(citation, rest..<end))
    }
    if let rest = after("folder=", citation, f) {
      // The first `&msg=`: a folder holding one is written escaped, a message id is not.
      guard let amp = firstIndex(of: "&msg=", citation, rest) else { return nil }
      guard amp + 5 < end else { return nil }
      return Locator(
        path: path, message: unescaped(citation, (amp + 5)..<end), folder: unescaped(citation, rest..<amp))
    }
    if let rest = after("para=", citation, f) {
      let first: Int
      let last: Int
      if let dash = citation[rest...].firstIndex(of: UInt8(ascii: "-")) {
        guard let a = number(citation, rest..<dash), let b = number(citation, (dash + 1)..<end) else { return nil }
        (first, last) = (a, b)
      } else {
        guard let a = number(citation, rest..<end) else { return nil }
        (first, last) = (a, a)
      }
      guard first >= 1, last >= first else { return nil }
      return Locator(path: path, paragraph: first, paragraphEnd: last)
    }
    if let rest = after("slide=", citation, f) {
      return number(citation, rest..<end).map { Locator(path: path, slide: $0) }
    }
    if let rest = after("sheet=", citation, f) {
      // The range follows the last `!`: a sheet's name may hold one, a range never does.
      if let bang = citation[rest...].lastIndex(of: UInt8(ascii: "!")) {
        let cells = string(citation, (bang + 1)..<end)
        if isCellRange(cells[...]) {
          return Locator(path: path, sheet: unescaped(citation, rest..<bang), cells: cells)
        }
      }
      guard rest < end else { return nil }
      return Locator(path: path, sheet: unescaped(citation, rest..<end))
    }
    return nil
  }

  // MARK: - Reading and writing fragments

  /// The text of `bytes[range]`.
  private static func string(_ bytes: Bytes, _ range: Range<Int>) -> String {
    String(decoding: Bytes(rebasing: bytes[range]), as: UTF8.self)
  }

  /// Where the text after `prefix` starts, when `bytes` holds `prefix` at `start`; else nil.
  private static func after(_ prefix: StaticString, _ bytes: Bytes, _ start: Int) -> Int? {
    let count = prefix.utf8CodeUnitCount
    guard bytes.count - start >= count else { return nil }
    for k in 0..<count where bytes[start + k] != prefix.utf8Start[k] { return nil }
    return start + count
  }

  /// Where `literal` first starts in `bytes` at or after `start`.
  private static func firstIndex(of literal: StaticString, _ bytes: Bytes, _ start: Int) -> Int? {
    var i = start
    while let at = bytes[i...].firstIndex(of: literal.utf8Start[0]) {
      if after(literal, bytes, at) != nil { return at }
      i = at + 1
    }
    return nil
  }

  /// The decimal number `bytes[range]` is (1 to 18 ASCII digits, nothing else), else nil.
  private static func number(_ bytes: Bytes, _ range: Range<Int>) -> Int? {
    guard !range.isEmpty, range.count <= 18 else { return nil }
    var value = 0
    for i in range {
      let byte = bytes[i]
      guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
      value = value * 10 + Int(byte - UInt8(ascii: "0"))
    }
    return value
  }

  /// What `description` escapes in a message id, a folder and a sheet name (`%` always).
  private static let messageSpecials: [UInt8] = [UInt8(ascii: "#")]
  private static let folderSpecials: [UInt8] = [UInt8(ascii: "#"), UInt8(ascii: "&")]
  private static let sheetSpecials: [UInt8] = [UInt8(ascii: "#"), UInt8(ascii: "!")]

  private static func isMessageAmbiguous(_ value: String) -> Bool { value.utf8.contains(UInt8(ascii: "#")) }

  /// A folder holding `#`, or `&msg=` (where its message id would be taken to start).
  private static func isFolderAmbiguous(_ value: String) -> Bool {
    value.utf8.contains(UInt8(ascii: "#")) || value.contains("&msg=")
  }

  /// A sheet name holding `#`, or, with no range after it, a `!` followed by what reads as one.
  private static func isSheetAmbiguous(_ value: String, withCells: Bool) -> Bool {
    if value.utf8.contains(UInt8(ascii: "#")) { return true }
    guard !withCells, let bang = value.lastIndex(of: "!") else { return false }
    return isCellRange(value[value.index(after: bang)...])
  }

  /// `value` as a fragment holds it: unchanged, unless `ambiguous` says it would not read back
  /// or it holds an escape (`%21`, `%23`, `%25`, `%26`); then with `%` and `specials` escaped.
  private static func escaped(_ value: String, _ specials: [UInt8], whenContaining ambiguous: (String) -> Bool)
    -> String
  {
    guard ambiguous(value) || containsEscape(value[...].utf8) else { return value }
    var out: [UInt8] = []
    out.reserveCapacity(value.utf8.count + 8)
    for byte in value.utf8 {
      if byte == UInt8(ascii: "%") || specials.contains(byte) {
        out += [UInt8(ascii: "%"), UInt8(ascii: "2"), hexDigit(byte & 0x0F)]
      } else {
        out.append(byte)
      }
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// The escaped characters are all 0x2_: `!` 21, `#` 23, `%` 25, `&` 26.
  private static func hexDigit(_ low: UInt8) -> UInt8 {
    low < 10 ? UInt8(ascii: "0") + low : UInt8(ascii: "A") + low - 10
  }

  /// The character an escape `%2X` stands for, or nil when it is not one of the four.
  private static func escapedByte(_ digit: UInt8) -> UInt8? {
    switch digit {
    case UInt8(ascii: "1"): UInt8(ascii: "!")
    case UInt8(ascii: "3"): UInt8(ascii: "#")
    case UInt8(ascii: "5"): UInt8(ascii: "%")
    case UInt8(ascii: "6"): UInt8(ascii: "&")
    default: nil
    }
  }

  private static func containsEscape<Text: Collection<UInt8>>(_ text: Text) -> Bool {
    var i = text.startIndex
    while let percent = text[i...].firstIndex(of: UInt8(ascii: "%")) {
      let two = text.index(after: percent)
      guard two != text.endIndex else { return false }
      let three = text.index(after: two)
      if text[two] == UInt8(ascii: "2"), three != text.endIndex, escapedByte(text[three]) != nil { return true }
      i = two
    }
    return false
  }

  /// A fragment's value read back: the escapes `description` writes undone (nothing else is).
  private static func unescaped(_ bytes: Bytes, _ range: Range<Int>) -> String {
    let value = Bytes(rebasing: bytes[range])
    guard containsEscape(value) else { return String(decoding: value, as: UTF8.self) }
    var out: [UInt8] = []
    out.reserveCapacity(value.count)
    var i = 0
    while i < value.count {
      if value[i] == UInt8(ascii: "%"), i + 2 < value.count, value[i + 1] == UInt8(ascii: "2"),
        let decoded = escapedByte(value[i + 2])
      {
        out.append(decoded)
        i += 3
      } else {
        out.append(value[i])
        i += 1
      }
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// Whether `text` is a cell or a range of cells: `A1`, `B2:F40`, `$A$1:$C$9`.
  static func isCellRange(_ text: Substring) -> Bool {
    let parts = text.split(separator: ":", omittingEmptySubsequences: false)
    guard parts.count == 1 || parts.count == 2 else { return false }
    return parts.allSatisfy { part in
      let cell = part.filter { $0 != "$" }
      let letters = cell.prefix { $0.isASCII && $0.isLetter }
      let digits = cell.dropFirst(letters.count)
      return (1...3).contains(letters.count) && !digits.isEmpty && digits.allSatisfy { $0.isASCII && $0.isNumber }
    }
  }

  /// The smallest locator covering `self` and `other` in the same file and unit.
  public func merged(with other: Locator) -> Locator? {
    guard path == other.path, page == nil, other.page == nil, message == nil, other.message == nil,
      paragraph == nil, other.paragraph == nil, sheet == nil, other.sheet == nil, slide == nil, other.slide == nil,
      let a = lineStart, let b = lineEnd, let c = other.lineStart, let d = other.lineEnd
    else { return nil }
    return Locator(path: path, lineStart: min(a, c), lineEnd: max(b, d))
  }
}
