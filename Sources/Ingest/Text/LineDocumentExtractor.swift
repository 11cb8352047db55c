import Foundation

/// Extracts source files and plain text/Markdown into sections of whole
/// lines with `path#Lx-Ly` locators. Code is cut between top-level
/// declarations (a small file stays whole), a declaration too large for one
/// section between its members, then at blank lines; text at headings and
/// paragraphs.
struct LineDocumentExtractor {
  var kind: DocumentKind
  /// Text: the most lines in a section.
  var maxLines = 80
  /// Code: the most lines in a section (short lines are cheap; a file of
  /// up to this many lines and `maxBytes` stays one section).
  var maxCodeLines = 150
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
    let language = kind == .code ? Languages.name(forPath: path) : nil
    let structure = kind == .code ? CodeStructure(lines: lines, language: language) : nil
    let ranges: [Range<Int>]
    if let structure {
      ranges = LineGrouper.group(
        count: lines.count, maxLines: maxCodeLines, maxBytes: maxBytes, lineBytes: { lines[$0].utf8.count },
        boundary: { structure.boundaries[$0] })
    } else {
      ranges = LineGrouper.group(lines, maxLines: maxLines, maxBytes: maxBytes) { i in
        lines[i].hasPrefix("#") || (i > 0 && lines[i - 1].allSatisfy(\.isWhitespace))
      }
    }
    var sections: [Section] = []
    var redactor = Redactor(enabled: redact)
    for r in ranges {
      let body = lines[r].joined(separator: "\n")
      if body.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { continue }
      let locator = Locator(path: displayPath, lineStart: r.lowerBound + 1, lineEnd: r.upperBound)
      let symbols = structure?.symbols(in: r) ?? []
      sections.append(
        Section(
          locator: locator, text: redactor.redact(body, locator: locator), symbols: symbols.isEmpty ? nil : symbols))
    }
    var meta = ["lines": String(lines.count)]
    if let language { meta["language"] = language }
    return ExtractedDocument(
      kind: kind, metadata: meta, sections: sections, warnings: text.warnings + redactor.warnings,
      extractor: kind.extractorVersion)
  }
}
