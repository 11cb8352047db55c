import Foundation
import Storage

/// The kinds of input longctx understands.
public enum DocumentKind: String, Codable, Sendable, CaseIterable {
  case pdf, log, code, email, text
  /// A PNG, JPEG or TIFF file, read with OCR: one section per page.
  case image
  /// Word, Excel or PowerPoint in Office Open XML (DOCX, XLSX, PPTX and their
  /// macro and template variants), read natively from its ZIP and XML.
  case office
  /// Other office formats (DOC, XLS, PPT, RTF, ODF, WordPerfect, …), converted
  /// by LibreOffice headless in the isolated workers, then read like `office`.
  case officeConverted = "office-converted"
  /// An HTML file, reduced to text like an HTML mail body.
  case html
  /// An Outlook `.msg` file (OLE2 compound file, MAPI properties).
  case outlook
  /// An Outlook `.pst`/`.ost` store, read through libpst: every message out.
  case pst
  /// A ZIP, 7z, TAR (plain or compressed) or other archive libarchive reads:
  /// its members are child documents.
  case archive
}

/// How an OCR'd section's text was made: absent for text taken from a text layer or file.
public struct OCRInfo: Codable, Hashable, Sendable {
  /// The engine and its version, e.g. `tesseract 5.3.0`.
  public var engine: String
  /// The Tesseract languages used, e.g. `eng` or `eng+deu`.
  public var languages: String
  /// Mean word confidence, 0-100, as Tesseract reports it.
  public var confidence: Double
  /// The resolution the page was read at.
  public var dpi: Int

  public init(engine: String, languages: String, confidence: Double, dpi: Int) {
    self.engine = engine
    self.languages = languages
    self.confidence = confidence
    self.dpi = dpi
  }
}

/// A piece of a document's text with its locator back to the source.
public struct Section: Codable, Hashable, Sendable {
  /// Where the text came from.
  public var locator: Locator
  /// The extracted text.
  public var text: String
  /// Log severity (e.g. "ERROR") where one was recognised.
  public var severity: String?
  /// Seconds since 1970 (UTC) of the first timestamped log event in the section.
  /// Absent in sections stored before it existed, and where no timestamp was recognised.
  public var firstTimestamp: Double?
  /// Seconds since 1970 (UTC) of the last timestamped log event in the section.
  public var lastTimestamp: Double?
  /// Code: the declarations the section holds (`func plan`, `class Writer`),
  /// led by the one it continues when it starts inside one. Shown in chunk
  /// headers; absent for other kinds and in sections stored before it existed.
  public var symbols: [String]?
  /// Set when the text came from OCR (a scanned page or an image): the
  /// engine, languages and confidence. Absent for other text and in sections
  /// stored before it existed.
  public var ocr: OCRInfo?

  /// - Parameters:
  ///   - locator: Where the text came from.
  ///   - text: The extracted text.
  ///   - severity: Log severity, if any.
  ///   - firstTimestamp: Time of the first event (log sections).
  ///   - lastTimestamp: Time of the last event (log sections).
  ///   - symbols: Declarations in a code section.
  ///   - ocr: How OCR made the text, when it did.
  public init(
    locator: Locator, text: String, severity: String? = nil, firstTimestamp: Double? = nil,
    lastTimestamp: Double? = nil, symbols: [String]? = nil, ocr: OCRInfo? = nil
  ) {
    self.symbols = symbols
    self.ocr = ocr
    self.locator = locator
    self.text = text
    self.severity = severity
    self.firstTimestamp = firstTimestamp
    self.lastTimestamp = lastTimestamp
  }
}

/// What an extractor makes of one file.
public struct ExtractedDocument: Codable, Sendable {
  public var kind: DocumentKind
  public var title: String?
  public var metadata: [String: String]
  public var sections: [Section]
  public var pageCount: Int?
  /// Problems worth reporting that did not stop extraction.
  public var warnings: [String]
  /// The extractor's name and version, part of the document's identity.
  public var extractor: String

  public init(
    kind: DocumentKind, title: String? = nil, metadata: [String: String] = [:],
    sections: [Section], pageCount: Int? = nil, warnings: [String] = [], extractor: String
  ) {
    self.kind = kind
    self.title = title
    self.metadata = metadata
    self.sections = sections
    self.pageCount = pageCount
    self.warnings = warnings
    self.extractor = extractor
  }
}

/// An extracted document with its sections already written as the blob's
/// JSON: what ingest stores. The byte-level log pass makes one directly,
/// without a `String` per section.
struct EncodedDocument: Sendable {
  var kind: DocumentKind
  var title: String?
  var metadata: [String: String]
  /// The JSON array of sections (`SectionsCodec`); empty when `blob` holds it.
  var sectionsJSON: Data
  /// The same JSON already compressed and named (large logs).
  var blob: PreparedBlob?
  var sectionCount: Int
  var pageCount: Int?
  /// Characters of all section texts.
  var charCount: Int
  var warnings: [String]
  var extractor: String
  /// The text's SimHash fingerprint and word count (`SimHash`).
  var fingerprint: (hash: UInt64, words: Int)
  /// A log's templates, mined at ingest.
  var templates: LogTemplateIndex?

  init(
    kind: DocumentKind, title: String?, metadata: [String: String], sectionsJSON: Data, blob: PreparedBlob? = nil,
    sectionCount: Int,
    pageCount: Int?, charCount: Int, warnings: [String], extractor: String, fingerprint: (hash: UInt64, words: Int)
  ) {
    self.fingerprint = fingerprint
    self.kind = kind
    self.title = title
    self.metadata = metadata
    self.sectionsJSON = sectionsJSON
    self.blob = blob
    self.sectionCount = sectionCount
    self.pageCount = pageCount
    self.charCount = charCount
    self.warnings = warnings
    self.extractor = extractor
  }

  /// Encodes `doc`'s sections.
  init(_ doc: ExtractedDocument) {
    self.init(
      kind: doc.kind, title: doc.title, metadata: doc.metadata, sectionsJSON: SectionsCodec.encode(doc.sections),
      sectionCount: doc.sections.count, pageCount: doc.pageCount,
      charCount: doc.sections.reduce(0) { $0 + $1.text.count }, warnings: doc.warnings, extractor: doc.extractor,
      fingerprint: SimHash.fingerprint(sections: doc.sections))
  }
}
