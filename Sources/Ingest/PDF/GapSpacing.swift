/// One glyph's box on the page, in points (y grows downwards), as
/// `poppler_page_get_text_layout` gives it.
struct GlyphBox: Equatable {
  var x1: Double
  var y1: Double
  var x2: Double
  var y2: Double
}

/// Puts back the spaces `pdftotext` writes and `poppler_page_get_text` leaves out.
///
/// Both come from poppler's `TextOutputDev`, but `poppler_page_get_text`
/// joins the cells of a table row (which poppler finds for tables of
/// contents, two-column indexes, grammar tables) without a separator:
/// `1Introduction` where `pdftotext` writes `1 Introduction`, and even the
/// next row's first cell straight after the last (`Berners-Lee1997`).
///
/// The glyph boxes tell them apart. Within a word poppler's boxes touch
/// (each glyph's box ends where the next one's begins), and words on one
/// line that poppler did not separate by a space are closer than 0.03 of
/// the font size. So two neighbouring non-space glyphs get a space between
/// them when the second starts more than `gapFraction` of the glyph height
/// to the right of the first, or when it sits wholly above or below the
/// first and to its left (a new row). Rotated text never qualifies: its
/// glyphs stack vertically in the same horizontal span.
///
/// Right-to-left lines lose a space too: poppler writes each RTL word in
/// visual order inside bidi embedding controls (RLE … PDF), and drops the
/// space after a line's first word (`‫שלום‬‫עולם‬` for "שלום עולם"). The next
/// word then starts well to the *left* of the last glyph on the same line,
/// which also counts as a word break. The embedding controls have no boxes
/// and are skipped.
enum GapSpacing {
  /// The smallest horizontal gap, as a fraction of the taller glyph's
  /// height, that separates two words (box heights are about 1 to 1.2 font
  /// sizes; the missing spaces measured 0.28 to 15 heights).
  static let gapFraction = 0.1

  /// `text` (UTF-8) with a space inserted where the glyph boxes show a
  /// word break without one.
  ///
  /// - Parameters:
  ///   - text: The page text, one box per Unicode scalar.
  ///   - boxes: The glyph boxes, `boxes[i]` for the `i`-th scalar of `text`.
  /// - Returns: The text with the spaces, or `nil` when no space is missing
  ///   or the counts disagree (nothing to go by): `text` stands as it is.
  static func insertingSpaces(_ text: UnsafeBufferPointer<UInt8>, boxes: UnsafeBufferPointer<GlyphBox>) -> [UInt8]? {
    guard let base = text.baseAddress, boxes.count > 1 else { return nil }
    var scalars = 0
    for i in 0..<text.count where base[i] & 0xC0 != 0x80 && !isBidiEmbedding(base, i, text.count) { scalars += 1 }
    guard scalars == boxes.count else { return nil }

    var out: [UInt8] = []
    var copied = 0  // bytes of `text` already in `out`
    var index = -1  // scalar index of the current position
    var previousIsSpace = true
    var i = 0
    while i < text.count {
      // Lead bytes are counted exactly as above, so `index` stays in step
      // with the boxes even on malformed UTF-8.
      var next = i + 1
      while next < text.count && base[next] & 0xC0 == 0x80 { next += 1 }
      if isBidiEmbedding(base, i, text.count) {
        i = next
        continue
      }
      index += 1
      guard index < boxes.count else { break }  // a stray continuation byte first
      let lead = base[i]
      let isSpace: Bool
      if lead < 0x80 {
        isSpace = lead == 0x20 || (lead >= 0x09 && lead <= 0x0D)
      } else {
        var decoder = UTF8()
        var bytes = UnsafeBufferPointer(rebasing: text[i..<next]).makeIterator()
        if case .scalarValue(let s) = decoder.decode(&bytes) {
          isSpace = s.properties.isWhitespace
        } else {
          isSpace = false
        }
      }
      if !isSpace && !previousIsSpace && isWordBreak(boxes[index - 1], boxes[index]) {
        if out.isEmpty { out.reserveCapacity(text.count + text.count / 16) }
        out.append(contentsOf: UnsafeBufferPointer(rebasing: text[copied..<i]))
        out.append(0x20)
        copied = i
      }
      previousIsSpace = isSpace
      i = next
    }
    guard copied > 0 else { return nil }
    out.append(contentsOf: UnsafeBufferPointer(rebasing: text[copied..<text.count]))
    return out
  }

  /// Whether glyph `b`, written right after glyph `a`, starts another word.
  static func isWordBreak(_ a: GlyphBox, _ b: GlyphBox) -> Bool {
    let height = max(a.y2 - a.y1, b.y2 - b.y1)
    if b.x1 - a.x2 > gapFraction * height { return true }
    let verticallyApart = b.y1 >= a.y2 || b.y2 <= a.y1
    if verticallyApart { return b.x2 <= a.x1 }
    // The next right-to-left word, to the left on the same line.
    return a.x1 - b.x2 > gapFraction * height
  }

  /// Whether the UTF-8 at `i` is a bidi embedding control, U+202A to U+202E
  /// (E2 80 AA to E2 80 AE), which poppler writes without a glyph box.
  private static func isBidiEmbedding(_ base: UnsafePointer<UInt8>, _ i: Int, _ count: Int) -> Bool {
    i + 2 < count && base[i] == 0xE2 && base[i + 1] == 0x80 && (0xAA...0xAE).contains(base[i + 2])
  }
}
