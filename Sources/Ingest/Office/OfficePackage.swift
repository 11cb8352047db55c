/// An OOXML package read whole: which application's it is (by its main part's
/// content type, never by the file name), its text and its metadata.
enum OfficePackage {
  /// Reads `parts`, citing `path`.
  ///
  /// - Throws: `OfficeError` when the package is not a Word, Excel or PowerPoint document.
  static func read(_ parts: any OfficePartSource, path: String) throws -> OfficeContent {
    guard let (flavour, main) = mainPart(parts) else {
      throw OfficeError.notOffice("it holds no Word, Excel or PowerPoint main part")
    }
    var content: OfficeContent
    switch flavour {
    case .word: content = try WordDocumentReader().read(parts, main: main, path: path)
    case .excel: content = try SpreadsheetReader().read(parts, main: main, path: path)
    case .powerpoint: content = try PresentationReader().read(parts, main: main, path: path)
    }
    let properties = OfficeProperties.read(parts)
    content.metadata.merge(properties) { ours, _ in ours }
    if let title = properties["title"]?.trimmingWhitespace, !title.isEmpty { content.title = title }
    return content
  }

  /// The application and main part: the `officeDocument` relationship of the package, checked against
  /// `[Content_Types].xml`; failing that, the usual part names.
  static func mainPart(_ parts: any OfficePartSource) -> (OfficeContent.Flavour, String)? {
    let types = parts.contentTypes()
    func flavour(of part: String) -> OfficeContent.Flavour? {
      let type =
        types.overrides[part]
        ?? types.defaults[
          OfficePaths.split(part).file.split(separator: ".").last
            .map { $0.lowercased() } ?? ""]
      guard let type else { return nil }
      if type.contains("wordprocessingml") || type.contains("ms-word") { return .word }
      if type.contains("spreadsheetml") || type.contains("ms-excel") { return .excel }
      if type.contains("presentationml") || type.contains("ms-powerpoint") { return .powerpoint }
      return nil
    }
    for relation in parts.relationships(of: "") where relation.type == "officeDocument" && !relation.isExternal {
      if let found = flavour(of: relation.target) { return (found, relation.target) }
    }
    // A package without its root relationships: the parts' content types, then the conventional names.
    for (part, _) in types.overrides.sorted(by: { $0.key < $1.key }) {
      if let found = flavour(of: part), !part.contains("/_rels/"), isMain(part) { return (found, part) }
    }
    let names = Set(parts.partNames)
    if names.contains("word/document.xml") { return (.word, "word/document.xml") }
    if names.contains("xl/workbook.xml") { return (.excel, "xl/workbook.xml") }
    if names.contains("ppt/presentation.xml") { return (.powerpoint, "ppt/presentation.xml") }
    return nil
  }

  private static func isMain(_ part: String) -> Bool {
    let file = OfficePaths.split(part).file
    return ["document.xml", "workbook.xml", "presentation.xml"].contains(file)
  }
}

/// The document properties in `docProps/core.xml` and `docProps/app.xml` under the metadata keys productions read.
enum OfficeProperties {
  private static let core: [String: String] = [
    "creator": "author", "lastModifiedBy": "lastModifiedBy", "created": "created", "modified": "modified",
    "lastPrinted": "lastPrinted", "title": "title", "subject": "subject", "revision": "revision",
    "keywords": "keywords", "description": "description", "category": "category",
  ]
  private static let app: [String: String] = ["Company": "company", "Application": "application", "Manager": "manager"]

  static func read(_ parts: any OfficePartSource) -> [String: String] {
    var out: [String: String] = [:]
    let relations = parts.relationships(of: "")
    let corePart =
      relations.first { $0.type == "core-properties" || $0.type == "metadata/core-properties" }?.target
      ?? "docProps/core.xml"
    let appPart = relations.first { $0.type == "extended-properties" }?.target ?? "docProps/app.xml"
    collect(parts, corePart, keys: core, into: &out)
    collect(parts, appPart, keys: app, into: &out)
    return out
  }

  private static func collect(
    _ parts: any OfficePartSource, _ part: String, keys: [String: String], into out: inout [String: String]
  ) {
    guard let bytes = try? parts.read(part, limit: 1 << 20)?.bytes else { return }
    var scanner = XMLScanner(bytes)
    var key: String?
    var depth = 0
    var value = ""
    while let token = scanner.next() {
      switch token {
      case .start(let tag):
        depth += 1
        if depth == 2 { key = keys[tag.name] }
        value = ""
      case .end:
        if depth == 2, let found = key {
          let trimmed = value.trimmingWhitespace
          if !trimmed.isEmpty, out[found] == nil { out[found] = trimmed }
          key = nil
        }
        depth -= 1
      case .text(let range, let cdata):
        if key != nil, depth == 2 { value += scanner.text(range, cdata: cdata) }
      }
    }
  }
}
