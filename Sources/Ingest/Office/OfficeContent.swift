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
