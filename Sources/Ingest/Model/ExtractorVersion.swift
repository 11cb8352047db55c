/// What made a document's sections: stored with each document (`document.extractor`).
///
/// A version changes whenever an extractor's output for the same bytes changes
/// (different cuts, locators, text or fields). Ingest re-extracts a document
/// whose stored version is not the current one for its kind, so a workspace
/// made by an older longctx picks up the newer extraction on its next ingest,
/// for unchanged files too.
extension DocumentKind {
  /// The current extractor version for documents of this kind.
  public var extractorVersion: String {
    switch self {
    // Scanned pages read with OCR (`OCRSettings`).
    case .pdf: "poppler-glib \(PopplerDocument.version) joined-hyphens gap-spaces rtl-lines forms-annots ocr-1"
    case .image: "leptonica ocr-1"
    case .log: "log-4 templates"
    // Cut between declarations, sections carry their declarations' names.
    case .code: "lines-3"
    case .text: "lines-2"
    // CRLF mail parsed, mboxes split by content and Content-Length, charsets through iconv.
    // Attachments of every kind ingest reads are children (office files, messages, archives).
    case .email: "email-3"
    // 2: Word list labels ("1.", "a)", "•") and chart text (titles, axes, series).
    case .office: "ooxml-2"
    // Converted by LibreOffice (its version named), then read as OOXML, or from
    // LibreOffice's plain exports where ingest has no OOXML extractor.
    case .officeConverted:
      (Extractors.extractor(for: .office) == nil ? "libreoffice-1 plain-1" : "libreoffice-1 ooxml-2")
        + (LibreOfficeEnvironment.version.map { " " + $0 } ?? "")
    case .html: "html-1"
    case .outlook: "msg-1"
    case .pst: "libpst-1 email-2"
    case .archive: "libarchive-1"
    }
  }

  /// The version stored with a document of this kind: `version`, marked
  /// ` unredacted` when secrets were kept (PDFs and images are never
  /// redacted), so that switching `--redact` extracts the files again; PDFs
  /// and images also carry any OCR setting other than the default (`ocr=off`,
  /// `ocr=force eng+deu 400dpi`), so that a new setting reads the scans again.
  ///
  /// The OCR engine's version is in `version` itself when OCR ran or was due on
  /// some page (`withOCREngine`): a text PDF's stamp does not name Tesseract, so
  /// neither its extraction nor the check of its stamp loads the library.
  func stamp(_ version: String, redact: Bool, ocr: OCRSettings = OCRSettings()) -> String {
    switch self {
    case .pdf, .image:
      var stamped = version
      if ocr.mode == .off {
        stamped += " ocr=off"
      } else if ocr != OCRSettings() {
        stamped += " ocr=\(ocr.mode.rawValue) \(ocr.languages) \(ocr.dpi)dpi"
      }
      return stamped
    default:
      return redact ? version : version + " unredacted"
    }
  }

  /// `extractorVersion` with the OCR engine's name and version (`tesseract 5.3.0`): the
  /// version of a document OCR read or was due to read, so that a new engine reads it again.
  var withOCREngine: String { extractorVersion + " " + TesseractEngine.version }

  /// Whether a stored document of `kind` made by `extractor` is what the current extractor
  /// would make with redaction `redact` and OCR settings `ocr` (an unknown kind never is).
  static func isCurrent(kind: String, extractor: String, redact: Bool = true, ocr: OCRSettings = OCRSettings()) -> Bool
  {
    guard let kind = DocumentKind(rawValue: kind) else { return false }
    if kind.stamp(kind.extractorVersion, redact: redact, ocr: ocr) == extractor { return true }
    // Made with OCR: current while the engine is the same (the only check that loads it).
    guard kind == .pdf || kind == .image, extractor.contains(" tesseract ") else { return false }
    return kind.stamp(kind.withOCREngine, redact: redact, ocr: ocr) == extractor
  }
}
