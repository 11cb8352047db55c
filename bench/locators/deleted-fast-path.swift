// The peer: `StoredLocators.locator(citation:)` before issue 29, with its own parser of
// `path#Lx-Ly`, `path#Lx` and `path#page=N` in front of `Locator(citation:)` (frozen copy of
// the code deleted at d8437a0..h-names; compiled against that commit's Locator.swift).
func storedLocator(_ citation: String) -> Locator {
  if let quick = linesOrPage(citation), quick.description == citation { return quick }
  if let parsed = Locator(citation: citation[...]), parsed.description == citation { return parsed }
  return Locator(path: citation)
}

private func linesOrPage(_ citation: String) -> Locator? {
  let bytes = citation.utf8
  guard let hash = bytes.lastIndex(of: UInt8(ascii: "#")), hash != bytes.startIndex else { return nil }
  var i = bytes.index(after: hash)
  func number() -> Int? {
    var value = 0
    var digits = 0
    while i != bytes.endIndex, let d = Optional(bytes[i]), d >= UInt8(ascii: "0"), d <= UInt8(ascii: "9") {
      guard digits < 18 else { return nil }
      value = value * 10 + Int(d - UInt8(ascii: "0"))
      digits += 1
      i = bytes.index(after: i)
    }
    return digits > 0 ? value : nil
  }
  func skip(_ literal: String) -> Bool {
    for byte in literal.utf8 {
      guard i != bytes.endIndex, bytes[i] == byte else { return false }
      i = bytes.index(after: i)
    }
    return true
  }
  let path = String(citation[..<hash])
  if skip("page=") {
    guard let page = number(), i == bytes.endIndex else { return nil }
    return Locator(path: path, page: page)
  }
  guard skip("L"), let start = number() else { return nil }
  if i == bytes.endIndex { return Locator(path: path, lineStart: start, lineEnd: start) }
  guard skip("-L"), let end = number(), i == bytes.endIndex else { return nil }
  return Locator(path: path, lineStart: start, lineEnd: end)
}
