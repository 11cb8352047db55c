import Foundation

/// Extracts one section per PDF page, with the page number as locator.
///
/// A page's section is its text layer, then (after a blank line) one line per
/// form field value (`[form field NAME] value`) and per annotation text
/// (`[annotation Type by author] text`) on it, which `pdftotext` shows as
/// part of the page and poppler-glib's page text leaves out. A scanned page
/// (see `OCRMode`) is rendered and read with Tesseract instead of its text
/// layer; its section records that (`Section.ocr`).
public struct PDFExtractor: Sendable {
  public var password: String?
  /// Which pages are read with OCR, in which languages, at which resolution.
  public var ocr: OCRSettings
  /// OCR results kept by the pixels' hash (ingest sets the workspace's).
  var cache: OCRCache?
  /// Pages not to OCR: they crashed an isolated worker (`ExtractionProgress`).
  var skippedOCRPages: Set<Int> = []

  public init(password: String? = nil, ocr: OCRSettings = OCRSettings()) {
    self.password = password
    self.ocr = ocr
  }

  /// - Throws: `IngestError.pdfEncrypted`, or `.pdfUnreadable` when poppler
  ///   cannot open the file or it has no page poppler can load.
  public func extract(path: String, displayPath: String) throws -> ExtractedDocument {
    let pdf = try PopplerDocument(path: path, password: password)
    var sections: [Section] = []
    var empty: [Int] = []
    var unloadable: [Int] = []
    let reader = PageOCR(settings: ocr, cache: cache)
    var notes = PageOCR.Notes()
    // Whether OCR ran or was due on some page: then the version names the engine.
    var ocrDue = false
    for index in 0..<pdf.pageCount {
      guard let page = pdf.page(index) else {
        unloadable.append(index + 1)
        continue
      }
      var text = Self.joiningHyphenatedWords(page.text())
      var info: OCRInfo?
      // What the text layer gives decides: a page with `nearlyEmptyCharacters` or more
      // visible characters is never rendered nor its images listed; the count stops there.
      let visible = PDFPageExtras.visibleCount(text, atMost: OCRSettings.nearlyEmptyCharacters)
      if reader.wants(visibleCharacters: visible, imageCoverage: page.imageCoverage) {
        ocrDue = true
        if skippedOCRPages.contains(index + 1) {
          notes.failed.append((index + 1, PageOCR.crashedReason))
        } else {
          ExtractionProgress.report(page: index + 1)
          if let read = reader.read(page, number: index + 1, notes: &notes) {
            text = read.text
            info = read.info
          }
        }
      }
      if PDFPageExtras.isBlank(text) {
        empty.append(index + 1)
        text = ""
      }
      let extras = PDFPageExtras.lines(fields: page.formFields(), annotations: page.annotations())
      if !extras.isEmpty {
        if !text.isEmpty { text += text.hasSuffix("\n") ? "\n" : "\n\n" }
        text += extras.joined(separator: "\n")
      }
      if text.isEmpty { continue }
      sections.append(Section(locator: Locator(path: displayPath, page: index + 1), text: text, ocr: info))
    }
    if unloadable.count == pdf.pageCount {
      throw IngestError.pdfUnreadable(path: path, reason: Self.noPagesReason(pdf))
    }
    var warnings: [String] = []
    if !unloadable.isEmpty { warnings.append("pages \(PageRanges.describe(unloadable)) could not be loaded") }
    warnings += notes.warnings()
    // Pages OCR found nothing on are in its own warning.
    let unread = empty.filter { !notes.read.contains($0) }
    if !unread.isEmpty { warnings.append("no text layer: pages \(PageRanges.describe(unread))") }
    var meta = pdf.metadata
    meta.merge(notes.metadata) { _, new in new }
    return ExtractedDocument(
      kind: .pdf, title: meta["title"], metadata: meta, sections: sections,
      pageCount: pdf.pageCount, warnings: warnings,
      extractor: ocrDue ? DocumentKind.pdf.withOCREngine : DocumentKind.pdf.extractorVersion)
  }

  /// Why a PDF without a loadable page failed, in one plain clause:
  /// "PDF has no readable pages (page tree claims 213804087 pages)".
  static func noPagesReason(_ pdf: PopplerDocument) -> String {
    let base = "PDF has no readable pages"
    if pdf.pageCount > 0 { return base + " (none of its \(pdf.pageCount) pages could be loaded)" }
    // Poppler's words: "Page count (213804087) larger than number of objects (6)", "Invalid page count 0".
    for message in pdf.openMessages {
      if let claimed = Self.claimedPageCount(in: message) { return base + " (page tree claims \(claimed) pages)" }
    }
    return base
  }

  /// The page count a poppler message quotes, if it is about the page count.
  static func claimedPageCount(in message: String) -> String? {
    guard let range = message.range(of: "page count", options: .caseInsensitive) else { return nil }
    let digits = message[range.upperBound...].drop { !$0.isNumber && $0 != "-" }.prefix { $0.isNumber || $0 == "-" }
    return digits.isEmpty ? nil : String(digits)
  }
}

extension PDFExtractor {
  /// The image OCR reads for page `number` (1-based) of the PDF at `path`,
  /// rendered as `extract` renders it: tests give the same pixels to the
  /// `tesseract` command.
  func renderedPage(path: String, number: Int) throws -> OCRImage? {
    let pdf = try PopplerDocument(path: path, password: password)
    guard let page = pdf.page(number - 1) else { return nil }
    let size = PageOCR(settings: ocr).renderSize(width: page.size.width, height: page.size.height)
    guard let image = OCRImage.gray(width: size.width, height: size.height, dpi: Int(size.dpi.rounded())),
      page.renderGray(width: size.width, height: size.height, scale: size.dpi / 72, row: image.setRow)
    else { return nil }
    return image
  }

  /// Joins a word hyphenated at a line end ("Analyt-\nics" → "Analytics",
  /// "OP-\nTIONAL" → "OPTIONAL"), as `pdftotext` does, when letters stand on
  /// both sides; "2026-\n03" and "end -\nnext" stay. Like `pdftotext`, it
  /// also joins a compound that happens to break there ("Smith-\nJones").
  static func joiningHyphenatedWords(_ text: String) -> String {
    var text = text
    return text.withUTF8 { bytes -> String? in
      // Byte by byte: "-\n" is two ASCII bytes, and only its neighbours are decoded.
      var out: [UInt8] = []
      var copied = 0
      var i = 1
      while i + 2 < bytes.count {
        guard bytes[i] == 0x2D, bytes[i + 1] == 0x0A else {
          i += 1
          continue
        }
        let before = UTF8Scalars.decode(bytes, at: UTF8Scalars.start(before: i, in: bytes)).value
        if UTF8Scalars.isAlphabetic(before), UTF8Scalars.isAlphabetic(UTF8Scalars.decode(bytes, at: i + 2).value) {
          if out.isEmpty { out.reserveCapacity(bytes.count) }
          out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[copied..<i]))
          copied = i + 2  // drop the hyphen and the newline
        }
        i += 2
      }
      guard copied > 0 else { return nil }
      out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[copied...]))
      return String(decoding: out, as: UTF8.self)
    } ?? text
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
