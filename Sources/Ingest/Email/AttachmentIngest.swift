import Foundation
import GRDB
import Workspace

/// A PDF, image or text attachment stored as a child document of its mailbox.
struct AttachmentLink: Sendable, Hashable {
  /// `#msg=<Message-ID>/attachment=<file name>`: appended to the mailbox's
  /// display path, it is the child's display path, so its sections cite
  /// `inbox.mbox#msg=<id>/attachment=report.pdf#page=2` (or `#L3-L9` for text).
  var suffix: String
  /// SHA-256 of the attachment's decoded bytes: identical attachments are one document.
  var documentHash: String
  var fileName: String
  var contentType: String
}

extension Ingestor {
  /// Extracts and stores each attachment not stored yet; returns the links to
  /// record with the message. An attachment that fails becomes a warning of
  /// the mailbox; the message is still ingested.
  func storeAttachments(
    _ attachments: [EmailExtractor.ChildAttachment], displayPath: String, options: IngestOptions,
    warnings: inout [String]
  ) -> [AttachmentLink] {
    var links: [AttachmentLink] = []
    for attachment in attachments {
      // With OCR off an image has no text to give: it stays a listed attachment only.
      if attachment.kind == .image && options.ocr.mode == .off { continue }
      let childPath = displayPath + attachment.suffix
      do {
        let hash = Hashing.sha256(Data(attachment.payload))
        if try !hasCurrentDocument(hash, redact: options.redact, ocr: options.ocr) {
          let doc = try extractAttachment(attachment, displayPath: childPath, options: options)
          try store(EncodedDocument(doc), hash: hash, options: options)
          warnings += doc.warnings.map { "attachment \(attachment.fileName): \($0)" }
        }
        links.append(
          AttachmentLink(
            suffix: attachment.suffix, documentHash: hash, fileName: attachment.fileName,
            contentType: attachment.contentType))
      } catch {
        let reason = error.userDescription
        warnings.append("attachment \(attachment.fileName) not ingested: \(reason)")
      }
    }
    return links
  }

  /// Runs the PDF or text extractor on a temporary copy of the attachment,
  /// or OCR on an image's bytes (in the worker process that extracts its
  /// mailbox, when ingest isolates files).
  private func extractAttachment(
    _ attachment: EmailExtractor.ChildAttachment, displayPath: String, options: IngestOptions
  ) throws -> ExtractedDocument {
    if attachment.kind == .image {
      var image = ImageExtractor(ocr: options.ocr)
      image.cache = OCRCache.of(workspace)
      var doc = try image.extract(data: Data(attachment.payload), path: displayPath, displayPath: displayPath)
      doc.metadata["attachment.fileName"] = attachment.fileName
      doc.metadata["attachment.contentType"] = attachment.contentType
      return doc
    }
    let ext = attachment.kind == .pdf ? "pdf" : "txt"
    let tmp = FileManager.default.temporaryDirectory
      .appendingPathComponent("longctx-attachment-\(UUID().uuidString).\(ext)")
    defer { try? FileManager.default.removeItem(at: tmp) }
    var doc: ExtractedDocument
    if attachment.kind == .pdf {
      try Data(attachment.payload).write(to: tmp)
      var pdf = PDFExtractor(password: options.password, ocr: options.ocr)
      pdf.cache = OCRCache.of(workspace)
      doc = try pdf.extract(path: tmp.path, displayPath: displayPath)
    } else {
      var text = Charsets.decode(attachment.payload, charset: attachment.charset)
      if attachment.contentType == "text/html" { text = HTMLText.text(from: text) }
      try Data(text.utf8).write(to: tmp)
      var lines = LineDocumentExtractor(kind: .text)
      lines.redact = options.redact
      doc = try lines.extract(path: tmp.path, displayPath: displayPath)
    }
    // Messages cite the temporary file's path where extractors name it.
    doc.warnings = doc.warnings.map { $0.replacingOccurrences(of: tmp.path, with: displayPath) }
    doc.metadata["attachment.fileName"] = attachment.fileName
    doc.metadata["attachment.contentType"] = attachment.contentType
    return doc
  }

  /// The attachment documents of each of `parents` (mailbox document hashes), in message order.
  func attachmentLinks(of parents: Set<String>) async throws -> [String: [AttachmentLink]] {
    guard !parents.isEmpty else { return [:] }
    return try await workspace.db.read { db in
      var out: [String: [AttachmentLink]] = [:]
      for row in try Row.fetchAll(
        db,
        sql:
          "SELECT parentHash, suffix, documentHash, fileName, contentType FROM email_attachment ORDER BY parentHash, ordinal"
      ) {
        let parent: String = row["parentHash"]
        guard parents.contains(parent) else { continue }
        out[parent, default: []].append(
          AttachmentLink(
            suffix: row["suffix"], documentHash: row["documentHash"], fileName: row["fileName"],
            contentType: row["contentType"]))
      }
      return out
    }
  }
}
