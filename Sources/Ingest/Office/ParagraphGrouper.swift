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
