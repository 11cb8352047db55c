/// One line of a page's text as one poppler selection gave it, with the box
/// around its glyphs (points, y downwards; nil when poppler's glyph boxes did
/// not line up with the text).
struct PageLine: Equatable {
  var text: String
  var box: GlyphBox? = nil

  /// Scalars that are neither whitespace nor bidi controls.
  var visibleCount: Int { PDFPageExtras.visibleCount(text) }

  /// The lines of a selection's `text`, each with the spaces its glyph boxes
  /// show (`GapSpacing`) and the box around them.
  ///
  /// - Parameters:
  ///   - text: The selected text, lines ending in "\n".
  ///   - boxes: One box per scalar of `text` (line ends too) except the bidi
  ///     embedding controls, as `poppler_page_get_text_layout_for_area` gives
  ///     them for the same selection.
  /// - Returns: The lines; without boxes or added spaces when the counts
  ///   disagree (nothing to go by).
  static func lines(_ text: String, boxes: UnsafeBufferPointer<GlyphBox>) -> [PageLine] {
    var out: [PageLine] = []
    forEachLine(text, boxes: boxes) { bytes, lineBoxes in
      let line = String(decoding: bytes, as: UTF8.self)
      out.append(PageLine(text: line, box: lineBoxes.flatMap { PageLines.union($0) }))
    }
    return out
  }

  /// `lines(_:boxes:)` with the boxes in an array.
  static func lines(_ text: String, boxes: [GlyphBox]) -> [PageLine] {
    boxes.withUnsafeBufferPointer { lines(text, boxes: $0) }
  }

  /// The lines of a selection's `text` joined by "\n", each with the spaces
  /// its glyph boxes show: `lines(_:boxes:)` for a page read in one
  /// selection, without a string per line.
  static func spacedText(_ text: String, boxes: UnsafeBufferPointer<GlyphBox>) -> String {
    var out: [UInt8] = []
    out.reserveCapacity(text.utf8.count + text.utf8.count / 16 + 1)
    var first = true
    forEachLine(text, boxes: boxes) { bytes, _ in
      if !first { out.append(0x0A) }
      first = false
      out.append(contentsOf: bytes)
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// Hands each line of `text` to `body`: its UTF-8 bytes (with the spaces
  /// `GapSpacing` puts back) and its glyph boxes, nil when the boxes do not
  /// line up with the text (one per scalar, line ends included, bidi
  /// embedding controls excepted).
  private static func forEachLine(
    _ text: String, boxes: UnsafeBufferPointer<GlyphBox>,
    _ body: (UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<GlyphBox>?) -> Void
  ) {
    var text = text
    text.withUTF8 { bytes in
      var boxed = 0
      var i = 0
      while i < bytes.count {
        if bytes[i] & 0xC0 != 0x80 && !isBidiEmbedding(bytes, i) { boxed += 1 }
        i += 1
      }
      let aligned = boxed == boxes.count
      var start = 0  // the line's first byte
      var firstBox = 0  // the box of the line's first scalar
      var box = 0
      i = 0
      while true {
        if i < bytes.count && bytes[i] != 0x0A {
          if bytes[i] & 0xC0 != 0x80 && !isBidiEmbedding(bytes, i) { box += 1 }
          i += 1
          continue
        }
        let line = UnsafeBufferPointer(rebasing: bytes[start..<i])
        if aligned {
          let lineBoxes = UnsafeBufferPointer(rebasing: boxes[firstBox..<box])
          if let spaced = GapSpacing.insertingSpaces(line, boxes: lineBoxes) {
            spaced.withUnsafeBufferPointer { body($0, lineBoxes) }
          } else {
            body(line, lineBoxes)
          }
        } else {
          body(line, nil)
        }
        if i == bytes.count { break }
        box += 1  // the line end's box
        i += 1
        start = i
        firstBox = box
      }
    }
  }

  /// Whether the UTF-8 at `i` is a bidi embedding control (E2 80 AA to E2 80 AE).
  private static func isBidiEmbedding(_ bytes: UnsafeBufferPointer<UInt8>, _ i: Int) -> Bool {
    bytes[i] == 0xE2 && i + 2 < bytes.count && bytes[i + 1] == 0x80 && (0xAA...0xAE).contains(bytes[i + 2])
  }
}

/// Puts a page's lines together from several poppler selections, in logical order.
///
/// poppler-glib has no "all the text of the page" call: its page text is a
/// selection from one corner of the page to the other, and on pages with
/// right-to-left text that selection stops early (pdf.js issue19971.pdf page
/// 6 loses an Arabic paragraph's end and the Japanese paragraph after it).
/// Selections that start lower down the page find those lines; `merging`
/// adds the ones the first selection lacks.
enum PageLines {
  /// `base` with the lines of `extra` that no line of `base` covers, each put
  /// before the first line of `base` that starts lower on the page; a line of
  /// `extra` that covers a single shorter line of `base` (a line the
  /// selection cut short) replaces it.
  static func merging(_ base: [PageLine], _ extra: [PageLine]) -> [PageLine] {
    var lines = base
    for line in extra where line.visibleCount > 0 {
      guard let box = line.box else { continue }
      let covered = lines.indices.filter { lines[$0].box.map { overlaps($0, box) } ?? false }
      if covered.isEmpty {
        let at = lines.firstIndex { ($0.box?.y1 ?? -.infinity) > box.y1 } ?? lines.endIndex
        lines.insert(line, at: at)
      } else if covered.count == 1, line.visibleCount > lines[covered[0]].visibleCount {
        lines[covered[0]] = line
      }
    }
    return lines
  }

  /// Whether two line boxes are the same line: they overlap across, and by
  /// more than half the lower one's height up and down.
  static func overlaps(_ a: GlyphBox, _ b: GlyphBox) -> Bool {
    let across = min(a.x2, b.x2) - max(a.x1, b.x1)
    let down = min(a.y2, b.y2) - max(a.y1, b.y1)
    return across > 0 && down > 0.5 * min(a.y2 - a.y1, b.y2 - b.y1)
  }

  /// The box around `boxes` that have an area (poppler gives spaces and line
  /// ends boxes of no width, or inverted ones, between words).
  static func union(_ boxes: some Sequence<GlyphBox>) -> GlyphBox? {
    var out: GlyphBox?
    for b in boxes where b.x2 > b.x1 && b.y2 > b.y1 {
      guard let u = out else {
        out = b
        continue
      }
      out = GlyphBox(x1: min(u.x1, b.x1), y1: min(u.y1, b.y1), x2: max(u.x2, b.x2), y2: max(u.y2, b.y2))
    }
    return out
  }

  // MARK: - Logical order

  /// A line of a left-to-right page in logical order.
  ///
  /// On such a page poppler writes a line's words left to right, each
  /// right-to-left word reversed on its own inside RLE … PDF (U+202B …
  /// U+202C): a line of Arabic comes out last word first. Like `pdftotext`,
  /// this puts the line back in visual order and reverses each right-to-left
  /// stretch as a whole: from a right-to-left letter to the next
  /// left-to-right letter or digit, spaces and punctuation within it too
  /// (but not the spaces that end it).
  static func logicalOrder(ofLeftToRightLine line: String) -> String {
    guard line.unicodeScalars.contains(where: PDFPageExtras.isRightToLeft) else { return line }
    // Back to visual order: undo poppler's reversal of each RLE … PDF run.
    var visual: [Unicode.Scalar] = []
    var run: [Unicode.Scalar]?
    for s in line.unicodeScalars {
      switch s.value {
      case 0x202B: run = []
      case 0x202C:
        visual += (run ?? []).reversed()
        run = nil
      case 0x202A, 0x202D, 0x202E: continue
      default:
        if run != nil { run?.append(s) } else { visual.append(s) }
      }
    }
    visual += (run ?? []).reversed()
    // poppler's reorderText for a left-to-right line.
    var out = String.UnicodeScalarView()
    var i = 0
    while i < visual.count {
      var j = i
      while j < visual.count && !PDFPageExtras.isRightToLeft(visual[j]) { j += 1 }
      out.append(contentsOf: visual[i..<j])
      i = j
      while j < visual.count && !isLeftToRightOrDigit(visual[j]) { j += 1 }
      // Spaces before the next left-to-right word stay between the two.
      var end = j
      while end > i && visual[end - 1].properties.isWhitespace { end -= 1 }
      out.append(contentsOf: visual[i..<end].reversed())
      out.append(contentsOf: visual[end..<j])
      i = j
    }
    return String(out)
  }

  /// A letter of a left-to-right script, or a digit (European or Arabic-Indic).
  private static func isLeftToRightOrDigit(_ s: Unicode.Scalar) -> Bool {
    if PDFPageExtras.isRightToLeft(s) {
      // Arabic-Indic and extended Arabic-Indic digits end a right-to-left stretch.
      return (0x0660...0x0669).contains(s.value) || (0x06F0...0x06F9).contains(s.value)
    }
    return s.properties.numericType == .decimal || s.properties.isAlphabetic
  }
}
