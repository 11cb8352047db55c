import Foundation

/// Reads pages and images with Tesseract and gathers what a document's
/// warnings should say about them.
struct PageOCR {
  var settings: OCRSettings
  /// Seconds Tesseract may spend on one page before it is stopped (the
  /// page keeps what was read by then, with a warning).
  var pageTimeLimit: Double = 100
  /// Where results are kept by the pixels' hash (nil: every page is read).
  var cache: OCRCache?

  /// What OCR made of one page.
  struct Page {
    var text: String
    var info: OCRInfo
  }

  /// Per-page outcomes worth a warning, collected over a document.
  struct Notes {
    var read: [Int] = []
    var lowConfidence: [(page: Int, confidence: Double)] = []
    var nothingFound: [Int] = []
    var capped: [(page: Int, dpi: Int, note: String)] = []
    var stopped: [Int] = []
    var failed: [(page: Int, reason: String)] = []
    var confidences: [Double] = []
    /// Pages whose result came from the OCR cache.
    var cached = 0

    /// The warnings, one line each, in a fixed order.
    func warnings(threshold: Double = OCRSettings.lowConfidence) -> [String] {
      var out: [String] = []
      for (page, dpi, note) in capped {
        out.append("page \(page) read at \(dpi) dpi: \(note)")
      }
      if !lowConfidence.isEmpty {
        let pages = lowConfidence.map { "\($0.page) (\(Self.format($0.confidence)))" }.joined(separator: ", ")
        out.append("low OCR confidence (below \(Self.format(threshold))): pages \(pages)")
      }
      for page in stopped {
        out.append("OCR of page \(page) stopped at its time limit; its text may be incomplete")
      }
      // One reason for many pages (a missing language) is said once.
      var byReason: [String: [Int]] = [:]
      var order: [String] = []
      for (page, reason) in failed {
        if byReason[reason] == nil { order.append(reason) }
        byReason[reason, default: []].append(page)
      }
      for reason in order {
        out.append("OCR failed on pages \(PageRanges.describe(byReason[reason] ?? [])): \(reason)")
      }
      if !nothingFound.isEmpty {
        out.append("no text found by OCR: pages \(PageRanges.describe(nothingFound)) (blank or unreadable)")
      }
      return out
    }

    /// Document metadata: which pages were OCR'd and their mean confidence.
    var metadata: [String: String] {
      guard !read.isEmpty else { return [:] }
      var out = ["ocr.pages": PageRanges.describe(read)]
      if !confidences.isEmpty {
        out["ocr.confidence"] = Self.format(confidences.reduce(0, +) / Double(confidences.count))
      }
      if cached > 0 { out["ocr.cached"] = String(cached) }
      return out
    }

    static func format(_ value: Double) -> String { String(format: "%.1f", value) }
  }

  /// Why a page was not read: its OCR killed the worker before.
  static let crashedReason =
    "reading it crashed the extraction worker, so it was left out (its text layer, if any, is kept)"

  /// A test's fault (`LONGCTX_FAULT_INJECTION="ocrcrash=N"`): OCR of page N
  /// traps, as a Tesseract crash would. Unset, nothing happens.
  static let crashPage: Int? = {
    let spec = ProcessInfo.processInfo.environment["LONGCTX_FAULT_INJECTION"] ?? ""
    for part in spec.split(separator: ";") where part.hasPrefix("ocrcrash=") {
      return Int(part.dropFirst("ocrcrash=".count))
    }
    return nil
  }()

  /// Whether a PDF page is read with OCR: `force` always; `auto` when it has
  /// no text layer, or a nearly empty one over images that cover most of the page.
  func wants(visibleCharacters: Int, imageCoverage: () -> Double) -> Bool {
    switch settings.mode {
    case .off: false
    case .force: true
    case .auto:
      visibleCharacters == 0
        || (visibleCharacters < OCRSettings.nearlyEmptyCharacters && imageCoverage() >= OCRSettings.imageCoverage)
    }
  }

  /// The pixel size and resolution page of `width` × `height` points is rendered at.
  ///
  /// - Returns: The size, the resolution, and why it is lower than asked, if it is.
  func renderSize(width: Double, height: Double) -> (width: Int, height: Int, dpi: Double, capped: String?) {
    var dpi = Double(settings.dpi)
    let w = width * dpi / 72
    let h = height * dpi / 72
    var factor = 1.0
    if w * h > Double(OCRSettings.maxPixels) { factor = (Double(OCRSettings.maxPixels) / (w * h)).squareRoot() }
    if max(w, h) * factor > Double(OCRSettings.maxSide) { factor = Double(OCRSettings.maxSide) / max(w, h) }
    var capped: String?
    if factor < 1 {
      dpi *= factor
      capped =
        "a \(Int(width.rounded())) × \(Int(height.rounded()))-point page; renders are capped at \(OCRSettings.maxPixels / 1_000_000) megapixels, \(OCRSettings.maxSide) pixels a side (asked: \(settings.dpi) dpi)"
    }
    return (max(1, Int((w * factor).rounded())), max(1, Int((h * factor).rounded())), dpi, capped)
  }

  /// Renders `page` (page number `number`) and reads it; notes what happened in `notes`.
  ///
  /// - Returns: The page's OCR text, or nil when it was blank, failed or found nothing.
  func read(_ page: PopplerPage, number: Int, notes: inout Notes) -> Page? {
    // A page without text or images that renders white at 72 dpi is blank at any resolution:
    // it is not rendered at `dpi` (17 times the pixels at 300 dpi) only to be found blank. A
    // page with images (a scan) goes straight to the full render: a preview would decode its
    // images twice (measured: 15 % more CPU on a 3-page scan).
    if number != Self.crashPage, page.imageCoverage() == 0, Self.isBlankPreview(page) {
      notes.read.append(number)
      notes.nothingFound.append(number)
      return nil
    }
    let (wPoints, hPoints) = page.size
    let size = renderSize(width: wPoints, height: hPoints)
    if let capped = size.capped { notes.capped.append((number, Int(size.dpi), capped)) }
    let dpi = Int(size.dpi.rounded())
    guard let image = OCRImage.gray(width: size.width, height: size.height, dpi: dpi),
      page.renderGray(width: size.width, height: size.height, scale: size.dpi / 72, row: image.setRow)
    else {
      notes.failed.append((number, "no memory to render a \(size.width) × \(size.height)-pixel image"))
      return nil
    }
    return read(image, number: number, notes: &notes)
  }

  /// Whether `page` renders white at 72 dpi (one pixel a point), every pixel 254 or
  /// lighter. A mark that would give a pixel darker than `OCRImage.isBlank`'s 200 at
  /// 300 dpi covers over 1 % of a 72-dpi pixel, which is then 251 or darker: the
  /// preview cannot call a page blank that the full render would not. Pages past 4
  /// megapixels at 72 dpi get no preview.
  static func isBlankPreview(_ page: PopplerPage) -> Bool {
    let (width, height) = page.size
    guard width >= 1, height >= 1, width * height <= 4_000_000 else { return false }
    var marked = false
    let rendered = page.renderGray(width: Int(width.rounded(.up)), height: Int(height.rounded(.up)), scale: 1) {
      _, row in
      if !marked { marked = row.contains { $0 < 254 } }
    }
    return rendered && !marked
  }

  /// Reads `image` as page `number`; notes what happened in `notes`.
  func read(_ image: OCRImage, number: Int, notes: inout Notes) -> Page? {
    if let crash = Self.crashPage, crash == number {
      let none: [Int] = []
      _ = none[number]  // an index out of range: the runtime traps
    }
    notes.read.append(number)
    if image.isBlank {
      notes.nothingFound.append(number)
      return nil
    }
    do {
      let key = cache.flatMap { _ in OCRCache.key(image, languages: settings.languages) }
      let result: OCRText
      if let key, let hit = cache?.lookup(key) {
        result = hit
        notes.cached += 1
      } else {
        result = try TesseractPool.withEngine(languages: settings.languages) {
          try $0.recognize(image, timeLimit: pageTimeLimit)
        }
        // A page stopped at its time limit is read again next time.
        if let key, !result.stoppedAtLimit { cache?.store(key, result) }
      }
      if result.stoppedAtLimit { notes.stopped.append(number) }
      guard PDFPageExtras.visibleCount(result.text) > 0 else {
        notes.nothingFound.append(number)
        return nil
      }
      notes.confidences.append(result.confidence)
      if result.confidence < OCRSettings.lowConfidence { notes.lowConfidence.append((number, result.confidence)) }
      let info = OCRInfo(
        engine: TesseractEngine.version, languages: settings.languages, confidence: result.confidence, dpi: image.dpi)
      return Page(text: result.text, info: info)
    } catch {
      notes.read.removeLast()
      notes.failed.append((number, error.userDescription))
      return nil
    }
  }
}
