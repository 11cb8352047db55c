import Foundation

/// Reading a line of code (from its first non-blank byte) for what it
/// declares: the keyword-led forms most languages share (`func`, `def`,
/// `class`, `fn`, `impl`, …) and C's `type name(…)`.
enum Declarations {
  private static func set(_ words: String) -> Set<ArraySlice<UInt8>> {
    Set(words.split(separator: " ").map { Array($0.utf8)[...] })
  }

  /// Words that may precede a declaration's keyword.
  private static let modifiers = set(
    "public private internal fileprivate open protected static final abstract override export default async "
      + "pub unsafe extern inline virtual sealed data inner lazy mutating nonmutating convenience required "
      + "indirect partial readonly local nonisolated distributed package")
  /// Keywords that start a declaration.
  private static let keywords = set(
    "func fn fun def function class struct enum protocol extension interface trait impl type typealias module "
      + "mod object record namespace actor union macro let var val const defmodule defp defmacro")
  /// Keywords of variables: named only as `let x =` / `const x:` (C's `const char *p` is not one).
  private static let variables = set("let var val const")
  /// Keywords whose declarations are named by the rest of the line (`impl Display for Foo`).
  private static let wholeLine = set("impl extension")
  /// Words that continue the statement above rather than start one.
  private static let continuations = set("else catch finally where elif except end fi done esac then rescue ensure")
  /// Words that start statements, never declarations.
  private static let statements = set("if for while switch return do case sizeof else new throw await yield")

  /// Whether the line continues the statement above (`} else {`, `.map(…)`, `end`).
  static func continues(_ line: ArraySlice<UInt8>, syntax: CodeSyntax) -> Bool {
    guard let first = line.first else { return false }
    if "})].,?".utf8.contains(first) { return true }
    if line.starts(with: "&&".utf8) || line.starts(with: "||".utf8) { return true }
    return continuations.contains(word(line, from: line.startIndex))
  }

  /// Whether the line opens with a declaration keyword (after modifiers and attributes).
  static func startsDeclaration(_ line: ArraySlice<UInt8>) -> Bool {
    let start = skipModifiers(line)
    let keyword = word(line, from: start)
    return keywords.contains(keyword) && separates(line, start + keyword.count)
  }

  /// Whether the byte at `i` ends a keyword: a space, or `<` of generics (`impl<T>`).
  private static func separates(_ line: ArraySlice<UInt8>, _ i: Int) -> Bool {
    i < line.endIndex && (line[i] == 0x20 || line[i] == 0x09 || line[i] == UInt8(ascii: "<"))
  }

  /// Whether the line is an attribute or decorator that belongs to the
  /// declaration below it (`@objc`, `@app.route(…)`, `#[derive(…)]`, `template <…>`).
  static func isAttribute(_ line: ArraySlice<UInt8>) -> Bool {
    guard let first = line.first else { return false }
    if first == UInt8(ascii: "@") { return true }
    if line.starts(with: "#[".utf8) || line.starts(with: "template".utf8) { return true }
    return false
  }

  /// The declaration's name as shown in chunk headers: `func plan`,
  /// `class Writer`, `impl Display for Foo`, `main()`; nil when the line
  /// declares nothing recognisable.
  ///
  /// - Parameters:
  ///   - line: The line from its first non-blank byte.
  ///   - member: Whether it is a member (variables are not named there: a
  ///     function body's `let`s would crowd out its methods).
  static func name(of line: ArraySlice<UInt8>, member: Bool = false) -> String? {
    let start = skipModifiers(line)
    let keyword = word(line, from: start)
    if keywords.contains(keyword) {
      if variables.contains(keyword) && member { return nil }
      // `module.exports = …` is not a module.
      guard separates(line, start + keyword.count) else { return nil }
      var i = start + keyword.count
      if wholeLine.contains(keyword) {
        let rest = trim(line[i...].prefix { $0 != UInt8(ascii: "{") })
        return clip(String(decoding: keyword, as: UTF8.self) + (rest.hasPrefix("<") ? "" : " ") + rest)
      }
      i = skipSpaces(line, i)
      // Go methods: `func (r *Reader) Read(…)`; JS generators: `function* gen()`.
      if i < line.endIndex, line[i] == UInt8(ascii: "("), let close = closingParen(line, from: i) {
        i = skipSpaces(line, close + 1)
      }
      if i < line.endIndex, line[i] == UInt8(ascii: "*") { i = skipSpaces(line, i + 1) }
      let ident = line[i...].prefix { !" \t(<:{=;,[".utf8.contains($0) }
      guard !ident.isEmpty else { return nil }
      if variables.contains(keyword) {
        let next = skipSpaces(line, ident.endIndex)
        guard next == line.endIndex || "=:;".utf8.contains(line[next]) else { return nil }
      }
      return clip(String(decoding: keyword, as: UTF8.self) + " " + String(decoding: ident, as: UTF8.self))
    }
    // C-like `static int name(…)` (a type before the name), or `name() {` (shell, JS methods).
    // The search starts after the modifiers: an attribute's own `(…)` is not the declaration's.
    guard start < line.endIndex, let paren = line[start...].firstIndex(of: UInt8(ascii: "(")),
      line.first != UInt8(ascii: "#"),
      !statements.contains(keyword)
    else { return nil }
    let before = line[start..<paren]
    // `Type::method`, `~Type`: C++ names keep their scope.
    let ident = before.reversed().prefix { isIdentifier($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: "~") }
    guard !ident.isEmpty, let firstByte = ident.last, !(0x30...0x39).contains(firstByte), firstByte != UInt8(ascii: ":")
    else { return nil }
    let head = before.dropLast(ident.count)
    let typed =
      head.contains { $0 == 0x20 || $0 == UInt8(ascii: "*") } && !head.contains(UInt8(ascii: "="))
      && !head.contains(UInt8(ascii: "."))
    let bare =
      head.allSatisfy { $0 == 0x20 } && line[paren...].starts(with: "()".utf8)
      && (trim(line[(paren + 2)...]).isEmpty || trim(line[(paren + 2)...]).hasPrefix("{"))
    guard typed || bare else { return nil }
    return clip(String(decoding: ident.reversed(), as: UTF8.self) + "()")
  }

  // MARK: - Bytes

  private static func isIdentifier(_ b: UInt8) -> Bool {
    (0x30...0x39).contains(b) || (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b) || b == UInt8(ascii: "_")
      || b == UInt8(ascii: "$") || b >= 0x80
  }

  /// The identifier-like word at `i`.
  private static func word(_ line: ArraySlice<UInt8>, from i: Int) -> ArraySlice<UInt8> {
    line[i...].prefix { isIdentifier($0) }
  }

  private static func skipSpaces(_ line: ArraySlice<UInt8>, _ i: Int) -> Int {
    line[i...].firstIndex { $0 != 0x20 && $0 != 0x09 } ?? line.endIndex
  }

  /// The index after leading modifiers (`public static`), `pub(crate)` and
  /// same-line attributes (`@MainActor`, `@objc(name)`).
  private static func skipModifiers(_ line: ArraySlice<UInt8>) -> Int {
    var i = line.startIndex
    while i < line.endIndex {
      if line[i] == UInt8(ascii: "@") {
        var j = i + 1
        while j < line.endIndex, isIdentifier(line[j]) || line[j] == UInt8(ascii: ".") { j += 1 }
        if j < line.endIndex, line[j] == UInt8(ascii: "(") {
          // `@available(*, message: "use f(x:) instead")`: the attribute ends at its own `)`.
          guard let close = closingParen(line, from: j) else { return i }
          j = close + 1
        }
        guard j < line.endIndex, line[j] == 0x20 || line[j] == 0x09 else { return i }
        i = skipSpaces(line, j)
        continue
      }
      let w = word(line, from: i)
      guard !w.isEmpty, modifiers.contains(w) else { return i }
      var j = i + w.count
      // `pub(crate)`, `private(set)`
      if j < line.endIndex, line[j] == UInt8(ascii: "("), let close = closingParen(line, from: j) {
        j = close + 1
      }
      guard j < line.endIndex, line[j] == 0x20 || line[j] == 0x09 else { return i }
      i = skipSpaces(line, j)
    }
    return i
  }

  /// The index of the `)` that closes the `(` at `open`, skipping nested
  /// parentheses and string literals (`"f(x:)"`); nil when the line
  /// ends first.
  static func closingParen(_ line: ArraySlice<UInt8>, from open: Int) -> Int? {
    var depth = 0
    var quote: UInt8? = nil
    var i = open
    while i < line.endIndex {
      let b = line[i]
      if let q = quote {
        if b == UInt8(ascii: "\\") {
          i += 1
        } else if b == q {
          quote = nil
        }
      } else if b == UInt8(ascii: "\"") {
        quote = b
      } else if b == UInt8(ascii: "(") {
        depth += 1
      } else if b == UInt8(ascii: ")") {
        depth -= 1
        if depth == 0 { return i }
      }
      i += 1
    }
    return nil
  }

  private static func trim(_ bytes: ArraySlice<UInt8>) -> String {
    String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespaces)
  }

  /// Names are for reading: at most 60 characters.
  private static func clip(_ s: String) -> String {
    s.count <= 60 ? s : String(s.prefix(59)) + "…"
  }
}
