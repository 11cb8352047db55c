import Foundation
import Storage

/// What extracting one file came to.
public enum ExtractionOutcome: Sendable, Codable, Hashable {
  /// The file's bytes are those of a current document (the hash).
  case unchanged(String)
  /// Stored: hash, pages, bytes, warnings, and whether it was extracted now.
  case stored(String, Int, Int, [String], Bool)
  case failed(String)
  case skipped(String)
}

/// Extracts one discovered file through the registry (`Extractors`) and
/// stores its document and its family: the dispatch by kind, used by the
/// in-process path and by the isolated extraction child alike.
struct FileExtraction: Sendable {
  let workspace: Workspace
  let options: IngestOptions

  var store: IngestStore { IngestStore(workspace: workspace) }

  /// Extracts `file` and stores its document and family; never throws: a
  /// failure is the file's outcome.
  func extract(_ file: DiscoveredFile) -> ExtractionOutcome {
    let batch = FamilyBatch(workspace)
    let outcome = extract(file, into: batch)
    do {
      try store.commit(batch)
    } catch {
      return .failed(Self.storeFailure(error))
    }
    return outcome
  }

  /// What a file's outcome becomes when its batch cannot be stored.
  static func storeFailure(_ error: any Error) -> String {
    "its document could not be stored in the workspace: \(error.userDescription)"
  }

  /// Extracts `file` and adds its document and family to `batch`, durable and
  /// visible once the caller commits it (`IngestStore.commit`); the outcome holds
  /// only then. Never throws: a failure is the file's outcome (and adds nothing).
  func extract(_ file: DiscoveredFile, into batch: FamilyBatch) -> ExtractionOutcome {
    let mark = batch.documents.count
    let outcome = extractUncounted(file, into: batch)
    if case .failed = outcome { batch.truncate(to: mark) }
    return outcome
  }

  private func extractUncounted(_ file: DiscoveredFile, into batch: FamilyBatch) -> ExtractionOutcome {
    guard let kind = file.kind else { return .skipped(file.skipReason ?? "unknown kind") }
    var copyPath: String?
    do {
      // A log is read once: hashed, then extracted from the same bytes.
      let (logBytes, logMapping) = kind == .log ? try Decompression.readMapped(path: file.path) : (nil, nil)
      let hash: String
      var extracted: Result<EncodedDocument, any Error>?
      if let logBytes, logMapping != nil {
        (hash, extracted) = hashWhileExtracting(logBytes, file, redact: options.redact)
      } else {
        hash = try logBytes.map { Hashing.sha256($0) } ?? Hashing.sha256(fileAt: URL(fileURLWithPath: file.path))
      }
      if logMapping?.truncated == true { throw IngestError.truncatedWhileReading(path: file.path) }
      let size = (try? FileManager.default.attributesOfItem(atPath: file.path)[.size] as? NSNumber)??.intValue ?? 0
      // An exact duplicate: stored once, linked (unless its extraction is out of date).
      if try batch.holds(hash, kind: kind)
        || store.hasCurrentDocument(hash, redact: options.redact, ocr: options.ocr, kind: kind)
      {
        return .stored(hash, 0, size, [], false)
      }
      var doc: EncodedDocument
      var links: [AttachmentLink] = []
      // A compressed PDF, mailbox or text (`manual.pdf.gz`) is read from a decompressed copy;
      // libarchive decompresses a `.tar.gz` itself, under the archive limits.
      let copy = kind == .log || kind == .archive ? nil : try Decompression.materializeIfCompressed(path: file.path)
      defer { if let copy { try? FileManager.default.removeItem(at: copy.deletingLastPathComponent()) } }
      copyPath = copy?.path
      let source = copy?.path ?? file.path
      if kind == .log {
        doc =
          try extracted?.get()
          ?? LogExtractor(redact: options.redact).extractEncoded(
            raw: logBytes ?? Decompression.readRaw(path: file.path), path: file.path, displayPath: file.displayPath)
        if logMapping?.truncated == true { throw IngestError.truncatedWhileReading(path: file.path) }
      } else {
        if kind == .image && options.ocr.mode == .off {
          return .skipped("image file not read: OCR is off (--ocr off)")
        }
        guard let extractor = Extractors.extractor(for: kind) else {
          return .skipped("\(kind.rawValue) files are not read yet")
        }
        let input = ExtractionInput(
          path: source, displayPath: file.displayPath, options: options, ocrCache: OCRCache.of(workspace))
        let extraction = try extractor.extract(input)
        doc = extraction.encoded
        // Children first; the parent's row and its links go in the same transaction.
        var warnings: [String] = []
        links = storeChildren(
          extraction.children, displayPath: file.displayPath, depth: 1, batch: batch, warnings: &warnings)
        doc.warnings += warnings
      }
      try store.prepare(doc, hash: hash, options: options, links: links, into: batch)
      return .stored(hash, doc.pageCount ?? 0, size, doc.warnings, true)
    } catch {
      // Reasons cite the path as the user gave it, not the absolute (or decompressed copy's) path.
      var reason = error.userDescription
      if let copyPath { reason = reason.replacingOccurrences(of: copyPath, with: file.displayPath) }
      // A display path that holds the path (`../../x/a.doc` holds `/x/a.doc`), already cited, stays as it is.
      if file.displayPath.contains(file.path) && reason.contains(file.displayPath) { return .failed(reason) }
      return .failed(reason.replacingOccurrences(of: file.path, with: file.displayPath))
    }
  }

  /// Hashes a large log's bytes while extracting them: the hash is one
  /// core's sequential work, the log pass keeps every core busy, so side by
  /// side they take less time than one after the other. The extraction is
  /// wasted when a document with that hash exists already (rare).
  private func hashWhileExtracting(_ bytes: Data, _ file: DiscoveredFile, redact: Bool) -> (
    String, Result<EncodedDocument, any Error>
  ) {
    let (doc, hash) = alongside({ Hashing.sha256(bytes) }) {
      Result {
        try LogExtractor(redact: redact).extractEncoded(raw: bytes, path: file.path, displayPath: file.displayPath)
      }
    }
    return (hash, doc)
  }
}
