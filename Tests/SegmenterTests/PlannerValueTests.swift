import Foundation
import Inference
import Ingest
import Segmenter
import Testing

/// The planner takes documents as values: no workspace, no ingest.
@Suite struct PlannerValueTests {
  static func document(_ path: String, lines: Int, kind: DocumentKind = .text) -> PlanDocument {
    let sections = stride(from: 1, through: lines, by: 10).map { start in
      let end = min(lines, start + 9)
      return Section(
        locator: Locator(path: path, lineStart: start, lineEnd: end),
        text: (start...end).map { "line \($0) of \(path): \(words(seed: $0 &* 31 &+ path.utf8.count))" }.joined(
          separator: "\n"))
    }
    return PlanDocument(documentHash: "hash-\(path)", displayPath: path, kind: kind, sections: sections)
  }

  /// Eight distinct pseudo-words, so that no two sections are near duplicates.
  static func words(seed: Int) -> String {
    var state = UInt64(truncatingIfNeeded: seed) &* 0x9E37_79B9_7F4A_7C15 | 1
    return (0..<8).map { _ in
      state ^= state << 13
      state ^= state >> 7
      state ^= state << 17
      let letters = Array("abcdefghijklmnopqrstuvwxyz")
      return String((0..<(4 + Int(state % 5))).map { i in letters[Int((state >> (i * 5)) % 26)] })
    }.joined(separator: " ")
  }

  @Test func plansValuesDeterministicallyWithinBudget() throws {
    let documents = [Self.document("a.txt", lines: 120), Self.document("b.txt", lines: 45)]
    let planner = Planner(counter: EstimatedTokenCounter())
    let first = try planner.plan(documents, budget: 600, options: Self.noCollapse)
    let second = try planner.plan(documents, budget: 600, options: Self.noCollapse)
    #expect(first.id == second.id)
    #expect(first.windows.count > 1)
    #expect(first.windows.allSatisfy { $0.tokens <= 600 })
    // Every line of both documents is in some window, in source order.
    let text = first.windows.map(\.text).joined(separator: "\n")
    for path in ["a.txt", "b.txt"] {
      #expect(text.contains("line 1 of \(path):"))
    }
    #expect(text.contains("line 120 of a.txt:") && text.contains("line 45 of b.txt:"))
    let a = try #require(text.range(of: "line 120 of a.txt:"))
    let b = try #require(text.range(of: "line 1 of b.txt:"))
    #expect(a.lowerBound < b.lowerBound)
  }

  static var noCollapse: PlanOptions {
    var options = PlanOptions()
    options.collapseDuplicates = false
    return options
  }

  @Test func perDocumentWindowsNeverMixDocuments() throws {
    let documents = [Self.document("a.txt", lines: 12), Self.document("b.txt", lines: 12)]
    var options = Self.noCollapse
    options.windowPerDocument = true
    let plan = try Planner(counter: EstimatedTokenCounter()).plan(documents, budget: 4000, options: options)
    #expect(plan.windows.count == 2)
    #expect(plan.windows.allSatisfy { Set($0.locators.map(\.path)).count == 1 })
  }
}
