import Foundation
import Inference
import Ingest
import Logging
import Segmenter
import Storage
import Testing
import _LongctxTestSupport

@testable import Pipeline

/// The incremental report's computed "what changed in the logs" section, on
/// a real OpenStack log (loghub) that grows between two runs.
@Suite struct TemplateChangesTests {
  static func job(_ dir: URL) throws -> JobSpec {
    let yaml = """
      name: nightly
      inputs: [logs]
      incremental: true
      model: {engine: llama, context: 4000}
      generation: {max_tokens: 16}
      map: {prompt: "{{templates}}\\n{{window}}\\nSummary:"}
      reduce: {prompt: "{{outputs}}\\nCombined:"}
      report: {path: out/nightly.md}
      """
    return try JobFile.parse(yaml, path: "nightly.yaml", baseDirectory: dir.path)
  }

  func run(_ ws: Workspace, _ spec: JobSpec, _ engine: FakeEngine) async throws -> RunSummary {
    let r = JobRunner(
      workspace: ws, spec: spec, counter: EstimatedTokenCounter(), modelKey: "fake", logger: Logger(label: "test"),
      settings: RunSettings(retryBaseDelay: 0.001), engineFactory: { engine })
    return try await r.run()
  }

  /// A line in OpenStack's own header layout, with `message`.
  static func line(_ message: String, level: String = "ERROR", second: Int) -> String {
    "nova-compute.log.1.2017-05-16_13:55:31 2017-05-16 00:20:\(String(format: "%02d", second % 60)).000 2931 \(level) nova.compute.manager [req-3ea4052c-895d-4b64-9e2d-04d64c4d94ab - - - - -] \(message)"
  }

  @Test(.enabled(if: RepositoryPaths.sharedCorpus != nil, "the shared corpus (../shared/corpus) is absent"))
  func newRisingAndFallingTemplatesAreReportedWithCitations() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let real = try String(
      contentsOf: RepositoryPaths.sharedCorpus!.appendingPathComponent("logs/loghub/OpenStack/OpenStack_2k.log"),
      encoding: .utf8
    ).split(whereSeparator: \.isNewline).map(String.init)
    // Period 1: 1,000 real lines and two of a rare message.
    let rare = "Cache warm-up finished in slot alpha"
    let first = real[0..<1000] + [Self.line(rare, level: "INFO", second: 1), Self.line(rare, level: "INFO", second: 2)]
    try tmp.write("logs/nova.log", first.joined(separator: "\n") + "\n")
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    let spec = try Self.job(tmp.url)
    let one = try await run(ws, spec, FakeEngine())
    let report1 = try String(contentsOfFile: try #require(one.period?.latestReport), encoding: .utf8)
    #expect(report1.contains("## What changed in the logs (computed, no model)"))
    #expect(report1.contains("1002 events of"), "\(report1.prefix(600))")
    #expect(report1.contains("The first period"))

    // Period 2: ten real lines, a burst of the rare message, and a message never seen before.
    let burst = (0..<30).map { Self.line(rare, level: "INFO", second: $0) }
    let novel = (0..<40).map { Self.line("Disk quota exceeded on the shared volume", second: $0) }
    let second = Array(real[1000..<1010]) + burst + novel
    let handle = try FileHandle(forWritingTo: tmp.url.appendingPathComponent("logs/nova.log"))
    try handle.seekToEnd()
    try handle.write(contentsOf: Data((second.joined(separator: "\n") + "\n").utf8))
    try handle.close()
    let engine = FakeEngine()
    let two = try await run(ws, spec, engine)
    #expect(two.period?.newSources == ["logs/nova.log#L1003-L1082"])
    let report2 = try String(contentsOfFile: try #require(two.period?.latestReport), encoding: .utf8)
    let section = try #require(
      report2.components(separatedBy: "## What changed in the logs (computed, no model)").dropFirst().first)
    let byTitle = section.components(separatedBy: "### ")
    let new = try #require(byTitle.first { $0.hasPrefix("Templates never seen before this period") })
    #expect(new.contains("| 40 | 0.0 | `Disk quota exceeded on the shared volume` | [logs/nova.log#L1043] |"), "\(new)")
    let rose = try #require(byTitle.first { $0.hasPrefix("Rose tenfold") }, "\(section)")
    #expect(rose.contains("| 30 | 2.0 | `\(rare)` | [logs/nova.log#L1013] |"), "\(rose)")
    #expect(!new.contains(rare), "a rise is not a new template")
    let fell = try #require(byTitle.first { $0.hasPrefix("Fell tenfold") }, "\(section)")
    // The real log's dominant request line: hundreds in period 1, a handful now.
    let top = try #require(firstRow(fell))
    #expect(top.before >= 100 && Double(top.now) * 10 <= top.before, "\(fell)")
    #expect(section.contains("By severity: ERROR 40 (first [logs/nova.log#L1043]), INFO"), "\(section.prefix(400))")
    // The map prompt was given the same section.
    #expect(engine.prompts.contains { $0.contains("Templates never seen before this period") })
    // Counts per run are kept for the next period's averages.
    let history = try RunStore(workspace: ws).templateHistory(job: "nightly", limit: 7)
    #expect(history.count == 2)
    #expect(history[0].values.reduce(0, +) == 80 && history[1].values.reduce(0, +) == 1002)
  }
}

/// The first row of a "Fell tenfold" table: (events now, mean before).
private func firstRow(_ table: String) -> (now: Int, before: Double)? {
  for row in table.split(separator: "\n") where row.hasPrefix("| ") && !row.hasPrefix("| events") {
    let cells = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
    if cells.count >= 2, let now = Int(cells[0]), let before = Double(cells[1]) { return (now, before) }
  }
  return nil
}
