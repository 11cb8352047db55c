internal import CPoppler
import Foundation

/// One PDF opened through poppler-glib. This file is the only one that imports `CPoppler`.
final class PopplerDocument {
  private let doc: OpaquePointer
  let path: String
  /// The number of pages poppler found in the page tree (0 when it rejected the tree).
  let pageCount: Int
  /// What poppler said while it opened the file and counted its pages, e.g.
  /// "Page count (213804087) larger than number of objects (6)".
  let openMessages: [String]

  /// Opens `path`, with `password` for encrypted files.
  ///
  /// - Throws: `IngestError.pdfEncrypted` or `.pdfUnreadable` with poppler's message.
  convenience init(path: String, password: String?) throws {
    try NativeLibrary.poppler.load(for: path)
    let uri = URL(fileURLWithPath: path).absoluteString
    var opened: OpaquePointer?
    var error: UnsafeMutablePointer<GError>?
    var count = 0
    let messages = PopplerLog.capturing {
      opened = poppler_document_new_from_file(uri, password, &error)
      if let opened { count = Int(poppler_document_get_n_pages(opened)) }
    }
    try self.init(opened: opened, error: error, path: path, pageCount: count, messages: messages)
  }

  /// Opens a PDF held in memory (a rendered appearance read back).
  private convenience init(data: [UInt8]) throws {
    var error: UnsafeMutablePointer<GError>?
    let bytes = data.withUnsafeBytes { g_bytes_new($0.baseAddress, gsize($0.count)) }
    defer { g_bytes_unref(bytes) }
    let opened = poppler_document_new_from_bytes(bytes, nil, &error)
    let count = opened.map { Int(poppler_document_get_n_pages($0)) } ?? 0
    try self.init(opened: opened, error: error, path: "(rendered appearance)", pageCount: count, messages: [])
  }

  private init(
    opened: OpaquePointer?, error: UnsafeMutablePointer<GError>?, path: String, pageCount: Int, messages: [String]
  ) throws {
    self.path = path
    if let error {
      defer { g_error_free(error) }
      if let opened { g_object_unref(UnsafeMutableRawPointer(opened)) }
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
    self.pageCount = pageCount
    openMessages = messages
  }

  deinit { g_object_unref(UnsafeMutableRawPointer(doc)) }

  /// Page `index` (0-based), or nil when poppler cannot load it (a page tree
  /// that promises more pages than it holds).
  func page(_ index: Int) -> PopplerPage? {
    poppler_document_get_page(doc, Int32(index)).map { PopplerPage($0, document: self) }
  }

  /// Title, author, subject, keywords, creator, producer and dates, where set.
  var metadata: [String: String] {
    var out: [String: String] = [:]
    func take(_ key: String, _ value: UnsafeMutablePointer<gchar>?) {
      if let s = PopplerPage.string(value) { out[key] = s }
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
  static var version: String {
    NativeLibrary.poppler.isAvailable ? String(cString: poppler_get_version()) : "(not installed)"
  }

  /// Renders the area `area` (points, y downwards) of `page` with its
  /// printable annotations and form widgets into a PDF, and reads that PDF's
  /// text back: the only way poppler-glib gives the text of an appearance.
  fileprivate static func renderedText(of page: OpaquePointer, area: PopplerRectangle) -> String {
    var width = 0.0
    var height = 0.0
    poppler_page_get_size(page, &width, &height)
    let sink = ByteSink()
    let context = Unmanaged.passUnretained(sink).toOpaque()
    let surface = cairo_pdf_surface_create_for_stream(
      { context, data, length in
        guard let context, let data else { return CAIRO_STATUS_WRITE_ERROR }
        Unmanaged<ByteSink>.fromOpaque(context).takeUnretainedValue().bytes
          .append(contentsOf: UnsafeBufferPointer(start: data, count: Int(length)))
        return CAIRO_STATUS_SUCCESS
      }, context, width, height)
    let cairo = cairo_create(surface)
    cairo_rectangle(cairo, area.x1, area.y1, area.x2 - area.x1, area.y2 - area.y1)
    cairo_clip(cairo)
    poppler_page_render_for_printing_with_options(page, cairo, POPPLER_PRINT_ALL)
    cairo_destroy(cairo)
    cairo_surface_finish(surface)
    let ok = cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS
    cairo_surface_destroy(surface)
    withExtendedLifetime(sink) {}
    guard ok, let rendered = try? PopplerDocument(data: sink.bytes), let first = rendered.page(0) else { return "" }
    return first.text()
  }
}

/// Collects the bytes cairo writes.
private final class ByteSink {
  var bytes: [UInt8] = []
}

// MARK: - Pages

/// One page of a `PopplerDocument` (which it keeps open).
final class PopplerPage {
  private let page: OpaquePointer
  private let document: PopplerDocument

  fileprivate init(_ page: OpaquePointer, document: PopplerDocument) {
    self.page = page
    self.document = document
  }

  deinit { g_object_unref(UnsafeMutableRawPointer(page)) }

  /// The text layer; empty when the page has none.
  ///
  /// poppler-glib's text is a selection of the whole page, and poppler
  /// selects in the page's main direction: from the top left corner to the
  /// bottom right one for left-to-right pages, from the top right to the
  /// bottom left for right-to-left ones. A selection in the other direction
  /// drops whole lines, so a page with right-to-left text is selected both
  /// ways and keeps the fuller text, then selected again from further down
  /// the page for the lines even that one lacks (`PageLines`). The word
  /// breaks poppler drops (between table cells, after an RTL line's first
  /// word) are put back from the glyph boxes (`GapSpacing`), a left-to-right
  /// page's RTL words are put in logical order, and the bidi controls poppler
  /// wraps them in are removed.
  func text() -> String {
    var width = 0.0
    var height = 0.0
    poppler_page_get_size(page, &width, &height)
    // The usual page, left-to-right text with something on it, is one selection
    // made into one string, without a string per line.
    var whole = PopplerRectangle(x1: 0, y1: 0, x2: width, y2: height)
    guard let raw = selectedText(&whole) else { return "" }
    let hasRightToLeft = PDFPageExtras.containsRightToLeft(raw)
    if !hasRightToLeft && PDFPageExtras.visibleCount(raw, atMost: 1) > 0 {
      return PDFPageExtras.removingBidiEmbeddings(withLayout(&whole) { PageLine.spacedText(raw, boxes: $0) })
    }
    var lines = withLayout(&whole) { PageLine.lines(raw, boxes: $0) }
    var leftToRight = true
    let visible = { (lines: [PageLine]) in lines.reduce(0) { $0 + $1.visibleCount } }
    if hasRightToLeft || visible(lines) == 0 {
      let other = selection(from: (width, 0), to: (0, height))
      if visible(other) > visible(lines) {
        lines = other
        leftToRight = false
      }
    }
    if hasRightToLeft || !leftToRight {
      let (startX, endX) = leftToRight ? (0.0, width) : (width, 0.0)
      for band in 1..<Self.selectionBands {
        let y = height * Double(band) / Double(Self.selectionBands)
        lines = PageLines.merging(lines, selection(from: (startX, y), to: (endX, height)))
      }
    }
    return lines.map { line in
      let ordered = leftToRight ? PageLines.logicalOrder(ofLeftToRightLine: line.text) : line.text
      return PDFPageExtras.removingBidiEmbeddings(ordered)
    }.joined(separator: "\n")
  }

  /// How many starting heights `text()` tries on pages with right-to-left text.
  static let selectionBands = 12

  /// The lines poppler selects from point `start` to point `end` (points, y
  /// downwards), with the spaces their glyph boxes show.
  private func selection(from start: (Double, Double), to end: (Double, Double)) -> [PageLine] {
    var area = PopplerRectangle(x1: start.0, y1: start.1, x2: end.0, y2: end.1)
    guard let text = selectedText(&area) else { return [] }
    return withLayout(&area) { PageLine.lines(text, boxes: $0) }
  }

  /// The text poppler selects in `area` (glyph by glyph), or nil.
  private func selectedText(_ area: inout PopplerRectangle) -> String? {
    guard let raw = poppler_page_get_selected_text(page, POPPLER_SELECTION_GLYPH, &area) else { return nil }
    defer { g_free(raw) }
    return String(cString: raw)
  }

  /// Calls `body` with the glyph boxes of the selection of `area` (none when
  /// poppler gives no layout). The layout reuses the text page poppler-glib
  /// cached for the selected text.
  private func withLayout<T>(_ area: inout PopplerRectangle, _ body: (UnsafeBufferPointer<GlyphBox>) -> T) -> T {
    var rects: UnsafeMutablePointer<PopplerRectangle>?
    var count: guint = 0
    defer { g_free(rects) }
    guard poppler_page_get_text_layout_for_area(page, &area, &rects, &count) != 0, let rects else {
      return body(UnsafeBufferPointer(start: nil, count: 0))
    }
    let boxes = UnsafeBufferPointer(start: rects, count: Int(count)).map {
      GlyphBox(x1: $0.x1, y1: $0.y1, x2: $0.x2, y2: $0.y2)
    }
    return boxes.withUnsafeBufferPointer(body)
  }

  /// The page's size in points as it is shown (its rotation applied).
  var size: (width: Double, height: Double) {
    var width = 0.0
    var height = 0.0
    poppler_page_get_size(page, &width, &height)
    return (width, height)
  }

  /// The share of the page its images cover, 0 to 1 (each image clipped to
  /// the page; overlaps are counted twice, the sum capped at 1).
  func imageCoverage() -> Double {
    let (width, height) = size
    guard width > 0, height > 0 else { return 0 }
    let list = poppler_page_get_image_mapping(page)
    defer { poppler_page_free_image_mapping(list) }
    var covered = 0.0
    var node = list
    while let item = node {
      node = item.pointee.next
      guard let area = item.pointee.data?.assumingMemoryBound(to: PopplerImageMapping.self).pointee.area else {
        continue
      }
      let w = max(0, min(area.x2, width) - max(area.x1, 0))
      let h = max(0, min(area.y2, height) - max(area.y1, 0))
      covered += w * h
    }
    return min(1, covered / (width * height))
  }

  /// Renders the page on white at `scale` pixels per point into `width` ×
  /// `height` pixels (poppler's cairo renderer, in memory) and hands each row
  /// to `row` as gray levels (0 black, 255 white).
  ///
  /// - Returns: false when cairo cannot allocate the image.
  ///
  /// With `stamp`, that text (a Bates number) is drawn bottom right over a white box,
  /// after the page, so a production's image carries it.
  func renderGray(
    width: Int, height: Int, scale: Double, stamp: String? = nil,
    row: (_ y: Int, _ gray: UnsafeMutableBufferPointer<UInt8>) -> Void
  ) -> Bool {
    CairoCanvas.draw(width: width, height: height, scale: scale, row: row) { cairo in
      poppler_page_render(page, cairo)
      if let stamp {
        CairoCanvas.stamp(cairo, stamp, pageWidth: Double(width) / scale, pageHeight: Double(height) / scale)
      }
    }
  }

  /// The values of the form fields whose widgets are on this page, in widget order.
  func formFields() -> [PDFFormField] {
    let list = poppler_page_get_form_field_mapping(page)
    defer { poppler_page_free_form_field_mapping(list) }
    var out: [PDFFormField] = []
    var rendered = 0
    var node = list
    while let item = node {
      node = item.pointee.next
      guard let mapping = item.pointee.data?.assumingMemoryBound(to: PopplerFormFieldMapping.self).pointee,
        let field = mapping.field
      else { continue }
      // poppler_form_field_get_name is not used: its walk up the field tree
      // never ends on some PDFs (pdf.js issue12963.pdf).
      let name =
        Self.string(poppler_form_field_get_alternate_ui_name(field))
        ?? Self.string(poppler_form_field_get_partial_name(field)) ?? "unnamed"
      let value: PDFFormField.Value?
      switch poppler_form_field_get_field_type(field) {
      case POPPLER_FORM_FIELD_TEXT:
        value = Self.string(poppler_form_field_text_get_text(field)).map { .text($0) }
      case POPPLER_FORM_FIELD_CHOICE:
        value = Self.choice(field)
      case POPPLER_FORM_FIELD_BUTTON:
        // A push button's caption is left out: it is mostly a label the page shows anyway.
        let isPush = poppler_form_field_button_get_button_type(field) == POPPLER_FORM_BUTTON_PUSH
        value = !isPush && poppler_form_field_button_get_state(field) != 0 ? .checked : nil
      case POPPLER_FORM_FIELD_SIGNATURE:
        // A signature's stamp ("E-SIGNED by … on …"): only its appearance has it.
        guard rendered < Self.maxRenderedAppearances else { continue }
        rendered += 1
        value = appearanceText(pdfArea: mapping.area).map { .appearance($0) }
      default:
        value = nil
      }
      if let value { out.append(PDFFormField(name: name, value: value)) }
    }
    return out
  }

  private static func choice(_ field: OpaquePointer) -> PDFFormField.Value {
    var selected: [String] = []
    var options: [String] = []
    for i in 0..<poppler_form_field_choice_get_n_items(field) {
      guard let item = string(poppler_form_field_choice_get_item(field, i)) else { continue }
      options.append(item)
      if poppler_form_field_choice_is_item_selected(field, i) != 0 { selected.append(item) }
    }
    if selected.isEmpty && poppler_form_field_choice_is_editable(field) != 0,
      let typed = string(poppler_form_field_choice_get_text(field))
    {
      selected.append(typed)
    }
    // A list box shows its options on the page; a combo box only its value.
    let isList = poppler_form_field_choice_get_choice_type(field) == POPPLER_FORM_CHOICE_LIST
    return .choice(selected: selected, options: isList ? options : nil)
  }

  /// The text of the annotations on this page: comments' contents, and what
  /// stamps and free-text boxes without contents show. Links, popups (their
  /// parent has the same contents) and form widgets (`formFields()`) are left out.
  func annotations() -> [PDFAnnotation] {
    let list = poppler_page_get_annot_mapping(page)
    defer { poppler_page_free_annot_mapping(list) }
    var out: [PDFAnnotation] = []
    var rendered = 0
    var node = list
    while let item = node {
      node = item.pointee.next
      guard let mapping = item.pointee.data?.assumingMemoryBound(to: PopplerAnnotMapping.self).pointee,
        let annot = mapping.annot
      else { continue }
      let kind = poppler_annot_get_annot_type(annot)
      if kind == POPPLER_ANNOT_LINK || kind == POPPLER_ANNOT_POPUP || kind == POPPLER_ANNOT_WIDGET { continue }
      var text = Self.string(poppler_annot_get_contents(annot))
      if text == nil, kind == POPPLER_ANNOT_STAMP || kind == POPPLER_ANNOT_FREE_TEXT,
        rendered < Self.maxRenderedAppearances
      {
        rendered += 1
        text = appearanceText(pdfArea: mapping.area)
      }
      guard let text else { continue }
      let isMarkup =
        g_type_check_instance_is_a(
          UnsafeMutableRawPointer(annot).assumingMemoryBound(to: GTypeInstance.self), poppler_annot_markup_get_type())
        != 0
      let author = isMarkup ? Self.string(poppler_annot_markup_get_label(annot)) : nil
      out.append(PDFAnnotation(type: Self.subtype(kind), author: author, text: text))
    }
    return out
  }

  /// Appearances rendered per page at most, for each of fields and annotations:
  /// each render draws the page's content again (clipped to the appearance).
  static let maxRenderedAppearances = 8

  /// The text an annotation's appearance adds to the page in `pdfArea` (PDF
  /// space: points, y upwards from the bottom, as the mappings give it), or nil.
  private func appearanceText(pdfArea: PopplerRectangle) -> String? {
    var width = 0.0
    var height = 0.0
    poppler_page_get_size(page, &width, &height)
    var area = PopplerRectangle(
      x1: pdfArea.x1, y1: height - pdfArea.y2, x2: pdfArea.x2, y2: height - pdfArea.y1)
    guard area.x2 - area.x1 > 0.5, area.y2 - area.y1 > 0.5 else { return nil }
    let rendered = PopplerDocument.renderedText(of: page, area: area)
    guard PDFPageExtras.visibleCount(rendered) > 0 else { return nil }
    let underneath = poppler_page_get_text_for_area(page, &area)
    defer { g_free(underneath) }
    let own = PDFPageExtras.removingBidiEmbeddings(underneath.map { String(cString: $0) } ?? "")
    let added = PDFPageExtras.subtractingWords(of: own, from: rendered)
    return added.isEmpty ? nil : added
  }

  /// The PDF subtype name of an annotation type.
  private static func subtype(_ kind: PopplerAnnotType) -> String {
    switch kind {
    case POPPLER_ANNOT_TEXT: "Text"
    case POPPLER_ANNOT_FREE_TEXT: "FreeText"
    case POPPLER_ANNOT_LINE: "Line"
    case POPPLER_ANNOT_SQUARE: "Square"
    case POPPLER_ANNOT_CIRCLE: "Circle"
    case POPPLER_ANNOT_POLYGON: "Polygon"
    case POPPLER_ANNOT_POLY_LINE: "PolyLine"
    case POPPLER_ANNOT_HIGHLIGHT: "Highlight"
    case POPPLER_ANNOT_UNDERLINE: "Underline"
    case POPPLER_ANNOT_SQUIGGLY: "Squiggly"
    case POPPLER_ANNOT_STRIKE_OUT: "StrikeOut"
    case POPPLER_ANNOT_STAMP: "Stamp"
    case POPPLER_ANNOT_CARET: "Caret"
    case POPPLER_ANNOT_INK: "Ink"
    case POPPLER_ANNOT_FILE_ATTACHMENT: "FileAttachment"
    case POPPLER_ANNOT_SOUND: "Sound"
    case POPPLER_ANNOT_MOVIE: "Movie"
    case POPPLER_ANNOT_SCREEN: "Screen"
    case POPPLER_ANNOT_PRINTER_MARK: "PrinterMark"
    case POPPLER_ANNOT_TRAP_NET: "TrapNet"
    case POPPLER_ANNOT_WATERMARK: "Watermark"
    case POPPLER_ANNOT_3D: "3D"
    default: "Unknown"
    }
  }

  /// Takes a string poppler-glib allocated: trimmed, nil when empty.
  fileprivate static func string(_ value: UnsafeMutablePointer<gchar>?) -> String? {
    guard let value else { return nil }
    defer { g_free(value) }
    let s = String(cString: value).trimmingCharacters(in: .whitespacesAndNewlines)
    return s.isEmpty ? nil : s
  }
}

// MARK: - Poppler's messages

/// Poppler's warnings and errors, which poppler-glib logs through GLib (domain
/// "Poppler", level info), caught for the thread that asked for them.
private enum PopplerLog {
  private static let key = "longctx.popplerLog"

  /// Registers the handler once; without a capture on the calling thread a message is dropped
  /// (GLib's default handler drops info messages too).
  private static let installed: Bool = {
    let levels = GLogLevelFlags(
      rawValue: G_LOG_LEVEL_INFO.rawValue | G_LOG_LEVEL_DEBUG.rawValue
        | G_LOG_LEVEL_MESSAGE.rawValue | G_LOG_LEVEL_WARNING.rawValue)
    g_log_set_handler(
      "Poppler", levels,
      { _, _, message, _ in
        guard let message, let sink = Thread.current.threadDictionary[PopplerLog.key] as? MessageSink else { return }
        sink.lines.append(String(cString: message).trimmingCharacters(in: .whitespacesAndNewlines))
      }, nil)
    return true
  }()

  /// Runs `body` and returns the messages poppler logged on this thread meanwhile.
  static func capturing(_ body: () -> Void) -> [String] {
    _ = installed
    let sink = MessageSink()
    let previous = Thread.current.threadDictionary[key]
    Thread.current.threadDictionary[key] = sink
    body()
    Thread.current.threadDictionary[key] = previous
    return sink.lines
  }
}

private final class MessageSink {
  var lines: [String] = []
}

/// A white page drawn with cairo at `scale` pixels per point and read back as gray
/// rows: poppler's renders, and the placeholder pages of a production's images.
enum CairoCanvas {
  /// Draws with `content` (in points) onto a white `width` × `height`-pixel image and
  /// hands each row to `row` as gray levels (0 black, 255 white).
  ///
  /// - Returns: false when cairo cannot allocate the image.
  static func draw(
    width: Int, height: Int, scale: Double, row: (_ y: Int, _ gray: UnsafeMutableBufferPointer<UInt8>) -> Void,
    content: (OpaquePointer?) -> Void
  ) -> Bool {
    let surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, Int32(width), Int32(height))
    defer { cairo_surface_destroy(surface) }
    guard cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS else { return false }
    let cairo = cairo_create(surface)
    cairo_set_source_rgb(cairo, 1, 1, 1)
    cairo_paint(cairo)
    cairo_scale(cairo, scale, scale)
    content(cairo)
    cairo_destroy(cairo)
    cairo_surface_flush(surface)
    guard let data = cairo_image_surface_get_data(surface) else { return false }
    let stride = Int(cairo_image_surface_get_stride(surface))
    let gray = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: width)
    defer { gray.deallocate() }
    for y in 0..<height {
      // RGB24: one native-endian 32-bit word per pixel, 0x00RRGGBB.
      let pixels = UnsafeRawPointer(data + y * stride).assumingMemoryBound(to: UInt32.self)
      for x in 0..<width {
        let v = pixels[x]
        let luma = 299 * ((v >> 16) & 0xFF) + 587 * ((v >> 8) & 0xFF) + 114 * (v & 0xFF)
        gray[x] = UInt8((luma + 500) / 1000)
      }
      row(y, gray)
    }
    return true
  }

  /// `text` in 10-point bold sans-serif, bottom right of a `pageWidth` × `pageHeight`-point
  /// page, black on a white box so that it stays legible over the page's content.
  static func stamp(_ cairo: OpaquePointer?, _ text: String, pageWidth: Double, pageHeight: Double) {
    cairo_select_font_face(cairo, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD)
    cairo_set_font_size(cairo, 10)
    var extents = cairo_text_extents_t()
    cairo_text_extents(cairo, text, &extents)
    let x = pageWidth - 18 - extents.x_advance
    let y = pageHeight - 12
    cairo_set_source_rgb(cairo, 1, 1, 1)
    cairo_rectangle(cairo, x - 3, y + extents.y_bearing - 3, extents.x_advance + 6, extents.height + 6)
    cairo_fill(cairo)
    cairo_set_source_rgb(cairo, 0, 0, 0)
    cairo_move_to(cairo, x, y)
    cairo_show_text(cairo, text)
  }

  /// `lines` in 12-point sans-serif from the top left of the page (a placeholder's words).
  static func lines(_ cairo: OpaquePointer?, _ lines: [String], pageWidth: Double) {
    cairo_select_font_face(cairo, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL)
    cairo_set_font_size(cairo, 12)
    cairo_set_source_rgb(cairo, 0, 0, 0)
    var y = 96.0
    for line in lines {
      // Long lines (paths) are cut to the page's width.
      var shown = line
      var extents = cairo_text_extents_t()
      cairo_text_extents(cairo, shown, &extents)
      while extents.x_advance > pageWidth - 144, shown.count > 4 {
        shown = String(shown.dropLast(5)) + "…"
        cairo_text_extents(cairo, shown, &extents)
      }
      cairo_move_to(cairo, 72, y)
      cairo_show_text(cairo, shown)
      y += 18
    }
  }
}
