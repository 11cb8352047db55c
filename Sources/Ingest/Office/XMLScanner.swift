/// A start tag: its name without the namespace prefix and its attributes.
struct XMLTag {
  /// The local name (`p` for `<w:p>`).
  var name: String
  /// Attributes with their qualified names (`r:id`, `w:val`), values decoded.
  var attributes: [(name: String, value: String)]

  /// The value of the attribute named exactly `qualified` (`r:id`), or `nil`.
  subscript(qualified: String) -> String? {
    attributes.first { $0.name == qualified }?.value
  }

  /// The value of the first attribute whose local name is `local`, whatever its prefix.
  func value(_ local: String) -> String? {
    let wanted = local.utf8
    for attribute in attributes {
      if attribute.name == local { return attribute.value }
      // `prefix:local`, compared on bytes (this runs for every cell of a sheet).
      let name = attribute.name.utf8
      guard name.count > wanted.count + 1 else { continue }
      let tail = name.index(name.endIndex, offsetBy: -wanted.count)
      if name[name.index(before: tail)] == UInt8(ascii: ":"), name[tail...].elementsEqual(wanted) {
        return attribute.value
      }
    }
    return nil
  }

  /// A relationship id (`r:id`, `r:embed`…): an attribute with local name `local` and a prefix.
  func relationship(_ local: String) -> String? {
    if let value = self["r:" + local] { return value }
    for attribute in attributes where attribute.name.hasSuffix(":" + local) { return attribute.value }
    return nil
  }

  /// Whether an on/off property (`<w:vanish/>`, `<w:b w:val="0"/>`) is on.
  var isOn: Bool {
    guard let value = value("val") else { return true }
    return !(value == "0" || value == "false" || value == "off")
  }
}

/// One piece of an XML part.
enum XMLToken {
  /// A start tag; an empty-element tag gives `.start` then `.end`.
  case start(XMLTag)
  /// An end tag, by local name.
  case end(String)
  /// Character data, not yet decoded: `XMLScanner.text(_:)` decodes it when wanted.
  case text(Range<Int>, cdata: Bool)
}

/// A small pull tokenizer for the XML of Office parts, on bytes.
///
/// It decodes the five predefined entities and character references and
/// nothing else: a DOCTYPE is skipped, so no entity is ever expanded (no
/// "billion laughs"), and nothing external is read. Malformed input ends
/// the token stream early instead of failing: Office parts are read for
/// their text, and what comes before the damage is kept. Measured against
/// FoundationXML's `XMLParser` (libxml2 SAX), see `OfficeExtractor`'s notes.
struct XMLScanner {
  private let bytes: [UInt8]
  private var index = 0
  private var pendingEnd: String?

  init(_ bytes: [UInt8]) {
    self.bytes = bytes
    if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
  }

  /// The next token, or `nil` at the end of the input (or at damage).
  mutating func next() -> XMLToken? {
    if let end = pendingEnd {
      pendingEnd = nil
      return .end(end)
    }
    while index < bytes.count {
      if bytes[index] != UInt8(ascii: "<") {
        let start = index
        while index < bytes.count, bytes[index] != UInt8(ascii: "<") { index += 1 }
        return .text(start..<index, cdata: false)
      }
      // At "<".
      guard index + 1 < bytes.count else { return nil }
      switch bytes[index + 1] {
      case UInt8(ascii: "/"):
        let nameStart = index + 2
        var i = nameStart
        while i < bytes.count, !Self.endsName(bytes[i]) { i += 1 }
        let name = Self.localName(bytes, nameStart..<i)
        guard let close = find(UInt8(ascii: ">"), from: i) else { return nil }
        index = close + 1
        return .end(name)
      case UInt8(ascii: "?"):
        guard let close = find("?>", from: index + 2) else { return nil }
        index = close + 2
      case UInt8(ascii: "!"):
        if matches("<!--", at: index) {
          guard let close = find("-->", from: index + 4) else { return nil }
          index = close + 3
        } else if matches("<![CDATA[", at: index) {
          let start = index + 9
          guard let close = find("]]>", from: start) else { return nil }
          index = close + 3
          return .text(start..<close, cdata: true)
        } else {
          guard skipDeclaration() else { return nil }
        }
      default:
        return startTag()
      }
    }
    return nil
  }

  /// The decoded text of a `.text` token.
  func text(_ range: Range<Int>, cdata: Bool) -> String {
    let lower = max(0, min(range.lowerBound, bytes.count))
    let upper = max(lower, min(range.upperBound, bytes.count))
    let slice = bytes[lower..<upper]
    if cdata || !slice.contains(UInt8(ascii: "&")) { return String(decoding: slice, as: UTF8.self) }
    return Self.decodeEntities(slice)
  }

  /// The local part of a qualified name.
  static func localName(_ qualified: String) -> String {
    guard let colon = qualified.lastIndex(of: ":") else { return qualified }
    return String(qualified[qualified.index(after: colon)...])
  }

  // MARK: - Tags

  private mutating func startTag() -> XMLToken? {
    let nameStart = index + 1
    var i = nameStart
    while i < bytes.count, !Self.endsName(bytes[i]) { i += 1 }
    let name = Self.localName(bytes, nameStart..<i)
    var attributes: [(name: String, value: String)] = []
    while i < bytes.count {
      let byte = bytes[i]
      if byte == UInt8(ascii: ">") {
        index = i + 1
        return .start(XMLTag(name: name, attributes: attributes))
      }
      if byte == UInt8(ascii: "/"), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: ">") {
        index = i + 2
        pendingEnd = name
        return .start(XMLTag(name: name, attributes: attributes))
      }
      if Self.isSpace(byte) || byte == UInt8(ascii: "/") {
        i += 1
        continue
      }
      // An attribute: name = "value".
      let attrStart = i
      while i < bytes.count, !Self.endsName(bytes[i]), bytes[i] != UInt8(ascii: "=") { i += 1 }
      let attrName = String(decoding: bytes[attrStart..<i], as: UTF8.self)
      while i < bytes.count, Self.isSpace(bytes[i]) { i += 1 }
      guard i < bytes.count, bytes[i] == UInt8(ascii: "=") else {
        if i == attrStart { i += 1 }  // a stray byte: step over it
        continue
      }
      i += 1
      while i < bytes.count, Self.isSpace(bytes[i]) { i += 1 }
      guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") || bytes[i] == UInt8(ascii: "'") else { continue }
      let quote = bytes[i]
      let valueStart = i + 1
      guard let valueEnd = find(quote, from: valueStart) else { return nil }
      let raw = bytes[valueStart..<valueEnd]
      let value =
        raw.contains(UInt8(ascii: "&")) ? Self.decodeEntities(raw) : String(decoding: raw, as: UTF8.self)
      attributes.append((attrName, value))
      i = valueEnd + 1
    }
    return nil
  }

  /// Skips `<!DOCTYPE …>` or another `<!…>` declaration, with an internal subset in brackets.
  private mutating func skipDeclaration() -> Bool {
    var i = index + 2
    var depth = 0
    while i < bytes.count {
      switch bytes[i] {
      case UInt8(ascii: "["): depth += 1
      case UInt8(ascii: "]"): depth -= 1
      case UInt8(ascii: ">") where depth <= 0:
        index = i + 1
        return true
      default: break
      }
      i += 1
    }
    return false
  }

  // MARK: - Bytes

  private func find(_ byte: UInt8, from start: Int) -> Int? {
    var i = start
    while i < bytes.count {
      if bytes[i] == byte { return i }
      i += 1
    }
    return nil
  }

  private func find(_ text: StaticString, from start: Int) -> Int? {
    let pattern = text.withUTF8Buffer { Array($0) }
    guard let first = pattern.first else { return nil }
    var i = start
    while i + pattern.count <= bytes.count {
      if bytes[i] == first, matches(pattern, at: i) { return i }
      i += 1
    }
    return nil
  }

  private func matches(_ text: StaticString, at position: Int) -> Bool {
    matches(text.withUTF8Buffer { Array($0) }, at: position)
  }

  private func matches(_ pattern: [UInt8], at position: Int) -> Bool {
    guard position + pattern.count <= bytes.count else { return false }
    for (offset, byte) in pattern.enumerated() where bytes[position + offset] != byte { return false }
    return true
  }

  private static func isSpace(_ byte: UInt8) -> Bool {
    byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
  }

  private static func endsName(_ byte: UInt8) -> Bool {
    isSpace(byte) || byte == UInt8(ascii: ">") || byte == UInt8(ascii: "/")
  }

  private static func localName(_ bytes: [UInt8], _ range: Range<Int>) -> String {
    var start = range.lowerBound
    for i in range where bytes[i] == UInt8(ascii: ":") { start = i + 1 }
    return String(decoding: bytes[start..<range.upperBound], as: UTF8.self)
  }

  /// Decodes `&lt;` `&gt;` `&amp;` `&quot;` `&apos;` and `&#…;`; anything else is kept as it stands.
  static func decodeEntities(_ slice: ArraySlice<UInt8>) -> String {
    var out: [UInt8] = []
    out.reserveCapacity(slice.count)
    var i = slice.startIndex
    while i < slice.endIndex {
      let byte = slice[i]
      guard byte == UInt8(ascii: "&") else {
        out.append(byte)
        i += 1
        continue
      }
      var end = i + 1
      while end < slice.endIndex, end - i <= 10, slice[end] != UInt8(ascii: ";") { end += 1 }
      guard end < slice.endIndex, slice[end] == UInt8(ascii: ";") else {
        out.append(byte)
        i += 1
        continue
      }
      let name = String(decoding: slice[(i + 1)..<end], as: UTF8.self)
      if let decoded = entity(name) {
        out.append(contentsOf: Array(decoded.utf8))
        i = end + 1
      } else {
        out.append(byte)
        i += 1
      }
    }
    return String(decoding: out, as: UTF8.self)
  }

  private static func entity(_ name: String) -> String? {
    switch name {
    case "lt": return "<"
    case "gt": return ">"
    case "amp": return "&"
    case "quot": return "\""
    case "apos": return "'"
    default:
      guard name.hasPrefix("#") else { return nil }
      let digits = name.dropFirst()
      let code = digits.hasPrefix("x") || digits.hasPrefix("X") ? UInt32(digits.dropFirst(), radix: 16) : UInt32(digits)
      guard let code, let scalar = Unicode.Scalar(code) else { return nil }
      return String(Character(scalar))
    }
  }
}
