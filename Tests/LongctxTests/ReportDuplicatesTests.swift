import Foundation
import Testing
import _LongctxTestSupport

/// `longctx report duplicates` through the real CLI.
@Suite struct ReportDuplicatesTests {
  /// About 400 words of deterministic pseudo-text.
  static func text(seed: Int) -> String {
    let words = [
      "notice", "party", "shall", "deliver", "invoice", "within", "days", "term", "clause", "payment",
      "warranty", "supplier", "order", "refund", "court", "breach",
    ]
    var state = UInt64(seed) &* 0x9E37_79B9_7F4A_7C15 | 1
    return (0..<400).map { _ in
      state ^= state << 13
      state ^= state >> 7
      state ^= state << 17
      return words[Int(state % UInt64(words.count))]
    }.joined(separator: " ")
  }

  @Test func listsExactAndNearDuplicates() throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let base = Self.text(seed: 3)
    try tmp.write("docs/a.txt", base)
    try tmp.write("docs/a-copy.txt", base)
    try tmp.write(
      "docs/a-edited.txt",
      base.replacingOccurrences(of: "refund", with: "credit", options: [], range: base.range(of: "refund")))
    try tmp.write("docs/other.txt", Self.text(seed: 4))
    let ws = tmp.url.appendingPathComponent("ws").path
    #expect(try CLI.run(["ingest", "docs", "--workspace", ws], cwd: tmp.url).code == 0)

    let json = try CLI.run(["report", "duplicates", "--json", "--workspace", ws], cwd: tmp.url)
    #expect(json.code == 0)
    struct Report: Decodable {
      struct Exact: Decodable { var paths: [String] }
      struct Near: Decodable { var documents: [Member] }
      struct Member: Decodable {
        var paths: [String]
        var distance: Int
      }
      var exact: [Exact]
      var near: [Near]
    }
    let report = try JSONDecoder().decode(Report.self, from: Data(json.stdout.utf8))
    #expect(report.exact.map(\.paths) == [["docs/a-copy.txt", "docs/a.txt"]])
    #expect(report.near.count == 1)
    #expect(
      Set(report.near.first?.documents.flatMap(\.paths) ?? []) == [
        "docs/a.txt", "docs/a-copy.txt", "docs/a-edited.txt",
      ])

    let plain = try CLI.run(["report", "duplicates", "--workspace", ws], cwd: tmp.url)
    #expect(plain.stdout.contains("exact duplicates (2 files, stored once):\n  docs/a-copy.txt\n  docs/a.txt"))
    #expect(plain.stdout.contains("near duplicates (2 documents):"))
  }
}
