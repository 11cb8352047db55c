/// Reduces an RTF message body to its text, or, when the RTF encapsulates
/// HTML (`\fromhtml1` [MS-OXRTFEX]), to that HTML.
///
/// A small reader, not a layout engine: it keeps the body's characters
/// (`\'xx` bytes in the `\ansicpg` code page, `\uN` characters), paragraph
/// and tab breaks, and drops font and colour tables, pictures, field
/// instructions and ignorable `\*` destinations. Every byte is read once, so
/// damaged input costs time linear in its size.
enum RTFText {
  /// What an RTF body holds.
  enum Body: Equatable {
    /// Plain text.
    case text(String)
    /// The HTML it was made from (reduce it with `HTMLText.text(from:)`).
    case html(String)
  }

  /// The body of `rtf`.
  static func body(_ rtf: [UInt8]) -> Body {
    var reader = Reader(rtf)
    reader.run()
    let out = reader.output()
    return reader.fromHTML ? .html(out) : .text(out)
  }

  /// Destinations whose content is never text.
  private static let skipped: Set<String> = [
    "fonttbl", "colortbl", "stylesheet", "info", "pict", "objdata", "header", "footer", "headerl", "headerr",
    "headerf", "footerl", "footerr", "footerf", "fldinst", "themedata", "colorschememapping", "latentstyles",
    "datastore", "listtable", "listoverridetable", "rsidtbl", "xmlnstbl", "filetbl", "revtbl", "pgdsctbl",
    "generator", "private", "xe", "tc", "bkmkstart", "bkmkend", "nonshppict", "blipuid",
  ]

  /// Characters some control words stand for.
  private static let symbols: [String: String] = [
    "par": "\n", "line": "\n", "sect": "\n", "page": "\n", "row": "\n", "tab": "\t", "cell": "\t",
    "emdash": "\u{2014}", "endash": "\u{2013}", "bullet": "\u{2022}", "lquote": "\u{2018}", "rquote": "\u{2019}",
    "ldblquote": "\u{201C}", "rdblquote": "\u{201D}", "emspace": " ", "enspace": " ", "qmspace": " ",
  ]

  private struct Group {
    var skip = false
    /// `\htmlrtf` on: RTF-only content, not part of the encapsulated HTML.
    var htmlRTF = false
    /// Inside `{\*\htmltag …}`: the encapsulated HTML's markup.
    var htmlTag = false
    var unicodeSkip = 1
  }

  private struct Reader {
    let bytes: [UInt8]
    var i = 0
    var stack: [Group] = []
    var group = Group()
    var fromHTML = false
    var charset = "windows-1252"
    var text = ""
    var pendingBytes: [UInt8] = []
    var pendingHighSurrogate: UInt16?
    /// Characters still to drop after a `\uN` (its fallback).
    var fallback = 0
    /// Groups opened past the depth limit: their braces are counted, not stacked.
    var overflow = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var emitting: Bool { !group.skip && !(fromHTML && group.htmlRTF && !group.htmlTag) }

    mutating func run() {
      while i < bytes.count {
        let c = bytes[i]
        i += 1
        switch c {
        case UInt8(ascii: "{"):
          if stack.count >= 512 { overflow += 1 } else { stack.append(group) }
        case UInt8(ascii: "}"):
          if overflow > 0 {
            overflow -= 1
          } else if let last = stack.popLast() {
            group = last
          }
        case UInt8(ascii: "\\"):
          control()
        case 0x0D, 0x0A, 0:
          break
        default:
          literal(c)
        }
      }
    }

    mutating func literal(_ byte: UInt8) {
      if fallback > 0 {
        fallback -= 1
        return
      }
      if emitting { pendingBytes.append(byte) }
    }

    mutating func emit(_ s: String) {
      guard emitting else { return }
      flush()
      text += s
    }

    mutating func flush() {
      if !pendingBytes.isEmpty {
        text += Charsets.decode(pendingBytes, charset: charset)
        pendingBytes.removeAll(keepingCapacity: true)
      }
    }

    mutating func control() {
      guard i < bytes.count else { return }
      let c = bytes[i]
      guard Self.isLetter(c) else {
        i += 1
        symbol(c)
        return
      }
      let start = i
      while i < bytes.count, i - start < 32, Self.isLetter(bytes[i]) { i += 1 }
      let word = String(decoding: bytes[start..<i], as: UTF8.self)
      var parameter: Int?
      let negative = i < bytes.count && bytes[i] == UInt8(ascii: "-")
      if negative { i += 1 }
      var digits = 0
      var value = 0
      while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39, digits < 10 {
        value = value * 10 + Int(bytes[i] - 0x30)
        digits += 1
        i += 1
      }
      if digits > 0 { parameter = negative ? -value : value }
      if i < bytes.count, bytes[i] == UInt8(ascii: " ") { i += 1 }
      handle(word, parameter)
    }

    mutating func symbol(_ c: UInt8) {
      switch c {
      case UInt8(ascii: "'"):
        guard i + 1 < bytes.count, let hi = hex(bytes[i]), let lo = hex(bytes[i + 1]) else { return }
        i += 2
        literal(hi << 4 | lo)
      case UInt8(ascii: "*"):
        // An ignorable destination: skipped unless it is encapsulated HTML's markup.
        let save = i
        if bytes[i...].starts(with: Array("\\htmltag".utf8)) {
          group.htmlTag = true
          return
        }
        i = save
        group.skip = true
      case UInt8(ascii: "~"): emit("\u{00A0}")
      case UInt8(ascii: "_"): emit("\u{2011}")
      case UInt8(ascii: "-"): break
      case 0x0A, 0x0D: emit("\n")
      default: literal(c)  // \\ \{ \} and anything else: the character itself.
      }
    }

    mutating func handle(_ word: String, _ parameter: Int?) {
      if let s = RTFText.symbols[word] {
        emit(s)
        return
      }
      switch word {
      case "fromhtml": fromHTML = parameter != 0
      case "htmlrtf": group.htmlRTF = parameter != 0
      case "htmltag": group.htmlTag = true
      case "ansicpg": if let p = parameter { charset = MAPICodepage.charset(p) }
      case "uc": group.unicodeSkip = max(0, min(parameter ?? 1, 8))
      case "u":
        guard let p = parameter else { return }
        unicode(UInt16(truncatingIfNeeded: p < 0 ? p + 65_536 : p))
        fallback = group.unicodeSkip
      case "bin":
        // Raw binary data: skipped whole.
        i = min(bytes.count, i + max(0, parameter ?? 0))
      default:
        if RTFText.skipped.contains(word) { group.skip = true }
      }
    }

    mutating func unicode(_ unit: UInt16) {
      if (0xD800..<0xDC00).contains(unit) {
        pendingHighSurrogate = unit
        return
      }
      var units = [unit]
      if let high = pendingHighSurrogate, (0xDC00..<0xE000).contains(unit) { units = [high, unit] }
      pendingHighSurrogate = nil
      emit(String(decoding: units, as: UTF16.self))
    }

    static func isLetter(_ c: UInt8) -> Bool { (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) }

    func hex(_ c: UInt8) -> UInt8? {
      switch c {
      case 0x30...0x39: c - 0x30
      case 0x41...0x46: c - 0x37
      case 0x61...0x66: c - 0x57
      default: nil
      }
    }

    mutating func output() -> String {
      group = Group()
      flush()
      return text
    }
  }
}
