import Foundation
import Testing
import _LongctxTestSupport

@testable import Ingest

/// Code is cut between declarations: whole small files, large files between
/// top-level declarations (with their doc comments and attributes), a
/// declaration too large for one section between its members.
@Suite struct CodeChunkingTests {
  /// The sections (1-based first and last line, symbols) of `source` saved as `name`.
  func sections(_ name: String, _ source: String, maxBytes: Int = 6000) throws -> [(ClosedRange<Int>, [String])] {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try tmp.write(name, source)
    var extractor = LineDocumentExtractor(kind: .code)
    extractor.maxBytes = maxBytes
    let doc = try extractor.extract(path: tmp.url.appendingPathComponent(name).path, displayPath: name)
    #expect(doc.metadata["language"] != nil)
    return doc.sections.map { ($0.locator.lineStart!...$0.locator.lineEnd!, $0.symbols ?? []) }
  }

  func structure(_ source: String, _ language: String) -> CodeStructure {
    let lines = source.split(separator: "\n", omittingEmptySubsequences: false)
    return CodeStructure(lines: lines, language: language)
  }

  /// The 0-based lines where a declaration starts.
  func declarations(_ s: CodeStructure) -> [Int] {
    s.boundaries.indices.filter { s.boundaries[$0] == .declaration }
  }

  @Test func aSmallFileIsOneSection() throws {
    let source = try String(
      contentsOf: RepositoryPaths.samples.appendingPathComponent("repo/src/manifests/writer.py"), encoding: .utf8)
    let parts = try sections("writer.py", source)
    #expect(parts.count == 1)
    #expect(parts[0].1.contains { $0.hasPrefix("def ") || $0.hasPrefix("class ") })
  }

  @Test func swiftDocCommentsAndAttributesStayWithTheirDeclaration() {
    let source = """
      import Foundation

      /// A thing.
      @MainActor
      public struct Thing {
        let a = 1

        /// Does it.
        func run() {
          if a == 1 {

      #if DEBUG
            print("x")
      #endif
          }
        }
      }
      extension Thing: Equatable {}
      private func helper() -> Int { 1 }
      let message = \"""
      func notADeclaration() {
      \"""
      """
    let s = structure(source, "Swift")
    #expect(declarations(s) == [2, 17, 18, 19])
    #expect(s.names[2]?.name == "struct Thing")
    #expect(s.names[7]?.name == "func run")
    #expect(s.boundaries[7] == .member)
    #expect(s.names[17]?.name == "extension Thing: Equatable")
    #expect(s.names[18]?.name == "func helper")
    #expect(s.names[19]?.name == "let message")
    // The `#if` after a blank line inside the function body is no declaration.
    #expect(s.boundaries[11] == .paragraph)
  }

  @Test func cFunctionsWithMultiLineSignaturesAndPreprocessorLines() {
    let source = """
      #include <stdio.h>
      #define MAX(a, b) ((a) > (b) ? (a) : (b))

      /* Adds.
       * Really. */
      static int
      add(int a,

          int b)
      {
          return a + b;
      }
      int Widget::size() const { return n; }
      typedef struct { int x; } point;
      """
    let s = structure(source, "C++")
    #expect(declarations(s) == [3, 12, 13])
    #expect(s.names[12]?.name == "Widget::size()")
    // The blank line inside the parameter list starts nothing.
    #expect(s.boundaries[8] == nil)
  }

  @Test func pythonDecoratorsAndColumnZeroTextInStrings() {
    let source = """
      import os
      import sys

      HELP = '''
      def not_a_function():
          pass
      '''

      @decorator(
          arg=1)
      def real(x):
          return x
      class Holder:
          value = (
      1)

          @property
          def v(self):
              return self.value

      if __name__ == "__main__":
          real(1)
      """
    let s = structure(source, "Python")
    #expect(declarations(s) == [3, 8, 12, 20])
    #expect(s.names[8]?.name == "def real")
    #expect(s.names[12]?.name == "class Holder")
    #expect(s.boundaries[16] == .member)
    #expect(s.names[16]?.name == "def v")
  }

  @Test func rustLifetimesCharsAndJavaScriptWrappers() {
    let rust = """
      impl<'a> Parser<'a> {
          fn open(&self) -> char { '{' }
      }
      pub(crate) fn next<'b>(x: &'b str) -> &'b str { x }
      #[derive(Debug)]
      enum Kind { A }
      """
    let r = structure(rust, "Rust")
    #expect(declarations(r) == [3, 4])
    #expect(r.names[0]?.name == "impl<'a> Parser<'a>")
    #expect(r.names[3]?.name == "fn next")
    #expect(r.names[4]?.name == "enum Kind")

    let js = """
      var lib = (function () {
        const t = `a { ${1} `;
        function one() { return 1; }

        function two() {
          return `
      }`;
        }
        return { one, two };
      })();
      module.exports = lib;
      """
    let j = structure(js, "JavaScript")
    #expect(j.boundaries[2] == .member && j.names[2]?.name == "function one")
    #expect(j.boundaries[4] == .member && j.names[4]?.name == "function two")
    #expect(declarations(j) == [10])
    #expect(j.names[10] == nil)
  }

  /// Many declarations of varied sizes, in four languages: no section cuts
  /// one, every section but the last is at least a quarter full, and every
  /// line is in exactly one section.
  @Test(arguments: ["go", "py", "ts", "rs"])
  func sectionsNeverCutADeclarationThatFits(ext: String) throws {
    var generator = SplitMix64(state: 7)
    var lines: [String] = []
    var starts: [Int] = []
    var ends: [Int] = []
    for k in 0..<60 {
      if !lines.isEmpty { lines.append("") }
      starts.append(lines.count + 1)
      let body = Int(generator.next() % 40) + 1
      // Each body holds a string with a blank line and an unindented line
      // that looks like a declaration: a blank-line heuristic cuts there.
      switch ext {
      case "go":
        lines +=
          ["// f\(k) does \(k).", "func f\(k)(x int) int {"] + (0..<body).map { "\tx += \($0) // {" }
          + ["\ts := `", "", "func fake() {", "`", "\treturn x", "}"]
      case "py":
        lines +=
          ["@cache", "def f\(k)(x):"] + (0..<body).map { "    x += \($0)  # {" }
          + ["    s = '''", "", "def fake():", "'''", "", "    return x"]
      case "ts":
        lines +=
          ["/** f\(k) */", "export function f\(k)(x: number): number {"]
          + (0..<body).map { "  x += '}'.length + \($0);" }
          + ["  const s = `", "", "function fake() {", "`;", "  return x;", "}"]
      default:
        lines +=
          ["/// f\(k)", "pub fn f\(k)<'a>(x: &'a i64) -> i64 {"] + (0..<body).map { "    let y\($0) = '}';" }
          + ["    let s = \"", "", "fn fake() {", "\";", "    *x", "}"]
      }
      ends.append(lines.count)
    }
    let parts = try sections("gen.\(ext)", lines.joined(separator: "\n") + "\n", maxBytes: 2000)
    #expect(parts.count > 5)
    #expect(parts.map(\.0.lowerBound) == [1] + parts.dropLast().map { $0.0.upperBound + 1 })
    #expect(parts.last?.0.upperBound == lines.count)
    let startSet = Set(starts)
    for (i, part) in parts.enumerated() {
      // A section starts where a declaration (with its comment) starts, or
      // on the blank line after one (blank lines belong to the section above).
      #expect(startSet.contains(part.0.lowerBound) || i == 0, "section \(part.0) starts inside a declaration")
      #expect(
        part.1.first?.hasPrefix("fn f") == true || part.1.first?.hasPrefix("func f") == true
          || part.1.first?.hasPrefix("def f") == true || part.1.first?.hasPrefix("function f") == true)
    }
  }

  @Test func aDeclarationTooLargeForOneSectionIsCutBetweenItsMembers() throws {
    var lines = ["import Foundation", "", "final class Big {"]
    var memberStarts: Set<Int> = []
    for k in 0..<40 {
      lines.append("")
      memberStarts.insert(lines.count + 1)
      lines +=
        ["  /// m\(k)", "  func m\(k)() -> Int {"] + (0..<6).map { "    let v\($0) = \($0 * k)" } + [
          "", "    return \(k)", "  }",
        ]
    }
    lines.append("}")
    let parts = try sections("Big.swift", lines.joined(separator: "\n") + "\n", maxBytes: 1500)
    #expect(parts.count > 3)
    for part in parts.dropFirst() {
      #expect(memberStarts.contains(part.0.lowerBound), "section \(part.0) starts inside a method")
      #expect(part.1.first == "class Big (continued)")
    }
    #expect(parts[0].1.first == "class Big")
  }
}

/// A reproducible random number generator for tests.
struct SplitMix64: RandomNumberGenerator {
  var state: UInt64
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}
