/// A form field's value on one page, as poppler-glib reads it.
struct PDFFormField: Equatable {
  /// What the field holds.
  enum Value: Equatable {
    /// A text field's text.
    case text(String)
    /// A combo box's (`options` nil) or list box's selection, and a list box's options,
    /// which its appearance shows on the page.
    case choice(selected: [String], options: [String]?)
    /// A check box or radio button that is on.
    case checked
    /// Text only the widget's appearance holds (a signature's stamp, a button's caption).
    case appearance(String)
  }

  /// The field's tooltip name (`/TU`) when it has one, else its own name (`/T`).
  var name: String
  var value: Value

  /// `[form field NAME] value`, or nil when the field holds nothing to say.
  var line: String? {
    let shown: String
    switch value {
    case .text(let text): shown = PDFPageExtras.oneLine(text)
    case .choice(let selected, let options):
      var parts = selected.map(PDFPageExtras.oneLine).filter { !$0.isEmpty }.joined(separator: ", ")
      if let options, !options.isEmpty {
        let list = "(choices: \(options.map(PDFPageExtras.oneLine).joined(separator: ", ")))"
        parts = parts.isEmpty ? list : parts + " " + list
      }
      shown = parts
    case .checked: shown = "checked"
    case .appearance(let text): shown = PDFPageExtras.oneLine(text)
    }
    guard !shown.isEmpty else { return nil }
    return "[form field \(PDFPageExtras.oneLine(name))] \(shown)"
  }
}

/// An annotation's text on one page: a comment's contents, or what a stamp shows.
struct PDFAnnotation: Equatable {
  /// The PDF subtype: `Text` (a sticky note), `FreeText`, `Highlight`, `Stamp`, …
  var type: String
  /// Who wrote it (a markup annotation's `/T`), when set.
  var author: String?
  var text: String

  /// `[annotation Type by author] text`, or nil when there is no text.
  var line: String? {
    let shown = PDFPageExtras.oneLine(text)
    guard !shown.isEmpty else { return nil }
    let by = author.map(PDFPageExtras.oneLine).flatMap { $0.isEmpty ? nil : " by \($0)" } ?? ""
    return "[annotation \(type)\(by)] \(shown)"
  }
}

/// Text helpers for what poppler-glib gives beside a page's text layer.
enum PDFPageExtras {
  /// `text` with every run of whitespace (newlines too) made one space, trimmed.
  static func oneLine(_ text: String) -> String {
    text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
  }

  /// The lines to append to a page for its form fields and annotations, each
  /// line once (a field with several widgets on the page shows its value once).
  static func lines(fields: [PDFFormField], annotations: [PDFAnnotation]) -> [String] {
    var seen = Set<String>()
    return (fields.compactMap(\.line) + annotations.compactMap(\.line)).filter { seen.insert($0).inserted }
  }

  /// The words of `rendered` that are not among the words of `underneath`, in
  /// order, each word of `underneath` taking away one occurrence.
  ///
  /// A widget's or stamp's appearance is read by rendering its area, which
  /// also renders the page text there; taking away the page's own text in the
  /// area leaves what the appearance added.
  static func subtractingWords(of underneath: String, from rendered: String) -> String {
    var left: [Substring: Int] = [:]
    for word in underneath.split(whereSeparator: \.isWhitespace) { left[word, default: 0] += 1 }
    var kept: [Substring] = []
    for word in rendered.split(whereSeparator: \.isWhitespace) {
      if let n = left[word], n > 0 {
        left[word] = n - 1
      } else {
        kept.append(word)
      }
    }
    return kept.joined(separator: " ")
  }

  // MARK: - Right-to-left text

  /// Whether `scalar` belongs to a right-to-left script (Hebrew, Arabic,
  /// Syriac, Thaana, NKo, Samaritan, Mandaic, their presentation forms, and
  /// the historic RTL scripts of the supplementary planes).
  static func isRightToLeft(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0x0590...0x08FF, 0xFB1D...0xFDFF, 0xFE70...0xFEFF, 0x10800...0x10FFF, 0x1E800...0x1EFFF: true
    default: false
    }
  }

  /// Whether `text` holds a right-to-left scalar (all lie past U+0590: ASCII is skipped unread).
  static func containsRightToLeft(_ text: String) -> Bool {
    var text = text
    return text.withUTF8 { bytes in
      var i = 0
      while i < bytes.count {
        if bytes[i] < 0x80 {
          i += 1
          continue
        }
        let (value, length) = UTF8Scalars.decode(bytes, at: i)
        if let scalar = Unicode.Scalar(value), isRightToLeft(scalar) { return true }
        i += length
      }
      return false
    }
  }

  /// Whether `scalar` is one of the bidi embedding controls (LRE, RLE, PDF,
  /// LRO, RLO) poppler wraps around right-to-left words. They carry no text
  /// and no glyph box.
  static func isBidiEmbedding(_ scalar: Unicode.Scalar) -> Bool {
    (0x202A...0x202E).contains(scalar.value)
  }

  /// `text` without poppler's bidi embedding controls: the text stays in
  /// logical order, which is what a reader (or a model) needs.
  static func removingBidiEmbeddings(_ text: String) -> String {
    // U+202A to U+202E are E2 80 AA to E2 80 AE: a byte scan finds them without decoding.
    var copy = text
    let has = copy.withUTF8 { b in
      var i = 0
      while i + 2 < b.count {
        if b[i] == 0xE2 && b[i + 1] == 0x80 && (0xAA...0xAE).contains(b[i + 2]) { return true }
        i += 1
      }
      return false
    }
    guard has else { return text }
    var out = String.UnicodeScalarView()
    for scalar in text.unicodeScalars where !isBidiEmbedding(scalar) { out.append(scalar) }
    return String(out)
  }

  /// The scalars of `text` that are neither whitespace nor bidi controls: how
  /// much text a selection of the page kept, counted up to `limit` (a caller
  /// that only asks "fewer than 40?" stops at 40).
  static func visibleCount(_ text: String, atMost limit: Int = .max) -> Int {
    var text = text
    return text.withUTF8 { visibleCount(utf8: $0, atMost: limit) }
  }

  /// `visibleCount` over valid UTF-8 bytes: ASCII is decided byte by byte,
  /// without Unicode property look-ups (they were 9 % of a text PDF's extraction).
  static func visibleCount(utf8 bytes: UnsafeBufferPointer<UInt8>, atMost limit: Int = .max) -> Int {
    var n = 0
    var i = 0
    while i < bytes.count && n < limit {
      let lead = bytes[i]
      if lead < 0x80 {
        if !(lead == 0x20 || (lead >= 0x09 && lead <= 0x0D)) { n += 1 }
        i += 1
        continue
      }
      let (value, length) = UTF8Scalars.decode(bytes, at: i)
      if !isWhitespace(value) && !(0x202A...0x202E).contains(value) { n += 1 }
      i += length
    }
    return n
  }

  /// Whether `text` is empty or only whitespace (stops at the first other scalar).
  static func isBlank(_ text: String) -> Bool {
    var text = text
    return text.withUTF8 { bytes in
      var i = 0
      while i < bytes.count {
        let lead = bytes[i]
        if lead < 0x80 {
          guard lead == 0x20 || (lead >= 0x09 && lead <= 0x0D) else { return false }
          i += 1
          continue
        }
        let (value, length) = UTF8Scalars.decode(bytes, at: i)
        guard isWhitespace(value) else { return false }
        i += length
      }
      return true
    }
  }

  /// Unicode's White_Space property (`Unicode.Scalar.Properties.isWhitespace`)
  /// without the property table: the 25 scalars it holds.
  static func isWhitespace(_ value: UInt32) -> Bool {
    switch value {
    case 0x09...0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: true
    default: false
    }
  }
}

/// Decoding scalars straight from UTF-8 bytes.
enum UTF8Scalars {
  /// The scalar value starting at byte `i` and its length in bytes. Bytes that
  /// do not form a scalar (a stray continuation byte, a cut sequence) decode
  /// as U+FFFD one byte long, so a caller always advances.
  static func decode(_ bytes: UnsafeBufferPointer<UInt8>, at i: Int) -> (value: UInt32, length: Int) {
    let lead = bytes[i]
    let length: Int
    var value: UInt32
    switch lead {
    case 0x00..<0x80: return (UInt32(lead), 1)
    case 0xC2..<0xE0: (length, value) = (2, UInt32(lead & 0x1F))
    case 0xE0..<0xF0: (length, value) = (3, UInt32(lead & 0x0F))
    case 0xF0..<0xF5: (length, value) = (4, UInt32(lead & 0x07))
    default: return (0xFFFD, 1)
    }
    guard i + length <= bytes.count else { return (0xFFFD, 1) }
    for k in 1..<length {
      let b = bytes[i + k]
      guard b & 0xC0 == 0x80 else { return (0xFFFD, 1) }
      value = value << 6 | UInt32(b & 0x3F)
    }
    return (value, length)
  }

  /// The start of the scalar that ends just before byte `i` (`i` > 0).
  static func start(before i: Int, in bytes: UnsafeBufferPointer<UInt8>) -> Int {
    var j = i - 1
    while j > 0 && i - j < 4 && bytes[j] & 0xC0 == 0x80 { j -= 1 }
    return j
  }

  /// Whether the scalar `value` is a letter (`isAlphabetic`), ASCII without a table look-up.
  static func isAlphabetic(_ value: UInt32) -> Bool {
    if value < 0x80 { return (value | 0x20) >= 0x61 && (value | 0x20) <= 0x7A }
    return Unicode.Scalar(value)?.properties.isAlphabetic ?? false
  }
}
