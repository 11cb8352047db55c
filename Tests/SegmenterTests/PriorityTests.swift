import Foundation
import Inference
import Ingest
import Logging
import Pipeline
import Storage
import Testing
import _LongctxTestSupport

@testable import Segmenter

@Suite struct PriorityTests {
  static let paragraph = """
    The supplier shall deliver the goods to the buyer's warehouse in Rotterdam no later than thirty days \
    after the purchase order is accepted. Risk passes to the buyer on delivery. The buyer shall inspect the \
    goods within ten business days and notify the supplier in writing of any defect, giving reasonable detail \
    of the defect and the affected lots, after which the supplier shall repair or replace the goods at its cost.
    """

  func ingest(_ tmp: TemporaryDirectory, _ ws: Workspace) async throws -> [IngestedFile] {
    try await Ingestor(workspace: ws, logger: Logger(label: "t")).ingest(
      inputs: ["docs"], options: IngestOptions(base: tmp.url)
    ).files
  }

  /// The planner measures chunks with Ingest's fingerprint, the one
  /// `report duplicates` uses: one word changed in a chunk of about 150
  /// words is a near duplicate (in one of 70 words, 7 bits: not).
  @Test func simHashIsCloseForAOneWordEditAndFarForOtherText() throws {
    let text =
      Self.paragraph + "\n"
      + Self.paragraph.replacingOccurrences(of: "supplier", with: "seller")
      .replacingOccurrences(of: "buyer", with: "purchaser")
    let a = SimHash.fingerprint(text)
    let edited = SimHash.fingerprint(text.replacingCharacters(in: text.range(of: "thirty")!, with: "forty"))
    let other = SimHash.fingerprint(
      (1...60).map { "Unrelated sentence number \($0) talks about cache eviction and disk quotas." }.joined(
        separator: " "))
    #expect(SimHash.distance(a.hash, edited.hash) <= SimHash.maxDistance)
    #expect(SimHash.distance(a.hash, other.hash) > 12)
    #expect(SimHash.fingerprint("too few words here").words < SimHash.minWords)
  }

  @Test func duplicateFinderPointsLaterCopiesAtTheFirst() {
    let texts: [(String, Bool)] = [
      (Self.paragraph, true),
      (
        "Something else entirely, long enough to be considered: " + String(repeating: "alpha beta gamma ", count: 12),
        true
      ),
      (Self.paragraph, true),
      (Self.paragraph.replacingOccurrences(of: "Rotterdam", with: "Antwerp"), true),
      (Self.paragraph.replacingOccurrences(of: "Rotterdam", with: "Antwerp"), false),
      (Self.paragraph.replacingOccurrences(of: "Rotterdam", with: "Hamburg"), false),
    ]
    let m = DuplicateFinder().matches(texts)
    #expect(m[0] == nil)
    #expect(m[1] == nil)
    #expect(m[2] == .init(representative: 0, distance: 0))
    #expect(m[3]?.representative == 0)
    #expect((m[3]?.distance ?? 0) > 0)
    #expect(
      m[4] == m[3],
      "exact copies are found even where near ones are not wanted, and follow their text onto its representative")
    #expect(m[5] == nil, "near copies are only matched where allowed")
  }

  @Test func plannerCollapsesDuplicatesOntoTheirRepresentative() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try tmp.write("docs/a.txt", Self.paragraph + "\n")
    try tmp.write("docs/b.txt", Self.paragraph + "\n")
    try tmp.write("docs/c.txt", Self.paragraph.replacingOccurrences(of: "Rotterdam", with: "Antwerp") + "\n")
    try tmp.write("docs/d.txt", "An unrelated memo about the parking garage and the lunch menu for next week.\n")
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    let files = try await ingest(tmp, ws)
    let planner = CorpusPlanner(workspace: ws, counter: EstimatedTokenCounter())
    let plan = try planner.plan(files: files, budget: 10_000)
    #expect(plan.duplicateChunks == 2)
    let left = Dictionary(uniqueKeysWithValues: plan.leftOut.map { ($0.locator.description, $0.reason) })
    #expect(left["docs/b.txt#L1"]?.hasPrefix("an exact duplicate of docs/a.txt#L1") == true)
    #expect(left["docs/c.txt#L1"]?.hasPrefix("a near duplicate (SimHash distance") == true)
    let representative = try #require(plan.windows.flatMap(\.chunks).first { $0.locator.path == "docs/a.txt" })
    #expect(
      representative.text.hasSuffix(
        "\n(The same or nearly the same text also appears at: docs/b.txt#L1, docs/c.txt#L1.)"))
    #expect(plan.windows.flatMap(\.locators).map(\.path) == ["docs/a.txt", "docs/d.txt"])

    let all = try planner.plan(files: files, budget: 10_000, options: PlanOptions(collapseDuplicates: false))
    #expect(all.leftOut.isEmpty)
    #expect(all.windows.flatMap(\.locators).count == plan.windows.flatMap(\.locators).count + 2)
  }

  @Test func logEventsAreGroupedByTimeWindowAndNewerOnesScoreHigher() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    // Three hours, 50 events an hour; ingest groups events 40 lines at a time,
    // so its groups straddle the hours.
    var lines: [String] = []
    for hour in 0..<3 {
      for minute in 0..<50 {
        lines.append(
          "2026-03-09T0\(hour):\(String(format: "%02d", minute)):00Z INFO request \(hour * 50 + minute) served in \(minute) ms"
        )
      }
    }
    try tmp.write("docs/app.log", lines.joined(separator: "\n") + "\n")
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    let files = try await ingest(tmp, ws)
    let planner = CorpusPlanner(workspace: ws, counter: EstimatedTokenCounter())
    let options = PlanOptions(collapseRepeats: false, logWindow: 3600)
    let plan = try planner.plan(files: files, budget: 100_000, options: options)
    let chunks = plan.windows.flatMap(\.chunks)
    let perEvent = try planner.plan(
      files: files, budget: 100_000, options: PlanOptions(collapseRepeats: false, logWindow: nil))
    #expect(chunks.count < perEvent.windows.flatMap(\.chunks).count)
    // One chunk per hour of first events, contiguous, covering the file.
    let hours = try chunks.map { Int(try #require($0.firstTimestamp) / 3600) % 24 }
    #expect(hours == [0, 1, 2])
    #expect(chunks.first?.locator.lineStart == 1)
    #expect(chunks.last?.locator.lineEnd == 150)
    for (x, y) in zip(chunks, chunks.dropFirst()) { #expect(y.locator.lineStart == x.locator.lineEnd! + 1) }
    #expect(plan.windows[0].timeRange.map { Scorer.isoTime($0.lowerBound) } == "2026-03-09T00:00:00Z")
    #expect(plan.windows[0].timeRange.map { Scorer.isoTime($0.upperBound) } == "2026-03-09T02:49:00Z")
    let scores = chunks.map { $0.score ?? 0 }
    #expect(scores[0] < scores[1] && scores[1] < scores[2], "newer events rank higher: \(scores)")
    #expect(chunks[2].reasons?.contains { $0.hasPrefix("recency 1.00") } == true)
  }

  @Test func centralityRanksReadmeEntryPointsAndReferencedFiles() {
    let files: [(path: String, text: String)] = [
      ("repo/README.md", "# Tool\nRun it with `tool run`."),
      ("repo/Sources/tool/main.swift", "let engine = Engine()\nengine.start()"),
      ("repo/Sources/Core/Engine.swift", "final class Engine { let store = Store() }"),
      ("repo/Sources/Core/Store.swift", "final class Store {}"),
      ("repo/Sources/Core/Scheduler.swift", "struct Scheduler { var engine: Engine; var store: Store }"),
      ("repo/Sources/Core/Orphan.swift", "struct Orphan {}"),
    ]
    let s = Centrality.scores(files)
    #expect(s["repo/README.md"]?.reasons == ["README"])
    #expect(s["repo/Sources/tool/main.swift"]?.reasons == ["entry point"])
    #expect(s["repo/Sources/Core/Engine.swift"]?.reasons == ["referenced by 2 files"])
    #expect(s["repo/Sources/Core/Store.swift"]?.reasons == ["referenced by 2 files"])
    #expect(s["repo/Sources/Core/Orphan.swift"] == nil)
    #expect(s["repo/Sources/Core/Scheduler.swift"] == nil)
    let readme = s["repo/README.md"]!.value
    let entry = s["repo/Sources/tool/main.swift"]!.value
    #expect(readme > entry && entry > s["repo/Sources/Core/Engine.swift"]!.value)
  }
}
