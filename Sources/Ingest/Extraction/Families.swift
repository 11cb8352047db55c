import Foundation
import Storage

/// Children of a document: attachments, archive members, messages of a
/// store, embedded objects. Each is extracted by the registry's extractor for
/// its kind (so a ZIP inside a message, or a DOCX inside a ZIP, is read to
/// `maxFamilyDepth`), stored once by the hash of its bytes, and linked to its
/// parent (`email_attachment`, the family table).
extension FileExtraction {
  /// How deep files inside files are read: a member of a ZIP in a ZIP in a message is depth 3.
  static let maxFamilyDepth = 5

  /// Extracts and stores each child not stored yet; returns the links to
  /// record with the parent. A child that fails becomes a warning of the
  /// parent; the parent is still ingested.
  func storeChildren(
    _ children: [ChildFile], displayPath: String, depth: Int, batch: FamilyBatch, warnings: inout [String]
  ) -> [AttachmentLink] {
    var links: [AttachmentLink] = []
    for child in children {
      if let refusal = child.refusal {
        warnings.append("\(child.label) not read: \(refusal)")
        continue
      }
      let childPath = displayPath + child.suffix
      guard let kind = child.kind ?? Self.detectKind(child) else { continue }
      // With OCR off an image has no text to give: it stays a listed attachment only.
      if kind == .image && options.ocr.mode == .off { continue }
      guard depth <= Self.maxFamilyDepth else {
        warnings.append("\(child.label) not read: nested more than \(Self.maxFamilyDepth) files deep")
        continue
      }
      do {
        let hash = Hashing.sha256(child.payload)
        // The same bytes twice in one family (or stored before) are one document.
        if try !batch.holds(hash) && !store.hasCurrentDocument(hash, redact: options.redact, ocr: options.ocr) {
          var childWarnings: [String] = []
          let (doc, grandchildren) = try extractChild(
            child, kind: kind, displayPath: childPath, depth: depth, scratch: try batch.scratch())
          var encoded = doc
          let childLinks = storeChildren(
            grandchildren, displayPath: childPath, depth: depth + 1, batch: batch, warnings: &childWarnings)
          encoded.warnings += childWarnings
          try store.prepare(encoded, hash: hash, options: options, links: childLinks, into: batch)
          warnings += encoded.warnings.map { "\(child.label): \($0)" }
        }
        links.append(
          AttachmentLink(
            suffix: child.suffix, documentHash: hash, fileName: child.fileName, contentType: child.contentType))
      } catch {
        warnings.append("\(child.label) not ingested: \(error.userDescription)")
      }
    }
    return links
  }

  /// The kind of a child from its name and first bytes, or `nil` for a file only listed (a program, a font).
  static func detectKind(_ child: ChildFile) -> DocumentKind? {
    let name = child.fileName.lowercased()
    let head = [UInt8](child.payload.prefix(16_384))
    if name.hasSuffix(".pdf") || head.starts(with: Array("%PDF-".utf8)) { return .pdf }
    if let kind = Discovery.containerKind(name: name, head: head) { return kind }
    if child.contentType == "text/html" { return .html }
    if name.hasSuffix(".eml") || name.hasSuffix(".mbox") || child.contentType == "message/rfc822" { return .email }
    if Discovery.imageExtensions.contains((name as NSString).pathExtension) { return .image }
    let logName = name.hasSuffix(".log") || name.range(of: #"\.log\.\d+$"#, options: .regularExpression) != nil
    if logName && !head.contains(0) { return .log }
    if head.prefix(8192).contains(0) { return nil }
    if Languages.name(forPath: name) != nil { return .code }
    return .text
  }

  /// Runs the registry's extractor for `kind` on a temporary copy of the child's bytes.
  private func extractChild(
    _ child: ChildFile, kind: DocumentKind, displayPath: String, depth: Int, scratch: URL
  ) throws -> (EncodedDocument, [ChildFile]) {
    guard let extractor = Extractors.extractor(for: kind) else {
      throw IngestError.unreadable(path: displayPath, reason: "\(kind.rawValue) files are not read yet")
    }
    var payload = child.payload
    // Text parts of mail come in their declared charset; extractors read UTF-8.
    if kind == .text, child.charset != nil || child.contentType == "text/html" {
      var text = Charsets.decode([UInt8](payload), charset: child.charset)
      if child.contentType == "text/html" { text = HTMLText.text(from: text) }
      payload = Data(text.utf8)
    }
    // The name keeps its extension (extractors and converters read it); never a path. Children are
    // extracted one at a time and their files removed before the next: one scratch folder serves a family.
    let safe = String(
      (child.fileName as NSString).lastPathComponent.map { $0 == "/" || $0 == "\\" ? "_" : $0 }.prefix(120))
    let tmp = scratch.appendingPathComponent(safe.isEmpty || safe == "." || safe == ".." ? "child" : safe)
    try UnsyncedFile.write(payload, to: tmp)
    defer { try? FileManager.default.removeItem(at: tmp) }
    let input = ExtractionInput(
      path: tmp.path, displayPath: displayPath, options: options, depth: depth, ocrCache: OCRCache.of(workspace))
    let extraction = try extractor.extract(input)
    var doc = extraction.encoded
    // Messages cite the temporary file's path where extractors name it.
    doc.warnings = doc.warnings.map { $0.replacingOccurrences(of: tmp.path, with: displayPath) }
    doc.metadata["attachment.fileName"] = child.fileName
    doc.metadata["attachment.contentType"] = child.contentType
    return (doc, extraction.children)
  }
}

/// Documents written together: the children of one file, or the documents of many
/// files (a batch of an extraction worker, a lane of in-process extraction). Their blobs
/// are made durable by one batched sync, then their rows are written in one transaction
/// (`IngestStore.commit`): a row never names a blob that is not durable, and a crash
/// before the commit loses the whole batch, which the next ingest extracts again. One
/// scratch folder serves for the children's temporary copies.
final class FamilyBatch {
  let blobs: BlobBatch
  var documents: [StoredDocument] = []
  /// The kinds of the documents in `documents`, by hash: a document met twice is extracted once.
  private(set) var kinds: [String: String] = [:]
  /// A document in it holds a log's template index (large): the batch should be committed soon.
  private(set) var heavy = false
  private var folder: URL?

  init(_ workspace: Workspace) { blobs = BlobBatch(workspace.blobs) }

  deinit { if let folder { try? FileManager.default.removeItem(at: folder) } }

  /// Whether nothing waits for a commit.
  var isEmpty: Bool { documents.isEmpty && blobs.pendingCount == 0 }

  /// Whether the batch holds enough to be committed now (bounding the memory it holds and what a crash costs).
  var isFull: Bool { heavy || documents.count >= 512 || blobs.pendingBytes >= 64 << 20 }

  /// Whether a document of `hash` waits in the batch (of `kind`, when given).
  func holds(_ hash: String, kind: DocumentKind? = nil) -> Bool {
    guard let held = kinds[hash] else { return false }
    return kind.map { $0.rawValue == held } ?? true
  }

  func append(_ document: StoredDocument) {
    documents.append(document)
    kinds[document.hash] = document.row.kind
    if document.templates != nil { heavy = true }
  }

  /// Drops the documents added after the first `count` (a file that failed after its
  /// children were prepared); their blobs stay, unnamed by any row.
  func truncate(to count: Int) {
    guard count < documents.count else { return }
    for document in documents[count...] { kinds[document.hash] = nil }
    documents.removeSubrange(count...)
  }

  /// Forgets the documents once they are written.
  func committed() {
    documents.removeAll()
    kinds.removeAll()
    heavy = false
  }

  /// The family's scratch folder, made at its first use.
  func scratch() throws -> URL {
    if let folder { return folder }
    let made = FileManager.default.temporaryDirectory.appendingPathComponent("longctx-family-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: made, withIntermediateDirectories: true)
    folder = made
    return made
  }
}
