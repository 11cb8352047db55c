/// A piece of an Office document's text with its locator.
struct OfficeSection {
  var locator: Locator
  var text: String
}

/// What the Word, Excel and PowerPoint readers make of a package, before
/// `OfficeExtractor` turns it into an `ExtractedDocument` (redacting, naming children).
struct OfficeContent {
  /// Which application's document it is.
  enum Flavour: String {
    case word, excel, powerpoint
  }

  var flavour: Flavour
  var sections: [OfficeSection] = []
  var title: String?
  var metadata: [String: String] = [:]
  var warnings: [String] = []
  /// Parts that are embedded objects or attached files, passed on as children.
  var objects: [String] = []
  /// Slides of a presentation.
  var pageCount: Int?
}

/// Numbered paragraphs grouped into sections cited `#para=first-last`.
struct ParagraphGrouper {
  /// The most paragraphs in one section.
  var maxParagraphs = 40
  /// The most bytes in one section (a longer paragraph is a section of its own).
  var maxBytes = 6000

  /// Sections of `paragraphs`, numbered from `first` (1-based).
  func sections(_ paragraphs: [String], first: Int, path: String) -> [OfficeSection] {
    var out: [OfficeSection] = []
    var start = 0
    while start < paragraphs.count {
      var end = start
      var bytes = paragraphs[start].utf8.count
      while end + 1 < paragraphs.count, end + 1 - start < maxParagraphs,
        bytes + 1 + paragraphs[end + 1].utf8.count <= maxBytes
      {
        end += 1
        bytes += 1 + paragraphs[end].utf8.count
      }
      out.append(
        OfficeSection(
          locator: Locator(path: path, paragraph: first + start, paragraphEnd: first + end),
          text: paragraphs[start...end].joined(separator: "\n")))
      start = end + 1
    }
    return out
  }
}

/// Names of the embedded objects and attached files of a package.
enum OfficeObjects {
  /// Parts under `word/embeddings/`, `xl/embeddings/` or `ppt/embeddings/`, in package order.
  static func embedded(in parts: any OfficePartSource) -> [String] {
    parts.partNames.filter { name in
      let lowered = name.lowercased()
      return ["word/embeddings/", "xl/embeddings/", "ppt/embeddings/"].contains { lowered.hasPrefix($0) }
        && !lowered.hasSuffix("/")
    }
  }

  /// A child's name for part `name`: its file name without `#` or `/`.
  static func childName(_ name: String) -> String {
    let file = OfficePaths.split(name).file
    let cleaned = String(file.map { $0 == "#" || $0 == "/" || $0 == "&" ? "_" : $0 })
    return cleaned.isEmpty ? "object" : cleaned
  }
}
