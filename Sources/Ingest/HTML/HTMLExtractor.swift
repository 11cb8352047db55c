import Foundation

/// Reads an HTML file as text, the way HTML mail bodies are read
/// (`HTMLText`): tags and scripts dropped, entities decoded, block elements
/// as paragraphs. Sections are groups of paragraphs cited `page.html#para=3-9`.
struct HTMLExtractor: Extractor {
  /// The most paragraphs in one section.
  var maxParagraphs = 40
  /// The most bytes in one section (a longer paragraph is a section of its own).
  var maxBytes = 6000

  func extract(_ input: ExtractionInput) throws -> Extraction {
    let data: Data
    do { data = try Data(contentsOf: URL(fileURLWithPath: input.path)) } catch {
      throw IngestError.unreadable(path: input.path, reason: (error as NSError).localizedDescription)
    }
    let html = Charsets.decode([UInt8](data), charset: Self.declaredCharset(data))
    let text = HTMLText.text(from: html)
    let paragraphs = text.components(separatedBy: "\n")
      .map { $0.trimmingCharacters(in: .whitespaces) }
      .filter { !$0.isEmpty }
    var sections: [Section] = []
    var redactor = Redactor(enabled: input.options.redact)
    var start = 0
    while start < paragraphs.count {
      var end = start
      var bytes = paragraphs[start].utf8.count
      while end + 1 < paragraphs.count, end + 1 - start < maxParagraphs,
        bytes + paragraphs[end + 1].utf8.count <= maxBytes
      {
        end += 1
        bytes += paragraphs[end].utf8.count
      }
      let locator = Locator(path: input.displayPath, paragraph: start + 1, paragraphEnd: end + 1)
      let body = paragraphs[start...end].joined(separator: "\n")
      sections.append(Section(locator: locator, text: redactor.redact(body, locator: locator)))
      start = end + 1
    }
    var metadata = ["paragraphs": String(paragraphs.count)]
    let title = Self.title(html)
    if let title { metadata["title"] = title }
    return Extraction(
      document: ExtractedDocument(
        kind: .html, title: title, metadata: metadata, sections: sections, warnings: redactor.warnings,
        extractor: DocumentKind.html.extractorVersion))
  }

  /// The charset a `<meta>` tag declares in the first 4 KiB, or `nil` (UTF-8 then Latin-1).
  static func declaredCharset(_ data: Data) -> String? {
    let head = String(decoding: data.prefix(4096), as: UTF8.self).lowercased()
    guard let range = head.range(of: "charset=") else { return nil }
    let rest = head[range.upperBound...].drop { $0 == "\"" || $0 == "'" }
    let name = rest.prefix { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }
    return name.isEmpty ? nil : String(name)
  }

  /// The text of the first `<title>` element, or `nil`.
  static func title(_ html: String) -> String? {
    guard let open = html.range(of: "<title", options: .caseInsensitive),
      let close = html.range(of: ">", range: open.upperBound..<html.endIndex),
      let end = html.range(of: "</title>", options: .caseInsensitive, range: close.upperBound..<html.endIndex)
    else { return nil }
    let title = HTMLText.text(from: String(html[close.upperBound..<end.lowerBound]))
      .trimmingCharacters(in: .whitespacesAndNewlines)
    return title.isEmpty ? nil : title
  }
}
