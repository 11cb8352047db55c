/// Reads a PresentationML package (pptx, pptm, potx, potm, ppsx, ppsm).
///
/// One section per slide in presentation order, cited `#slide=N`: the text
/// of its shapes in order (tables as rows of cells joined by " | "),
/// SmartArt text, then speaker notes (`[notes] …`) and comments
/// (`[comment by Jane Doe] …`). Hidden slides are flagged.
struct PresentationReader {
  /// Placeholders of a notes page that are not notes: the slide image, number, date, header and footer.
  private static let notesFurniture: Set<String> = ["sldImg", "sldNum", "dt", "hdr", "ftr"]

  func read(_ parts: any OfficePartSource, main: String, path: String) throws -> OfficeContent {
    var content = OfficeContent(flavour: .powerpoint)
    guard let bytes = try parts.read(main) else {
      throw OfficeError.notOffice("its presentation part \(main) is missing")
    }
    let relationships = parts.relationships(of: main)
    var slideParts: [String] = []
    var scanner = XMLScanner(bytes)
    while let token = scanner.next() {
      guard case .start(let tag) = token, tag.name == "sldId", let id = tag.relationship("id"),
        let target = relationships.first(where: { $0.id == id && !$0.isExternal })?.target
      else { continue }
      slideParts.append(target)
    }
    let authors = Self.commentAuthors(parts)
    var hidden: [Int] = []
    var notesCount = 0
    var commentCount = 0
    var budget = OfficeLimits.maxTextBytes
    for (index, part) in slideParts.enumerated() {
      let number = index + 1
      guard let (slideBytes, _) = try parts.read(part, limit: OfficeLimits.maxXMLPartBytes) else { continue }
      var lines: [String] = []
      if Self.isHidden(slideBytes) {
        hidden.append(number)
        lines.append("[hidden slide]")
      }
      let slideRelationships = parts.relationships(of: part)
      let slide = TextFlowReader.read(
        slideBytes, textLimit: budget, charts: ChartReader.charts(parts, relationships: slideRelationships))
      lines += slide.paragraphs.map(\.text)
      for diagram in slideRelationships where diagram.type == "diagramData" && !diagram.isExternal {
        guard let data = try? parts.read(diagram.target) else { continue }
        lines += TextFlowReader.read(data, textLimit: budget).paragraphs.map(\.text)
      }
      if let notesPart = slideRelationships.first(where: { $0.type == "notesSlide" && !$0.isExternal })?.target,
        let notesBytes = try? parts.read(notesPart)
      {
        let notes = TextFlowReader.read(notesBytes, textLimit: budget, droppedPlaceholders: Self.notesFurniture)
        if !notes.paragraphs.isEmpty { notesCount += 1 }
        lines += notes.paragraphs.map { "[notes] " + $0.text }
      }
      for comments in slideRelationships where comments.type == "comments" && !comments.isExternal {
        guard let commentBytes = try? parts.read(comments.target) else { continue }
        let found = Self.comments(commentBytes, authors: authors)
        commentCount += found.count
        lines += found
      }
      let text = lines.joined(separator: "\n")
      budget -= text.utf8.count
      guard budget > 0 else {
        content.warnings.append("the text was cut at \(OfficeLimits.maxTextBytes >> 20) MB, after slide \(number)")
        break
      }
      guard !text.isEmpty else { continue }
      content.sections.append(OfficeSection(locator: Locator(path: path, slide: number), text: text))
    }
    content.metadata["slides"] = String(slideParts.count)
    content.pageCount = slideParts.count
    var held: [String] = []
    if !hidden.isEmpty {
      held.append(
        "\(hidden.count) hidden slide\(hidden.count == 1 ? "" : "s") (\(hidden.map(String.init).joined(separator: ", ")))"
      )
    }
    if notesCount > 0 { held.append("speaker notes on \(notesCount) slide\(notesCount == 1 ? "" : "s")") }
    if commentCount > 0 { held.append("\(commentCount) comment\(commentCount == 1 ? "" : "s")") }
    if !held.isEmpty { content.warnings.append("the presentation holds " + held.joined(separator: "; ")) }
    content.objects = OfficeObjects.embedded(in: parts)
    return content
  }

  /// Whether the slide's root element says `show="0"`.
  private static func isHidden(_ bytes: [UInt8]) -> Bool {
    var scanner = XMLScanner(bytes)
    while let token = scanner.next() {
      if case .start(let tag) = token {
        guard tag.name == "sld" else { return false }
        return tag.value("show").map { $0 == "0" || $0 == "false" } ?? false
      }
    }
    return false
  }

  /// Comment authors by id, from the legacy `commentAuthors.xml` and the modern `authors.xml`.
  private static func commentAuthors(_ parts: any OfficePartSource) -> [String: String] {
    var authors: [String: String] = [:]
    for name in parts.partNames {
      let lowered = name.lowercased()
      guard lowered == "ppt/commentauthors.xml" || lowered == "ppt/authors.xml",
        let bytes = try? parts.read(name)
      else { continue }
      var scanner = XMLScanner(bytes)
      while let token = scanner.next() {
        if case .start(let tag) = token, tag.name == "cmAuthor" || tag.name == "author", let id = tag.value("id"),
          let author = tag.value("name")
        {
          authors[id] = author
        }
      }
    }
    return authors
  }

  /// `[comment by Jane Doe] text` for each comment of a slide's comments part (legacy or modern).
  private static func comments(_ bytes: [UInt8], authors: [String: String]) -> [String] {
    var scanner = XMLScanner(bytes)
    var out: [String] = []
    var author: String?
    var inComment = 0
    var collecting = false
    var current = ""
    var replyDepth = 0
    while let token = scanner.next() {
      switch token {
      case .start(let tag):
        switch tag.name {
        case "cm", "reply":
          if inComment > 0, !current.trimmingWhitespace.isEmpty {
            out.append(line(author: author, text: current))
          }
          inComment += 1
          if tag.name == "reply" { replyDepth += 1 }
          author = tag.value("authorId").flatMap { authors[$0] }
          current = ""
        case "text", "t": collecting = inComment > 0
        case "p": if collecting || inComment > 0, !current.isEmpty { current += " " }
        default: break
        }
      case .end(let name):
        switch name {
        case "cm", "reply":
          if !current.trimmingWhitespace.isEmpty { out.append(line(author: author, text: current)) }
          current = ""
          inComment = max(0, inComment - 1)
        case "text", "t": collecting = false
        default: break
        }
      case .text(let range, let cdata):
        if collecting { current += scanner.text(range, cdata: cdata) }
      }
    }
    return out
  }

  private static func line(author: String?, text: String) -> String {
    let by = author.map { "comment by \($0)" } ?? "comment"
    return "[\(by)] \(text.trimmingWhitespace.replacingNewlines)"
  }
}
