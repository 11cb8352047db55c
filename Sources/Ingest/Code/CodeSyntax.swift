/// What the code chunker needs to know about a language: how its blocks
/// nest, and which bytes open comments and strings (inside those, braces
/// and keywords do not count).
struct CodeSyntax: Sendable {
  /// How a language marks its blocks.
  enum Blocks: Sendable {
    /// `{ … }` (C, Swift, Rust, Go, Java, JavaScript, …): nesting is the bracket depth.
    case braces
    /// Indentation or keywords (Python, Ruby, shell, YAML, …): a top-level
    /// line is one that is not indented.
    case indentation
  }

  var blocks: Blocks
  var lineComments: [[UInt8]] = []
  var blockComment: (open: [UInt8], close: [UInt8])?
  /// Quote bytes of strings that end on their line.
  var quotes: [UInt8] = [UInt8(ascii: "\""), UInt8(ascii: "'")]
  /// Delimiters of strings that may span lines (`"""`, `` ` ``), longest first.
  var longStrings: [[UInt8]] = []
  /// `'` starts a character literal only as `'x'` or `'\…'` (Rust lifetimes are `'a`).
  var strictCharQuote = false
  /// Brackets continue a statement onto the next lines (Python); only for `.indentation`.
  var bracketsContinue = false

  private static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

  private static let cFamily = CodeSyntax(
    blocks: .braces, lineComments: [bytes("//")], blockComment: (bytes("/*"), bytes("*/")))

  /// The syntax for a language named by `Languages.name(forPath:)`.
  ///
  /// - Returns: `nil` when nothing is known (the chunker then breaks at blank lines only).
  static func forLanguage(_ language: String?) -> CodeSyntax? {
    guard let language else { return nil }
    var s = cFamily
    switch language {
    case "C", "C++", "Objective-C", "Java", "C#", "CSS", "Protocol Buffers", "Gradle":
      if language == "CSS" { s.lineComments = [] }
    case "Swift":
      s.quotes = [UInt8(ascii: "\"")]
      s.longStrings = [bytes("\"\"\"")]
    case "Kotlin", "Scala":
      s.longStrings = [bytes("\"\"\"")]
    case "Dart":
      s.longStrings = [bytes("\"\"\""), bytes("'''")]
    case "JavaScript", "TypeScript", "Go":
      s.longStrings = [bytes("`")]
    case "Rust":
      // Rust's strings may span lines.
      s.quotes = [UInt8(ascii: "'")]
      s.longStrings = [bytes("\"")]
      s.strictCharQuote = true
    case "PHP":
      s.lineComments = [bytes("//"), bytes("#")]
    case "JSON":
      s.lineComments = []
      s.blockComment = nil
      s.quotes = [UInt8(ascii: "\"")]
    case "Python":
      s = CodeSyntax(
        blocks: .indentation, lineComments: [bytes("#")], longStrings: [bytes("\"\"\""), bytes("'''")],
        bracketsContinue: true)
    case "Ruby", "Shell", "Perl", "R", "Julia", "Elixir", "YAML", "TOML", "Make", "Dockerfile", "CMake":
      s = CodeSyntax(blocks: .indentation, lineComments: [bytes("#")])
    case "Lua", "SQL", "Haskell":
      s = CodeSyntax(blocks: .indentation, lineComments: [bytes("--")])
    case "Erlang":
      s = CodeSyntax(blocks: .indentation, lineComments: [bytes("%")])
    case "Clojure":
      s = CodeSyntax(blocks: .indentation, lineComments: [bytes(";")])
    case "OCaml":
      s = CodeSyntax(blocks: .indentation, blockComment: (bytes("(*"), bytes("*)")))
    default:
      return nil
    }
    return s
  }
}
