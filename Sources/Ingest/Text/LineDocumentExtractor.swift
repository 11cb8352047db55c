import Foundation

/// Extracts source files and plain text/Markdown into sections of whole
/// lines with `path#Lx-Ly` locators, breaking at blank lines and top-level
/// declarations where it can.
struct LineDocumentExtractor {
  var kind: DocumentKind
  var maxLines = 80
  var maxBytes = 6000
  /// Replace secrets with `[REDACTED:kind]`.
  var redact = true

  func extract(path: String, displayPath: String) throws -> ExtractedDocument {
    let data: Data
    do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
      throw IngestError.unreadable(path: path, reason: (error as NSError).localizedDescription)
    }
    let text = TextLines(data)
    let lines = text.lines
    let ranges = LineGrouper.group(lines, maxLines: maxLines, maxBytes: maxBytes) { i in
      let line = lines[i]
      if kind == .text { return line.hasPrefix("#") || (i > 0 && lines[i - 1].allSatisfy(\.isWhitespace)) }
      // Code: a non-indented line after a blank line starts a unit.
      guard let first = line.first, !first.isWhitespace else { return false }
      return i > 0 && lines[i - 1].allSatisfy(\.isWhitespace)
    }
    var sections: [Section] = []
    var redactor = Redactor(enabled: redact)
    for r in ranges {
      let body = lines[r].joined(separator: "\n")
      if body.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { continue }
      let locator = Locator(path: displayPath, lineStart: r.lowerBound + 1, lineEnd: r.upperBound)
      sections.append(Section(locator: locator, text: redactor.redact(body, locator: locator)))
    }
    var meta = ["lines": String(lines.count)]
    if kind == .code, let lang = Languages.name(forPath: path) { meta["language"] = lang }
    return ExtractedDocument(
      kind: kind, metadata: meta, sections: sections, warnings: text.warnings + redactor.warnings, extractor: "lines-2")
  }
}
