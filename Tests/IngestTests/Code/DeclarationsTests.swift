import Foundation
import Testing

@testable import Ingest

/// Declaration names on lines taken from real repositories (issue 15: an
/// attribute whose string holds a `(` crashed ingest of swift-nio, GRDB,
/// vapor and swift-argument-parser).
@Suite struct DeclarationsTests {
  func name(_ line: String, member: Bool = false) -> String? {
    Declarations.name(of: Array(line.utf8)[...], member: member)
  }

  @Test func anAttributeWhoseMessageHoldsParenthesesIsSkippedWhole() {
    // swift-package-manager's PackageDescription, verbatim.
    let line =
      #"@available(_PackageDescription, introduced: 5.2, deprecated: 5.6, message: "use package(url:from:) instead")"#
    #expect(name(line) == nil)
    #expect(name(line + " public static func package(url: String) -> Dependency") == "func package")
    #expect(name(#"@available(*, deprecated, message: "use f(x:)") func g(y: Int) {"#) == "func g")
  }

  @Test func unbalancedAndTruncatedLinesNeverTrap() {
    let lines = [
      "@available(", "@x(\"(\"", "func (", "func (r *Reader", "pub(crate", "@a(b) (", ")(", "x)(", "@)", "( )",
      "static int f(", "\"(\"", "@available(*, message: \"a\\\"(b\") x(", "a b(", "(", "@", "@a(",
    ]
    for line in lines {
      _ = name(line)
      _ = name(line, member: true)
      _ = Declarations.startsDeclaration(Array(line.utf8)[...])
    }
    // Every prefix of a real line, as a truncated file would give.
    let real =
      #"@available(*, deprecated, message: "use package(url:from:) instead") public static func package(url: String) {"#
    for end in real.utf8.indices {
      _ = name(String(real.utf8[..<end])!)
    }
  }

  @Test func closingParenSkipsStringsAndNesting() {
    let line = Array(#"(a, "b)", (c)) tail"#.utf8)[...]
    #expect(Declarations.closingParen(line, from: 0) == 13)
    #expect(Declarations.closingParen(Array("(never".utf8)[...], from: 0) == nil)
  }
}
