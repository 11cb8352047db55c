/// Reads a WordprocessingML package (docx, docm, dotx, dotm).
///
/// The body comes first, one numbered paragraph per paragraph or table row;
/// then headers, footers, footnotes, endnotes and comments, each as sections
/// of their own with labelled paragraphs (`[header] …`, `[comment by Jane
/// Doe] …`) whose numbers continue after the body's.
struct WordDocumentReader {
  var grouper = ParagraphGrouper()

  /// The content of the package whose main part is `main`.
  func read(_ parts: any OfficePartSource, main: String, path: String) throws -> OfficeContent {
    var content = OfficeContent(flavour: .word)
    guard let (bytes, cut) = try parts.read(main, limit: OfficeLimits.maxXMLPartBytes) else {
      throw OfficeError.notOffice("its main part \(main) is missing")
    }
    if cut {
      content.warnings.append(
        "the document body is over \(OfficeLimits.maxXMLPartBytes >> 20) MB; the rest was not read")
    }
    let relationships = parts.relationships(of: main)
    let numbering = Self.numbering(parts, relationships: relationships)
    let body = TextFlowReader.read(
      bytes, numbering: numbering, charts: ChartReader.charts(parts, relationships: relationships))
    var tally = Tally()
    tally.add(body)
    var paragraphs = body.paragraphs.map(\.text)
    content.sections = grouper.sections(paragraphs, first: 1, path: path)
    let bodyCount = paragraphs.count

    // Headers, footers, notes and comments, after the body.
    var extraParts: [(label: String, flow: TextFlow)] = []
    for type in ["header", "footer", "footnotes", "endnotes", "comments"] {
      let targets = relationships.filter { $0.type == type && !$0.isExternal }.map(\.target)
      for target in Self.naturalOrder(Array(Set(targets))) {
        guard let (partBytes, _) = try? parts.read(target, limit: OfficeLimits.maxXMLPartBytes) else { continue }
        let flow = TextFlowReader.read(
          partBytes, textLimit: max(0, OfficeLimits.maxTextBytes - tally.bytes), numbering: numbering,
          charts: ChartReader.charts(parts, relationships: parts.relationships(of: target)))
        tally.add(flow)
        extraParts.append((type, flow))
      }
    }
    var seenHeaders = Set<String>()
    for (type, flow) in extraParts {
      var labelled: [String] = []
      for (text, container) in flow.paragraphs {
        let label = Self.label(type: type, container: container.map { flow.containers[$0] })
        labelled.append("[\(label)] \(text)")
      }
      // The same header on first, even and odd pages is one header.
      if type == "header" || type == "footer" {
        let joined = labelled.joined(separator: "\n")
        guard !labelled.isEmpty, seenHeaders.insert(joined).inserted else { continue }
      }
      content.sections += grouper.sections(labelled, first: paragraphs.count + 1, path: path)
      paragraphs += labelled
      if type == "comments" { tally.comments += flow.containers.count }
    }

    content.metadata["paragraphs"] = String(bodyCount)
    content.warnings += tally.warnings
    content.objects = OfficeObjects.embedded(in: parts)
    return content
  }

  /// The document's lists (`numbering.xml` and its paragraph styles), if it has any.
  private static func numbering(_ parts: any OfficePartSource, relationships: [OfficeRelationship]) -> WordNumbering? {
    func part(_ type: String) -> [UInt8]? {
      guard let target = relationships.first(where: { $0.type == type && !$0.isExternal })?.target else { return nil }
      return (try? parts.read(target, limit: OfficeLimits.maxXMLPartBytes))?.bytes
    }
    return WordNumbering.read(numbering: part("numbering"), styles: part("styles"))
  }

  /// `header`, `footnote 2`, `comment by Jane Doe`.
  private static func label(type: String, container: XMLTag?) -> String {
    switch type {
    case "footnotes": return container?.value("id").map { "footnote \($0)" } ?? "footnote"
    case "endnotes": return container?.value("id").map { "endnote \($0)" } ?? "endnote"
    case "comments":
      let author = container?.value("author").map { $0.trimmingWhitespace } ?? ""
      return author.isEmpty ? "comment" : "comment by \(author)"
    default: return type
    }
  }

  /// Part names with their numbers in numeric order (`header2` before `header10`).
  static func naturalOrder(_ names: [String]) -> [String] {
    names.sorted { a, b in
      let (na, nb) = (Int(a.filter(\.isNumber)) ?? 0, Int(b.filter(\.isNumber)) ?? 0)
      return na != nb ? na < nb : a < b
    }
  }

  /// What the document holds that a reviewer should know about.
  private struct Tally {
    var insertions = 0
    var deletions = 0
    var moves = 0
    var markChanges = 0
    var formatChanges = 0
    var hidden = 0
    var comments = 0
    var truncated = false
    var bytes = 0

    mutating func add(_ flow: TextFlow) {
      insertions += flow.insertions
      deletions += flow.deletions
      moves += flow.moves
      markChanges += flow.markChanges
      formatChanges += flow.formatChanges
      hidden += flow.hiddenSpans
      truncated = truncated || flow.truncated
      bytes += flow.paragraphs.reduce(0) { $0 + $1.text.utf8.count }
    }

    var warnings: [String] {
      var out: [String] = []
      var held: [String] = []
      if insertions + deletions + moves + markChanges + formatChanges > 0 {
        var parts = ["\(insertions) insertion\(insertions == 1 ? "" : "s")"]
        parts.append("\(deletions) deletion\(deletions == 1 ? "" : "s")")
        if moves > 0 { parts.append("\(moves) move\(moves == 1 ? "" : "s")") }
        if markChanges > 0 {
          parts.append("\(markChanges) inserted or deleted paragraph mark\(markChanges == 1 ? "" : "s")")
        }
        if formatChanges > 0 { parts.append("\(formatChanges) formatting change\(formatChanges == 1 ? "" : "s")") }
        held.append("tracked changes (\(parts.joined(separator: ", ")); marked [inserted: …] / [deleted: …])")
      }
      if comments > 0 { held.append("\(comments) comment\(comments == 1 ? "" : "s")") }
      if hidden > 0 { held.append("hidden text in \(hidden) place\(hidden == 1 ? "" : "s") (marked [hidden: …])") }
      if !held.isEmpty { out.append("the document holds " + held.joined(separator: "; ")) }
      if truncated { out.append("the text was cut at \(OfficeLimits.maxTextBytes >> 20) MB") }
      return out
    }
  }
}
