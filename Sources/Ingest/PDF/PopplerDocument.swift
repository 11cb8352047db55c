internal import CPoppler
import Foundation

/// One PDF opened through poppler-glib. The only file that imports `CPoppler`.
final class PopplerDocument {
  private let doc: OpaquePointer
  let path: String

  /// Opens `path`, with `password` for encrypted files.
  ///
  /// - Throws: `IngestError.pdfEncrypted` or `.pdfUnreadable` with poppler's message.
  init(path: String, password: String?) throws {
    self.path = path
    var error: UnsafeMutablePointer<GError>?
    let uri = URL(fileURLWithPath: path).absoluteString
    let opened = poppler_document_new_from_file(uri, password, &error)
    if let error {
      defer { g_error_free(error) }
      let message = String(cString: error.pointee.message)
      if error.pointee.domain == poppler_error_quark()
        && error.pointee.code == Int32(POPPLER_ERROR_ENCRYPTED.rawValue)
      {
        throw IngestError.pdfEncrypted(path: path)
      }
      throw IngestError.pdfUnreadable(path: path, reason: message)
    }
    guard let opened else { throw IngestError.pdfUnreadable(path: path, reason: "unknown error") }
    doc = opened
  }

  deinit { g_object_unref(UnsafeMutableRawPointer(doc)) }

  var pageCount: Int { Int(poppler_document_get_n_pages(doc)) }

  /// The text layer of page `index` (0-based); empty when the page has none.
  ///
  /// poppler-glib's text with the word breaks it drops between table cells
  /// put back from the glyph boxes (`GapSpacing`), as `pdftotext` has them.
  func text(ofPage index: Int) -> String {
    guard let page = poppler_document_get_page(doc, Int32(index)) else { return "" }
    defer { g_object_unref(UnsafeMutableRawPointer(page)) }
    guard let raw = poppler_page_get_text(page) else { return "" }
    defer { g_free(raw) }
    // The layout reuses the text page poppler-glib cached for the text.
    var rects: UnsafeMutablePointer<PopplerRectangle>?
    var count: guint = 0
    defer { g_free(rects) }
    let text = UnsafeBufferPointer(start: UnsafeRawPointer(raw).assumingMemoryBound(to: UInt8.self), count: strlen(raw))
    if poppler_page_get_text_layout(page, &rects, &count) != 0, let rects, count > 1 {
      let boxes = UnsafeBufferPointer(start: rects, count: Int(count)).map {
        GlyphBox(x1: $0.x1, y1: $0.y1, x2: $0.x2, y2: $0.y2)
      }
      let spaced = boxes.withUnsafeBufferPointer { GapSpacing.insertingSpaces(text, boxes: $0) }
      if let spaced { return String(decoding: spaced, as: UTF8.self) }
    }
    return String(decoding: text, as: UTF8.self)
  }

  /// Title, author, subject, keywords, creator, producer and dates, where set.
  var metadata: [String: String] {
    var out: [String: String] = [:]
    func take(_ key: String, _ value: UnsafeMutablePointer<gchar>?) {
      guard let value else { return }
      defer { g_free(value) }
      let s = String(cString: value).trimmingCharacters(in: .whitespacesAndNewlines)
      if !s.isEmpty { out[key] = s }
    }
    take("title", poppler_document_get_title(doc))
    take("author", poppler_document_get_author(doc))
    take("subject", poppler_document_get_subject(doc))
    take("keywords", poppler_document_get_keywords(doc))
    take("creator", poppler_document_get_creator(doc))
    take("producer", poppler_document_get_producer(doc))
    let iso = ISO8601DateFormatter()
    let created = poppler_document_get_creation_date(doc)
    if created > 0 { out["created"] = iso.string(from: Date(timeIntervalSince1970: TimeInterval(created))) }
    let modified = poppler_document_get_modification_date(doc)
    if modified > 0 { out["modified"] = iso.string(from: Date(timeIntervalSince1970: TimeInterval(modified))) }
    out["pages"] = String(pageCount)
    return out
  }

  /// The poppler-glib version, part of the extractor's identity.
  static var version: String { String(cString: poppler_get_version()) }
}
