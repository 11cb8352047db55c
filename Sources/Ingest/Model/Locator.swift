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
      if let folder { return "\(path)#folder=\(folder)&msg=\(message)" }
      return "\(path)#msg=\(message)"
    }
    if let paragraph {
      if let paragraphEnd, paragraphEnd != paragraph { return "\(path)#para=\(paragraph)-\(paragraphEnd)" }
      return "\(path)#para=\(paragraph)"
    }
    if let slide { return "\(path)#slide=\(slide)" }
    if let sheet { return cells.map { "\(path)#sheet=\(sheet)!\($0)" } ?? "\(path)#sheet=\(sheet)" }
    if let lineStart, let lineEnd {
      return lineStart == lineEnd ? "\(path)#L\(lineStart)" : "\(path)#L\(lineStart)-L\(lineEnd)"
    }
    return path
  }

  /// Parses the citation form back into a locator.
  ///
  /// - Returns: `nil` when `text` is not a citation.
  public init?(citation text: Substring) {
    guard let hash = text.lastIndex(of: "#") else { return nil }
    let path = String(text[..<hash])
    let frag = text[text.index(after: hash)...]
    guard !path.isEmpty else { return nil }
    if frag.hasPrefix("page="), let page = Int(frag.dropFirst(5)) {
      self.init(path: path, page: page)
    } else if frag.hasPrefix("msg=") {
      self.init(path: path, message: String(frag.dropFirst(4)))
    } else if frag.hasPrefix("folder="), let amp = frag.range(of: "&msg=", options: .backwards) {
      let folder = frag[frag.index(frag.startIndex, offsetBy: 7)..<amp.lowerBound]
      let message = frag[amp.upperBound...]
      guard !message.isEmpty else { return nil }
      self.init(path: path, message: String(message), folder: String(folder))
    } else if frag.hasPrefix("para=") {
      let parts = frag.dropFirst(5).split(separator: "-", omittingEmptySubsequences: false)
      guard parts.count <= 2, let first = Int(parts[0]), first >= 1 else { return nil }
      let last = parts.count == 2 ? Int(parts[1]) : first
      guard let last, last >= first else { return nil }
      self.init(path: path, paragraph: first, paragraphEnd: last)
    } else if frag.hasPrefix("slide="), let slide = Int(frag.dropFirst(6)) {
      self.init(path: path, slide: slide)
    } else if frag.hasPrefix("sheet=") {
      // The range follows the last `!`: a sheet's name may hold one, a range never does.
      let rest = frag.dropFirst(6)
      if let bang = rest.lastIndex(of: "!"), Self.isCellRange(rest[rest.index(after: bang)...]) {
        self.init(path: path, sheet: String(rest[..<bang]), cells: String(rest[rest.index(after: bang)...]))
      } else {
        guard !rest.isEmpty else { return nil }
        self.init(path: path, sheet: String(rest))
      }
    } else if frag.hasPrefix("L") {
      let parts = frag.split(separator: "-")
      guard let start = Int(parts[0].dropFirst()) else { return nil }
      var end = start
      if parts.count == 2 {
        guard parts[1].hasPrefix("L"), let e = Int(parts[1].dropFirst()) else { return nil }
        end = e
      } else if parts.count > 2 {
        return nil
      }
      self.init(path: path, lineStart: start, lineEnd: end)
    } else {
      return nil
    }
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
