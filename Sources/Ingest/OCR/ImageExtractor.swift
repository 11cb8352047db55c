import Foundation

/// Reads an image file (PNG, JPEG, TIFF) with OCR: one section per page,
/// cited like a PDF page (`fax.tif#page=2`; a single image is page 1).
///
/// Each page's dimensions are read from its header before it is decoded: a
/// page past `OCRSettings.maxImagePixels` is refused (a PNG bomb), one past
/// `OCRSettings.maxPixels` is scaled down first, with a warning.
public struct ImageExtractor: Sendable {
  public var ocr: OCRSettings
  /// OCR results kept by the pixels' hash (ingest sets the workspace's).
  var cache: OCRCache?
  /// Pages not to OCR: they crashed an isolated worker (`ExtractionProgress`).
  var skippedOCRPages: Set<Int> = []

  public init(ocr: OCRSettings = OCRSettings()) { self.ocr = ocr }

  /// - Throws: `OCRError.imageUnreadable` when no page can be decoded,
  ///   `.imageTooLarge` for a single image past the pixel limit,
  ///   `.unavailable` when Tesseract lacks the languages.
  public func extract(path: String, displayPath: String) throws -> ExtractedDocument {
    let data: Data
    do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
      throw IngestError.unreadable(path: path, reason: error.localizedDescription)
    }
    return try extract(data: data, path: path, displayPath: displayPath)
  }

  /// Reads the image held in `data`; `path` names it in errors.
  func extract(data: Data, path: String, displayPath: String) throws -> ExtractedDocument {
    let (pages, isTIFF, truncated) = try ImageDecoder.scan(data, path: path)
    let reader = PageOCR(settings: ocr, cache: cache)
    var notes = PageOCR.Notes()
    var sections: [Section] = []
    var warnings: [String] = []
    var undecoded: [(Int, String)] = []
    for (index, page) in pages.enumerated() {
      let number = index + 1
      if page.pixels > OCRSettings.maxImagePixels {
        let error = OCRError.imageTooLarge(
          path: path, width: page.width, height: page.height, limit: OCRSettings.maxImagePixels)
        if pages.count == 1 { throw error }
        undecoded.append((number, "\(page.width) × \(page.height) pixels, past the limit"))
        continue
      }
      if min(page.width, page.height) < Self.minSide {
        warnings.append("page \(number) is \(page.width) × \(page.height) pixels: too small to read")
        continue
      }
      var image: OCRImage
      do { image = try ImageDecoder.decode(data, page: index, isTIFF: isTIFF, path: path) } catch {
        if pages.count == 1 { throw error }
        undecoded.append((number, Self.reason(error)))
        continue
      }
      if page.pixels > OCRSettings.maxPixels {
        let factor = (Double(OCRSettings.maxPixels) / Double(page.pixels)).squareRoot()
        guard let small = image.scaled(by: factor) else {
          undecoded.append((number, "cannot scale a \(page.width) × \(page.height) image down"))
          continue
        }
        image = small
        warnings.append(
          "page \(number) scaled from \(page.width) × \(page.height) to \(image.width) × \(image.height) pixels before OCR (limit \(OCRSettings.maxPixels / 1_000_000) megapixels)"
        )
      }
      if skippedOCRPages.contains(number) {
        notes.failed.append((number, PageOCR.crashedReason))
        continue
      }
      ExtractionProgress.report(page: number)
      if let read = reader.read(image, number: number, notes: &notes) {
        sections.append(Section(locator: Locator(path: displayPath, page: number), text: read.text, ocr: read.info))
      }
    }
    if !undecoded.isEmpty && undecoded.count == pages.count {
      throw OCRError.imageUnreadable(
        path: path, reason: undecoded.map { "page \($0.0): \($0.1)" }.joined(separator: "; "))
    }
    for (number, reason) in undecoded { warnings.append("page \(number) could not be decoded: \(reason)") }
    if truncated {
      warnings.append(
        "the file ends inside the directory of page \(pages.count + 1) (truncated?): pages after \(pages.count) are lost"
      )
    }
    // A missing language fails every page: the file failed, not its pages.
    if sections.isEmpty, let (_, reason) = notes.failed.first, notes.failed.count == pages.count {
      throw OCRError.failed(reason: reason)
    }
    warnings += notes.warnings()
    var metadata = notes.metadata
    metadata["pages"] = String(pages.count)
    metadata["image.size"] = pages.first.map { "\($0.width)x\($0.height)" }
    return ExtractedDocument(
      kind: .image, title: nil, metadata: metadata, sections: sections, pageCount: pages.count, warnings: warnings,
      extractor: DocumentKind.image.withOCREngine)
  }

  /// Pixels on the shorter side at least: Tesseract cannot read smaller images.
  static let minSide = 3

  /// The reason inside an image error, without the path it names.
  private static func reason(_ error: any Error) -> String {
    if case OCRError.imageUnreadable(_, let reason) = error { return reason }
    return error.userDescription
  }
}
