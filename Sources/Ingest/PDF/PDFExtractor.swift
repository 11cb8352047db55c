import Foundation

/// Extracts one section per PDF page, with the page number as locator.
struct PDFExtractor {
  var password: String?

  func extract(path: String, displayPath: String) throws -> ExtractedDocument {
    let pdf = try PopplerDocument(path: path, password: password)
    var sections: [Section] = []
    var empty: [Int] = []
    for index in 0..<pdf.pageCount {
      let text = Self.joiningHyphenatedWords(pdf.text(ofPage: index))
      if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
        empty.append(index + 1)
        continue
      }
      sections.append(Section(locator: Locator(path: displayPath, page: index + 1), text: text))
    }
    var warnings: [String] = []
    if !empty.isEmpty { warnings.append("no text layer: pages \(PageRanges.describe(empty))") }
    let meta = pdf.metadata
    return ExtractedDocument(
      kind: .pdf, title: meta["title"], metadata: meta, sections: sections,
      pageCount: pdf.pageCount, warnings: warnings,
      extractor: DocumentKind.pdf.extractorVersion)
  }
}

extension PDFExtractor {
  /// Joins a word hyphenated at a line end ("Analyt-\nics" → "Analytics",
  /// "OP-\nTIONAL" → "OPTIONAL"), as `pdftotext` does, when letters stand on
  /// both sides; "2026-\n03" and "end -\nnext" stay. Like `pdftotext`, it
  /// also joins a compound that happens to break there ("Smith-\nJones").
  static func joiningHyphenatedWords(_ text: String) -> String {
    guard text.contains("-\n") else { return text }
    let scalars = Array(text.unicodeScalars)
    var kept = String.UnicodeScalarView()
    var i = 0
    while i < scalars.count {
      if scalars[i] == "-", i > 0, i + 2 < scalars.count, scalars[i + 1] == "\n",
        scalars[i - 1].properties.isAlphabetic, scalars[i + 2].properties.isAlphabetic
      {
        i += 2  // drop the hyphen and the newline
        continue
      }
      kept.append(scalars[i])
      i += 1
    }
    return String(kept)
  }
}

/// Describes page numbers compactly: [3,4,5,7] → "3-5, 7".
enum PageRanges {
  static func describe(_ pages: [Int]) -> String {
    var parts: [String] = []
    var i = 0
    let sorted = pages.sorted()
    while i < sorted.count {
      var j = i
      while j + 1 < sorted.count && sorted[j + 1] == sorted[j] + 1 { j += 1 }
      parts.append(i == j ? "\(sorted[i])" : "\(sorted[i])-\(sorted[j])")
      i = j + 1
    }
    return parts.joined(separator: ", ")
  }
}
