import Foundation

/// A file inside another: an archive member, a message's attachment, a
/// message in a mail store, an object embedded in an Office document.
///
/// Ingest stores it as a child document in its parent's family: its display
/// path is the parent's display path followed by `suffix`, so its sections
/// cite `bundle.zip#member=dir/memo.docx#para=3` or
/// `inbox.mbox#msg=<id>/attachment=report.pdf#page=2`.
struct ChildFile: Sendable {
  /// What follows the parent's display path: `#member=dir/memo.docx`,
  /// `#msg=<Message-ID>/attachment=report.pdf`, `#para=4/object=Sheet1.xlsx`.
  var suffix: String
  /// The child's own file name: its extension helps detect its kind.
  var fileName: String
  /// The MIME type where the parent names one (`application/octet-stream` otherwise).
  var contentType: String
  /// The child's bytes.
  var payload: Data
  /// The kind to read it as; `nil` detects it from `fileName` and the bytes.
  var kind: DocumentKind?
  /// The text's charset, where the parent declares one (mail parts).
  var charset: String?
  /// Recorded instead of extracting the child (an encrypted archive member,
  /// a member refused by the bomb limits): the child is listed, not read.
  var refusal: String?

  init(
    suffix: String, fileName: String, contentType: String = "application/octet-stream", payload: Data,
    kind: DocumentKind? = nil, charset: String? = nil, refusal: String? = nil
  ) {
    self.suffix = suffix
    self.fileName = fileName
    self.contentType = contentType
    self.payload = payload
    self.kind = kind
    self.charset = charset
    self.refusal = refusal
  }
}

extension ChildFile {
  /// `fileName` as it can stand in a citation: `#` and `/` become `_`, a name already in
  /// `taken` gets a counter (`notes.txt~2`); the result is added to `taken`.
  static func citableName(_ fileName: String, taken: inout Set<String>) -> String {
    let clean = fileName.replacingOccurrences(of: "#", with: "_").replacingOccurrences(of: "/", with: "_")
    var name = clean
    var n = 1
    while !taken.insert(name).inserted {
      n += 1
      name = "\(clean)~\(n)"
    }
    return name
  }

  /// How warnings name the child: `attachment report.pdf`, `member dir/a.txt`, `embedded object Sheet1.xlsx`.
  var label: String {
    let tail = suffix.split(separator: "#").last.map(String.init) ?? ""
    if suffix.contains("/attachment=") || tail.hasPrefix("attachment=") { return "attachment \(fileName)" }
    if tail.hasPrefix("member=") { return "member \(tail.dropFirst(7))" }
    if tail.hasPrefix("object=") { return "embedded object \(fileName)" }
    return fileName
  }
}

/// What an extractor makes of one file: its document and the files inside it.
struct Extraction: Sendable {
  /// The document; `nil` where it was encoded without `Section` values (logs).
  var document: ExtractedDocument?
  /// Files inside this one, stored as children in its family (in order).
  var children: [ChildFile] = []
  private var preEncoded: EncodedDocument?

  init(document: ExtractedDocument, children: [ChildFile] = []) {
    self.document = document
    self.children = children
  }

  /// A document whose sections were encoded without `Section` values (logs).
  init(encoded: EncodedDocument, children: [ChildFile] = []) {
    self.preEncoded = encoded
    self.children = children
  }

  /// The document with its sections as the blob's JSON: what ingest stores.
  var encoded: EncodedDocument {
    if let preEncoded { return preEncoded }
    guard let document else { preconditionFailure("an Extraction holds a document or its encoding") }
    return EncodedDocument(document)
  }
}

/// The file an extractor reads, and how.
struct ExtractionInput: Sendable {
  /// A readable local file (a decompressed or temporary copy where needed).
  var path: String
  /// The path as cited: the locators' `path`.
  var displayPath: String
  /// The run's options (password, OCR, redaction, limits).
  var options: IngestOptions
  /// How deep inside other files this one is: 0 for a file the user named.
  var depth: Int = 0
  /// The workspace's OCR cache, where there is one.
  var ocrCache: OCRCache?
}

/// Turns one file of one kind into a document and its children.
///
/// Registered in `Extractors`; an extractor runs inside the isolated
/// extraction workers, so a crash or hang on one file is that file's failure.
protocol Extractor: Sendable {
  /// Extracts `input`.
  ///
  /// - Throws: an error whose `userDescription` is one plain sentence naming the file.
  func extract(_ input: ExtractionInput) throws -> Extraction
}
