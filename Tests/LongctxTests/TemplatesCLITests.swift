import Foundation
import Ingest
import Testing
import _LongctxTestSupport

/// `longctx templates` through the real CLI, on real logs with ground truth.
@Suite struct TemplatesCLITests {
  /// `--lines` has the shape of loghub's structured CSV, so anyone can score
  /// the parser: scored here against loghub's ground truth, it reaches the
  /// floors the miner's own test sets, through ingest and the workspace.
  @Test(.enabled(if: RepositoryPaths.sharedCorpus != nil, "the shared corpus (../shared/corpus) is absent"))
  func linesScoreAgainstLoghubGroundTruth() throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let root = RepositoryPaths.sharedCorpus!.appendingPathComponent("logs/loghub")
    let names = try FileManager.default.contentsOfDirectory(atPath: root.path).sorted().filter {
      FileManager.default.fileExists(atPath: root.appendingPathComponent("\($0)/\($0)_2k.log").path)
    }
    #expect(names.count == 7)
    let paths = names.map { root.appendingPathComponent("\($0)/\($0)_2k.log").path }
    let ws = tmp.url.appendingPathComponent("ws").path
    let ingest = try CLI.run(["ingest", "--workspace", ws] + paths, cwd: tmp.url)
    #expect(ingest.code == 0, "\(ingest.stderr)")
    var gas: [Double] = []
    for (name, path) in zip(names, paths) {
      let r = try CLI.run(["templates", "--workspace", ws, "--lines", path], cwd: tmp.url)
      #expect(r.code == 0, "\(r.stderr)")
      let rows = TemplateEvaluation.csvRows(r.stdout)
      #expect(rows.first == ["LineId", "EventId", "EventTemplate"])
      let body = Array(rows.dropFirst())
      #expect(body.count == 2000, "\(name)")
      guard let truth = try TemplateEvaluation.loadLoghub(root.appendingPathComponent(name)) else { continue }
      let predicted = body.map { $0.count > 1 && !$0[1].isEmpty ? $0[1] : "line \($0[0])" }
      let ga = TemplateEvaluation.groupingAccuracy(predicted: predicted, truth: truth.eventIDs)
      #expect(ga >= 0.95, "\(name) GA \(ga)")
      gas.append(ga)
    }
    #expect(gas.reduce(0, +) / Double(max(1, gas.count)) >= 0.98, "\(gas)")

    // The summary: every event counted once, by count, each with its first locator.
    let json = try CLI.run(["templates", "--workspace", ws, "--json", "--limit", "0"], cwd: tmp.url)
    #expect(json.code == 0, "\(json.stderr)")
    struct Out: Decodable {
      var files: [String]
      var templates: Int
      var events: Int
      var shown: [StoredLogTemplate]
    }
    let out = try JSONDecoder().decode(Out.self, from: Data(json.stdout.utf8))
    #expect(out.files.count == 7 && out.events == 14_000)
    #expect(out.shown.count == out.templates)
    #expect(out.shown.map(\.count) == out.shown.map(\.count).sorted(by: >))
    #expect(out.shown.allSatisfy { t in out.files.contains(t.firstLocator.path) && t.firstLocator.lineStart != nil })

    // One directory's logs only, by the directory.
    let one = try CLI.run(
      ["templates", "--workspace", ws, "--json", root.appendingPathComponent("Proxifier").path], cwd: tmp.url)
    let proxifier = try JSONDecoder().decode(Out.self, from: Data(one.stdout.utf8))
    #expect(proxifier.files.count == 1 && proxifier.events == 2000)
  }

  /// Nothing ingested, or --lines over several files: a plain sentence and a non-zero exit.
  @Test func clearErrors() throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let ws = tmp.url.appendingPathComponent("ws").path
    let empty = try CLI.run(["templates", "--workspace", ws], cwd: tmp.url)
    #expect(empty.code != 0)
    #expect(empty.stderr.contains("No log has been ingested"), "\(empty.stderr)")
    try tmp.write("logs/a.log", "2026-03-09T02:54:01Z INFO started worker 1\n")
    try tmp.write("logs/b.log", "2026-03-09T02:54:01Z INFO started worker 2\n")
    _ = try CLI.run(["ingest", "--workspace", ws, "logs"], cwd: tmp.url)
    let both = try CLI.run(["templates", "--workspace", ws, "--lines", "logs"], cwd: tmp.url)
    #expect(both.code != 0)
    #expect(both.stderr.contains("exactly one log file"), "\(both.stderr)")
    let missing = try CLI.run(["templates", "--workspace", ws, "nope.log"], cwd: tmp.url)
    #expect(missing.code != 0 && missing.stderr.contains("No such file or directory: nope.log"), "\(missing.stderr)")
    try tmp.write("notes.txt", "Nothing here is a log line.\n")
    let text = try CLI.run(["templates", "--workspace", ws, "notes.txt"], cwd: tmp.url)
    #expect(text.code != 0 && text.stderr.contains("No log among notes.txt"), "\(text.stderr)")
  }

  /// A log not ingested yet is ingested first (as `plan` does), then its templates shown; a second
  /// call does not ingest it again.
  @Test func ingestsALogFirst() throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let ws = tmp.url.appendingPathComponent("ws").path
    var log = ""
    for k in 0..<12 {
      log += "2026-03-09T02:54:\(10 + k)Z INFO worker \(k) finished job \(100 + k * 7) in \(k * 3 + 1) ms\n"
      if k % 3 == 0 { log += "2026-03-09T02:54:\(10 + k)Z WARN queue q\(k) is full\n" }
    }
    try tmp.write("logs/app.log", log)
    let first = try CLI.run(["templates", "--workspace", ws, "logs/app.log"], cwd: tmp.url)
    #expect(first.code == 0, "\(first.stderr)")
    #expect(first.stderr.contains("ingested 1 new and 0 changed file(s) first"), "\(first.stderr)")
    #expect(first.stdout.hasPrefix("2 templates over 16 events in 1 log file"), "\(first.stdout)")
    #expect(first.stdout.contains("12\t#"), "\(first.stdout)")
    #expect(first.stdout.contains("worker <*> finished job <*> in <*>"), "\(first.stdout)")
    let again = try CLI.run(["templates", "--workspace", ws, "--lines", "logs/app.log"], cwd: tmp.url)
    #expect(again.code == 0 && !again.stderr.contains("ingested"), "\(again.stderr)")
    #expect(TemplateEvaluation.csvRows(again.stdout).count == 17)
  }
}
