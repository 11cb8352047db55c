import Foundation

/// The one place that says which extractor reads which kind.
///
/// Adding a kind: a `DocumentKind` case, its detection in `Discovery`, an
/// `extractorVersion`, a type conforming to `Extractor`, and one line here.
/// Large logs named by the user are read on ingest's own mapped, multi-core
/// path (`FileExtraction.extract`), which hashes them while extracting; the
/// registry's log extractor reads logs inside other files.
enum Extractors {
  /// The extractor of `kind`, or `nil` where ingest has no extractor for it yet.
  static func extractor(for kind: DocumentKind) -> (any Extractor)? {
    switch kind {
    case .pdf: PDFFileExtractor()
    case .image: ImageFileExtractor()
    case .log: LogFileExtractor()
    case .email: MailboxExtractor()
    case .code, .text: LinesExtractor(kind: kind)
    case .html: HTMLExtractor()
    case .outlook: OutlookExtractor()
    case .pst: PSTExtractor()
    case .officeConverted: ConvertedOfficeExtractor()
    case .archive: ArchiveExtractor()
    case .office: OfficeExtractor()
    }
  }
}

/// PDFs through poppler, scanned pages through OCR (`PDFExtractor`).
struct PDFFileExtractor: Extractor {
  func extract(_ input: ExtractionInput) throws -> Extraction {
    var pdf = PDFExtractor(password: input.options.password, ocr: input.options.ocr)
    pdf.cache = input.ocrCache
    pdf.skippedOCRPages = input.options.skippedOCRPages
    return Extraction(document: try pdf.extract(path: input.path, displayPath: input.displayPath))
  }
}

/// PNG, JPEG and TIFF files through OCR (`ImageExtractor`).
struct ImageFileExtractor: Extractor {
  func extract(_ input: ExtractionInput) throws -> Extraction {
    var image = ImageExtractor(ocr: input.options.ocr)
    image.cache = input.ocrCache
    image.skippedOCRPages = input.options.skippedOCRPages
    return Extraction(document: try image.extract(path: input.path, displayPath: input.displayPath))
  }
}

/// Logs inside other files (`LogExtractor`).
struct LogFileExtractor: Extractor {
  func extract(_ input: ExtractionInput) throws -> Extraction {
    let extractor = LogExtractor(redact: input.options.redact)
    let encoded = try extractor.extractEncoded(
      raw: Decompression.readRaw(path: input.path), path: input.path, displayPath: input.displayPath)
    return Extraction(encoded: encoded)
  }
}

/// `.eml` files and mailboxes; attachments are the message's children (`EmailExtractor`).
struct MailboxExtractor: Extractor {
  func extract(_ input: ExtractionInput) throws -> Extraction {
    var email = EmailExtractor()
    email.redact = input.options.redact
    let (message, attachments) = try email.extractWithAttachments(path: input.path, displayPath: input.displayPath)
    return Extraction(
      document: message,
      children: attachments.map {
        ChildFile(
          suffix: $0.suffix, fileName: $0.fileName, contentType: $0.contentType, payload: Data($0.payload),
          kind: $0.kind, charset: $0.charset)
      })
  }
}

/// Source files and plain text in line ranges (`LineDocumentExtractor`).
struct LinesExtractor: Extractor {
  var kind: DocumentKind

  func extract(_ input: ExtractionInput) throws -> Extraction {
    var lines = LineDocumentExtractor(kind: kind)
    lines.redact = input.options.redact
    return Extraction(document: try lines.extract(path: input.path, displayPath: input.displayPath))
  }
}
