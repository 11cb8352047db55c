// libFuzzer harness: code structure (CodeStructure, Declarations, LineGrouper.group with boundaries).
// Compiled into module Ingest together with Sources/Ingest/Code/*.swift and
// Sources/Ingest/Files/TextLines.swift and LineGrouper.swift (see scripts/fuzz.sh).
// Input: first byte picks the language, the rest is the source text.
import Foundation

private let languages: [String?] = [
  nil, "Swift", "C", "C++", "Rust", "Go", "JavaScript", "TypeScript", "Python", "Ruby", "Shell", "Kotlin",
  "Dart", "PHP", "JSON", "Lua", "Erlang", "Clojure", "OCaml", "CSS", "Java", "YAML",
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCode(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  guard size > 0 else { return 0 }
  let language = languages[Int(data[0]) % languages.count]
  let text = String(decoding: UnsafeBufferPointer(start: data + 1, count: size - 1), as: UTF8.self)
  let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
  for line in lines.prefix(64) {
    let bytes = Array(line.utf8)
    let trimmed = bytes.drop { $0 == 0x20 || $0 == 0x09 }
    _ = Declarations.name(of: trimmed)
    _ = Declarations.name(of: trimmed, member: true)
    _ = Declarations.startsDeclaration(trimmed)
    _ = Declarations.isAttribute(trimmed)
    if let s = CodeSyntax.forLanguage(language) { _ = Declarations.continues(trimmed, syntax: s) }
    if let open = trimmed.firstIndex(of: UInt8(ascii: "(")) { _ = Declarations.closingParen(trimmed, from: open) }
  }
  let structure = CodeStructure(lines: lines, language: language)
  let maxLines = 1 + Int(data[0] >> 4)
  let ranges = LineGrouper.group(
    count: lines.count, maxLines: maxLines, maxBytes: 16 + Int(data[0]) * 4,
    lineBytes: { lines[$0].utf8.count }, boundary: { structure.boundaries[$0] })
  // The ranges must cover all lines in order.
  var next = 0
  for r in ranges {
    precondition(r.lowerBound == next && !r.isEmpty, "ranges do not tile the lines")
    next = r.upperBound
    _ = structure.symbols(in: r)
  }
  precondition(next == lines.count, "ranges do not cover the lines")
  return 0
}
