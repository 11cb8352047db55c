import ArgumentParser
import Ingest

extension OCRMode: ExpressibleByArgument {}

/// `--ocr`, `--ocr-languages`, `--ocr-dpi`: how `ingest` and `run` read
/// scanned pages and images.
struct OCROptions: ParsableArguments {
  @Option(
    help: ArgumentHelp(
      "OCR scanned pages and images: auto (pages without a text layer, or with a nearly empty one over a page-sized image; images), force (every page), off.",
      valueName: "auto|force|off"))
  var ocr: OCRMode?

  @Option(
    help: ArgumentHelp(
      "Tesseract languages joined with '+' (default eng; each needs its tesseract-ocr-LANG package).",
      valueName: "langs"))
  var ocrLanguages: String?

  @Option(help: ArgumentHelp("Resolution scanned pages are rendered at for OCR (default 300).", valueName: "dpi"))
  var ocrDpi: Int?

  func validate() throws {
    if let problem = apply(to: OCRSettings()).problem {
      let flag = problem.hasPrefix("dpi") ? "--ocr-dpi" : "--ocr-languages"
      throw ValidationError("'\(flag)': \(problem)")
    }
  }

  /// `settings` with the flags given applied over it.
  func apply(to settings: OCRSettings) -> OCRSettings {
    var out = settings
    if let ocr { out.mode = ocr }
    if let ocrLanguages { out.languages = ocrLanguages }
    if let ocrDpi { out.dpi = ocrDpi }
    return out
  }

  /// Whether any flag was given.
  var isSet: Bool { ocr != nil || ocrLanguages != nil || ocrDpi != nil }
}
