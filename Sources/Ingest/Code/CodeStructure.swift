/// Where a source file's declarations start, how deeply each line is
/// nested, and what the declarations are called: what the chunker needs to
/// cut a large file between top-level declarations rather than inside one.
///
/// A small lexer (comments, strings, brackets) and a few rules, not a
/// parser: it only has to tell a top-level line from one inside a body, a
/// comment or a string. Where it is fooled (a `{` in a JavaScript regex),
/// cuts fall back to blank lines, as before it existed.
struct CodeStructure {
  /// How good a place a line is to start a section, best first.
  enum Boundary: Int, Comparable, Sendable {
    /// A top-level declaration starts here (with its doc comment and attributes).
    case declaration = 0
    /// A member (a method in a class, a statement of a top-level body) starts here.
    case member = 1
    /// An unindented line after a blank line.
    case paragraph = 2
    /// Any other line after a blank line.
    case block = 3

    static func < (a: Boundary, b: Boundary) -> Bool { a.rawValue < b.rawValue }
  }

  /// Per line: whether a section may start there and how good a place it is.
  private(set) var boundaries: [Boundary?]
  /// Names of the declarations and members whose unit starts at a line
  /// (`func plan`, `class Writer`, `main()`), keyed by that line.
  private(set) var names: [Int: (name: String, boundary: Boundary)] = [:]

  /// Analyses `lines` of a file in `language` (as `Languages.name(forPath:)` names it).
  init(lines: [Substring], language: String?) {
    let syntax = CodeSyntax.forLanguage(language)
    var lexer = Lexer(syntax: syntax)
    let shapes = lines.map { lexer.scan(Array($0.utf8)) }
    boundaries = Array(repeating: nil, count: lines.count)
    for i in lines.indices.dropFirst()
    where !shapes[i].blank && shapes[i - 1].blank && !shapes[i].inside && !shapes[i].inParentheses {
      boundaries[i] = shapes[i].indent == 0 ? .paragraph : .block
    }
    guard let syntax else { return }
    for i in lines.indices {
      guard let level = Self.startLevel(i, shapes, syntax) else { continue }
      let start = Self.leadingComments(of: i, shapes, syntax)
      if start > 0, boundaries[start].map({ level < $0 }) ?? true { boundaries[start] = level }
      if let name = Declarations.name(of: shapes[i].bytes, member: level != .declaration) {
        if names[start] == nil || level < names[start]!.boundary { names[start] = (name, level) }
      }
    }
  }

  /// The names to show for the section of lines `range`: the top-level
  /// declaration it continues, if it starts inside one, then the
  /// declarations and members starting in it (at most `limit`).
  func symbols(in range: Range<Int>, limit: Int = 8) -> [String] {
    var out: [String] = []
    if boundaries[range.lowerBound] != .declaration,
      let outer = (0..<range.lowerBound).reversed().first(where: { boundaries[$0] == .declaration || $0 == 0 }),
      let name = names[outer], name.boundary == .declaration
    {
      out.append("\(name.name) (continued)")
    }
    for i in range {
      guard let entry = names[i], !out.contains(entry.name) else { continue }
      out.append(entry.name)
    }
    if out.count > limit { return out.prefix(limit) + ["and \(out.count - limit) more"] }
    return out
  }

  // MARK: - Rules

  private static let enders: Set<UInt8> = [UInt8(ascii: "}"), UInt8(ascii: ";"), UInt8(ascii: "{")]

  /// The level at which line `i` starts a declaration (or member), or nil.
  private static func startLevel(_ i: Int, _ shapes: [Shape], _ syntax: CodeSyntax) -> Boundary? {
    let s = shapes[i]
    guard !s.blank, !s.inside, !s.comment, !s.inParentheses, !Declarations.continues(s.bytes, syntax: syntax)
    else { return nil }
    let previous = (0..<i).reversed().first { !shapes[$0].blank && !shapes[$0].comment }
    let blankBefore = i > 0 && shapes[i - 1].blank
    let keyword = Declarations.startsDeclaration(s.bytes)
    switch syntax.blocks {
    case .braces:
      let level: Boundary
      switch s.depth {
      case 0: level = .declaration
      case 1: level = .member
      default: return nil
      }
      guard let p = previous else { return level }
      // Preprocessor lines group with their neighbours.
      if s.preprocessor { return blankBefore ? level : nil }
      // The line before ended a statement or a block, or opened the body this line is in.
      let ended = shapes[p].preprocessor || shapes[p].last.map { Self.enders.contains($0) } == true
      return blankBefore || ended || keyword ? level : nil
    case .indentation:
      guard s.depth == 0 else { return nil }
      if s.indent > 0 { return keyword ? .member : nil }
      guard let p = previous else { return .declaration }
      return blankBefore || keyword || shapes[p].indent > 0 ? .declaration : nil
    }
  }

  /// The first line of the doc comments and attributes right above line `i`.
  private static func leadingComments(of i: Int, _ shapes: [Shape], _ syntax: CodeSyntax) -> Int {
    var start = i
    while start > 0 {
      var j = start - 1
      // An attribute may run over several lines: `@decorator(\n    arg=1)`.
      while j > 0 && shapes[j].inParentheses && !shapes[j].blank { j -= 1 }
      let above = shapes[j]
      guard !above.blank else { break }
      let attached =
        (j == start - 1 && above.comment && (above.inside || above.indent == shapes[i].indent))
        || (above.depth == shapes[i].depth && above.indent == shapes[i].indent && Declarations.isAttribute(above.bytes))
      guard attached else { break }
      start = j
    }
    return start
  }

  // MARK: - Lexing

  /// What the lexer saw on one line.
  struct Shape {
    var bytes: ArraySlice<UInt8>
    /// Nesting depth at the line's start (`{` blocks for `.braces`; open
    /// brackets of a continued statement for `.indentation`).
    var depth = 0
    /// The innermost open bracket at the line's start is `(` or `[`: the
    /// line continues an argument or element list.
    var inParentheses = false
    var endDepth = 0
    /// The line starts inside a block comment or a multi-line string.
    var inside = false
    var blank = true
    /// Only comment on the line.
    var comment = false
    var indent = 0
    /// The last byte outside comments and strings.
    var last: UInt8?
    /// A C preprocessor line (`#include`, `#define`).
    var preprocessor = false
  }

  struct Lexer {
    let syntax: CodeSyntax?
    /// The open brackets, innermost last.
    private var stack: [UInt8] = []
    /// How many of them are `{`.
    private var braces = 0
    /// The delimiter closing an open block comment or multi-line string.
    private var open: (close: [UInt8], isComment: Bool)?

    init(syntax: CodeSyntax?) { self.syntax = syntax }

    /// Nesting as the rules see it: `{` blocks for `.braces` (a wrapper's
    /// parentheses, as in `(function () { … })()`, do not count), any open
    /// bracket for `.indentation` (a continued statement).
    private var depth: Int { syntax?.blocks == .braces ? braces : stack.count }

    mutating func scan(_ line: [UInt8]) -> Shape {
      var shape = Shape(bytes: line[...])
      shape.depth = depth
      shape.inParentheses = stack.last.map { $0 != UInt8(ascii: "{") } ?? false
      shape.inside = open != nil
      let indent = line.firstIndex { $0 != 0x20 && $0 != 0x09 } ?? line.count
      shape.indent = indent
      shape.blank = indent == line.count
      shape.bytes = line[indent...]
      guard let syntax, !shape.blank else {
        shape.endDepth = depth
        return shape
      }
      var sawCode = false
      var sawComment = open?.isComment == true
      var i = indent
      let n = line.count
      scanning: while i < n {
        if let (close, isComment) = open {
          guard let end = Self.find(close, in: line, from: i, escapes: !isComment) else { break scanning }
          open = nil
          i = end
          continue
        }
        if Self.matches(syntax.lineComments, line, i) != nil {
          sawComment = true
          break scanning
        }
        if let (o, c) = syntax.blockComment, Self.has(o, line, i) {
          open = (c, true)
          sawComment = true
          i += o.count
          continue
        }
        sawCode = true
        if let d = Self.matches(syntax.longStrings, line, i) {
          open = (d, false)
          i += d.count
          shape.last = line[i - 1]
          continue
        }
        let b = line[i]
        if syntax.quotes.contains(b) {
          shape.last = b
          if syntax.strictCharQuote && b == UInt8(ascii: "'") {
            let isChar = (i + 2 < n && line[i + 2] == b) || (i + 1 < n && line[i + 1] == UInt8(ascii: "\\"))
            if !isChar {
              i += 1
              continue
            }
          }
          i = Self.find([b], in: line, from: i + 1, escapes: true) ?? n
          continue
        }
        if syntax.blocks == .braces || syntax.bracketsContinue {
          switch b {
          case UInt8(ascii: "{"), UInt8(ascii: "("), UInt8(ascii: "["):
            stack.append(b)
            if b == UInt8(ascii: "{") { braces += 1 }
          case UInt8(ascii: "}"), UInt8(ascii: ")"), UInt8(ascii: "]"):
            if let top = stack.popLast(), top == UInt8(ascii: "{") { braces -= 1 }
          default: break
          }
        }
        if b != 0x20 && b != 0x09 && b != 0x0D { shape.last = b }
        i += 1
      }
      shape.comment = sawComment && !sawCode
      shape.preprocessor = !shape.inside && syntax.blocks == .braces && line[indent] == UInt8(ascii: "#")
      shape.endDepth = depth
      return shape
    }

    /// The index after the first `needle` in `line` at or after `from`
    /// (skipping backslash escapes when `escapes`), or nil.
    private static func find(_ needle: [UInt8], in line: [UInt8], from: Int, escapes: Bool) -> Int? {
      var i = from
      while i < line.count {
        if escapes && line[i] == UInt8(ascii: "\\") {
          i += 2
          continue
        }
        if has(needle, line, i) { return i + needle.count }
        i += 1
      }
      return nil
    }

    private static func has(_ needle: [UInt8], _ line: [UInt8], _ i: Int) -> Bool {
      guard i + needle.count <= line.count else { return false }
      for k in needle.indices where line[i + k] != needle[k] { return false }
      return true
    }

    private static func matches(_ candidates: [[UInt8]], _ line: [UInt8], _ i: Int) -> [UInt8]? {
      candidates.first { has($0, line, i) }
    }
  }
}
