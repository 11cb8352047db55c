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

  /// Whether `scalar` is one of the bidi embedding controls (LRE, RLE, PDF,
  /// LRO, RLO) poppler wraps around right-to-left words. They carry no text
  /// and no glyph box.
  static func isBidiEmbedding(_ scalar: Unicode.Scalar) -> Bool {
    (0x202A...0x202E).contains(scalar.value)
  }

  /// `text` without poppler's bidi embedding controls: the text stays in
  /// logical order, which is what a reader (or a model) needs.
  static func removingBidiEmbeddings(_ text: String) -> String {
    guard text.unicodeScalars.contains(where: isBidiEmbedding) else { return text }
    var out = String.UnicodeScalarView()
    for scalar in text.unicodeScalars where !isBidiEmbedding(scalar) { out.append(scalar) }
    return String(out)
  }

  /// The scalars of `text` that are neither whitespace nor bidi controls: how
  /// much text a selection of the page kept.
  static func visibleCount(_ text: String) -> Int {
    text.unicodeScalars.reduce(0) { n, s in n + (s.properties.isWhitespace || isBidiEmbedding(s) ? 0 : 1) }
  }
}
