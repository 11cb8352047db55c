/// Why an Office Open XML package could not be read (mapped to `IngestError` by `OfficeExtractor`).
enum OfficeError: Error, Equatable {
  /// Not a ZIP, or a damaged one.
  case notAPackage(String)
  /// A ZIP without the parts of a Word, Excel or PowerPoint file.
  case notOffice(String)
  /// A part that would expand past the limits.
  case bomb(part: String, limit: Int)
}
