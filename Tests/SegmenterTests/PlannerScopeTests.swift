import Foundation
import Inference
import Ingest
import Logging
import Pipeline
import Segmenter
import Storage
import Testing
import _LongctxTestSupport

/// Planning options that narrow or separate what windows hold: `startLines`
/// (incremental runs) and `windowPerDocument` (per-document map tasks).
@Suite struct PlannerScopeTests {
  func ingest(_ tmp: TemporaryDirectory, _ ws: Workspace) async throws -> [IngestedFile] {
    try await Ingestor(workspace: ws, logger: Logger(label: "t")).ingest(
      inputs: ["docs"], options: IngestOptions(base: tmp.url)
    ).files
  }

  static func log(_ name: String, _ lines: ClosedRange<Int>) -> String {
    lines.map { "2026-01-01T00:00:\(String(format: "%02d", $0 % 60))Z INFO line \($0) of \(name)" }.joined(
      separator: "\n") + "\n"
  }

  @Test(arguments: [1, 2, 17, 40, 41, 55, 60])
  func startLinesPlanOnlyTheLinesFromThere(first: Int) async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try tmp.write("docs/a.log", Self.log("a", 1...60))
    try tmp.write("docs/b.log", Self.log("b", 1...10))
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    let files = try await ingest(tmp, ws)
    var options = PlanOptions(collapseRepeats: false)
    options.startLines = ["docs/a.log": first]
    let plan = try CorpusPlanner(workspace: ws, counter: EstimatedTokenCounter()).plan(
      files: files, budget: 100_000, options: options)
    let a = plan.windows.flatMap(\.locators).filter { $0.path == "docs/a.log" }
    #expect(a.first?.lineStart == first)
    #expect(a.last?.lineEnd == 60)
    let text = plan.windows.map(\.text).joined(separator: "\n")
    #expect(text.contains("line \(first) of a"))
    if first > 1 { #expect(!text.contains("line \(first - 1) of a\n")) }
    // Files not named are planned whole.
    #expect(plan.windows.flatMap(\.locators).filter { $0.path == "docs/b.log" }.first?.lineStart == 1)
  }

  @Test func perDocumentWindowsNeverMixDocumentsAndSplitLargeOnes() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try tmp.write("docs/big.log", Self.log("big", 1...120))
    for f in ["s1", "s2", "s3"] { try tmp.write("docs/\(f).log", Self.log(f, 1...3)) }
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    let files = try await ingest(tmp, ws)
    let planner = CorpusPlanner(workspace: ws, counter: EstimatedTokenCounter())
    let mixed = try planner.plan(files: files, budget: 600, options: PlanOptions(collapseRepeats: false))
    let separate = try planner.plan(
      files: files, budget: 600, options: PlanOptions(collapseRepeats: false, windowPerDocument: true))
    #expect(
      mixed.windows.contains { Set($0.locators.map(\.path)).count > 1 }, "the small files share a window by default")
    for w in separate.windows { #expect(Set(w.locators.map(\.path)).count == 1) }
    #expect(separate.windows.filter { $0.locators[0].path == "docs/big.log" }.count > 1)
    for f in ["s1", "s2", "s3"] {
      #expect(separate.windows.filter { $0.locators[0].path == "docs/\(f).log" }.count == 1)
    }
    #expect(separate.id != mixed.id)
  }
}
