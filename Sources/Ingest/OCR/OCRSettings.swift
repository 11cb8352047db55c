import Foundation

/// Which pages ingest reads with OCR.
public enum OCRMode: String, Codable, Sendable, Hashable, CaseIterable {
  /// Pages without a text layer, and pages whose text layer is nearly empty
  /// while an image covers most of the page; a page with a real text layer
  /// (a scanner's invisible OCR layer included) keeps it. Image files always.
  case auto
  /// Every page, whatever its text layer.
  case force
  /// No OCR: pages without a text layer are reported, image files skipped.
  case off
}

/// How ingest OCRs scanned pages and images (`--ocr`, the job file's `ocr:`).
public struct OCRSettings: Codable, Sendable, Hashable {
  public var mode: OCRMode
  /// Tesseract languages joined with `+` (`eng`, `eng+deu`); each needs its
  /// `tesseract-ocr-LANG` package.
  public var languages: String
  /// Resolution pages are rendered at before OCR (smaller for pages past `maxPixels`).
  public var dpi: Int

  /// - Parameters:
  ///   - mode: Which pages to OCR.
  ///   - languages: Tesseract language codes joined with `+`.
  ///   - dpi: Render resolution for PDF pages.
  public init(mode: OCRMode = .auto, languages: String = "eng", dpi: Int = 300) {
    self.mode = mode
    self.languages = languages
    self.dpi = dpi
  }

  /// The settings' problem in one clause ("dpi must be between 50 and 1200"), or nil.
  public var problem: String? {
    if !(Self.dpiRange).contains(dpi) {
      return "dpi must be between \(Self.dpiRange.lowerBound) and \(Self.dpiRange.upperBound), not \(dpi)"
    }
    let codes = languages.split(separator: "+", omittingEmptySubsequences: false)
    if codes.isEmpty
      || !codes.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") } })
    {
      return "languages must be Tesseract codes joined with '+' (eng, eng+deu), not '\(languages)'"
    }
    return nil
  }

  /// Render resolutions accepted.
  public static let dpiRange = 50...1200

  // MARK: - Documented thresholds

  /// A page whose mean word confidence (0-100) is below this is a warning in
  /// `report exceptions`. Clean 300-dpi scans measure 85-96 here; noise, a
  /// wrong language and unreadable faxes fall below 60.
  public static let lowConfidence = 60.0

  /// Pixels a page is rendered to at most (40 megapixels: an A2 page at 300
  /// dpi). A larger page is rendered at a lower resolution, with a warning,
  /// so that a poster-sized page cannot exhaust the worker's memory.
  public static let maxPixels = 40_000_000

  /// Pixels on the longer side at most (Tesseract refuses sides past 32,767).
  public static let maxSide = 30_000

  /// An image file whose header claims more pixels than this is refused
  /// before it is decoded (a PNG bomb: a tiny file with huge dimensions).
  public static let maxImagePixels = 100_000_000

  /// In `auto` mode a text layer with fewer visible characters than this is
  /// "nearly empty" (a Bates stamp or a page number on a scan).
  public static let nearlyEmptyCharacters = 40

  /// In `auto` mode a nearly empty page is OCR'd when its images cover at
  /// least this share of the page.
  public static let imageCoverage = 0.5
}
