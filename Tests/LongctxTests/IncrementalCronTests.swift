import Foundation
import Ingest
import Pipeline
import Testing
import _LongctxTestSupport

/// The cron case with the real CLI and the real model (Gemma 3 270M, temperature
/// 0, few tokens) on a copy of Samples/logs/app.log (the older rotated files are
/// left out to keep the test short): a first run, then lines appended and the
/// log rotated and compressed, then a run with nothing new. Asserts mechanics only: which
/// tasks ran, which lines the period covers, and what the rolling summary reused.
@Suite(.serialized) struct IncrementalCronTests {
  struct RunJSON: Decodable {
    struct Period: Decodable {
      var run: Int
      var previousRun: Int?
      var newLines: Int
      var newSources: [String]
      var periodReport: String?
      var latestReport: String?
      var rollingReport: String?
      var rollingTask: String?
      var rollingInputs: [String]
    }
    var tasks: Int
    var executed: Int
    var windows: Int
    var failed: Int
    var engineLoaded: Bool
    var period: Period
  }

  struct StatusJSON: Decodable {
    struct Task: Decodable {
      var id: String
      var kind: String
      var state: String
      var locators: [String]
    }
    struct Run: Decodable {
      var id: Int
      var status: String
      var executed: Int
      var windows: Int
      var periodTask: String?
      var rollingTask: String?
      var rollingInputs: [String]
      var newSources: [String]
    }
    var total: Int
    var tasks: [Task]
    var runs: [Run]
  }

  static let job = """
    name: cron-logs
    inputs: [../logs]
    incremental: true
    model:
      engine: llama
      context: 640
    generation:
      max_tokens: 12
      temperature: 0
    map:
      prompt: |
        {{window}}

        Incidents:
    reduce:
      prompt: |
        {{outputs}}

        Incidents overall:
    report:
      path: ../reports/cron.md
    """

  @Test func nightlyRunsMapOnlyNewLinesAndFoldTheRollingSummary() throws {
    _ = try SetupPaths.model()
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let samples = try SampleCopy.make(in: tmp)
    let jobs = samples.appendingPathComponent("jobs")
    let logs = samples.appendingPathComponent("logs")
    try Self.job.write(to: jobs.appendingPathComponent("cron.yaml"), atomically: true, encoding: .utf8)
    let ws = tmp.url.appendingPathComponent("ws").path
    for old in ["app.log.1", "app.log.2.gz"] {
      try FileManager.default.removeItem(at: logs.appendingPathComponent(old))
    }
    let lines = try EndToEndTests.lineCount(logs.appendingPathComponent("app.log"))

    // Night 1: everything is new.
    let first = try Self.run(ws: ws, cwd: jobs)
    #expect(first.failed == 0)
    #expect(first.period.previousRun == nil)
    #expect(first.period.newSources == ["../logs/app.log#L1-L\(lines)"])
    #expect(first.executed == first.tasks && first.windows >= 2)
    #expect(first.period.rollingInputs.count == 1, "the first period's summary is the first rolling summary")

    // During the day: app.log grows by 8 lines, then logrotate moves it to app.log.1.gz
    // (compressed) and a new app.log gets 6 lines.
    try Self.append(logs.appendingPathComponent("app.log"), Self.events(from: 1, count: 8, service: "billing"))
    try FileManager.default.moveItem(
      at: logs.appendingPathComponent("app.log"), to: logs.appendingPathComponent("app.log.1"))
    _ = try EndToEndTests.shell("/bin/gzip", [logs.appendingPathComponent("app.log.1").path])
    try Data(Self.events(from: 20, count: 6, service: "gateway").utf8).write(to: logs.appendingPathComponent("app.log"))

    // Night 2: only the 14 new lines are planned and mapped.
    let second = try Self.run(ws: ws, cwd: jobs)
    #expect(second.failed == 0)
    #expect(second.period.previousRun == first.period.run)
    #expect(second.period.newLines == 14)
    #expect(second.period.newSources == ["../logs/app.log.1.gz#L\(lines + 1)-L\(lines + 8)", "../logs/app.log#L1-L6"])
    let status = try Self.status(ws: ws, cwd: jobs)
    let maps = status.tasks.filter { $0.kind == "map" }
    #expect(maps.count == second.windows && second.windows < first.windows)
    let new = second.period.newSources.compactMap { Locator(citation: $0[...]) }
    for locator in maps.flatMap(\.locators) {
      #expect(Locator(citation: locator[...]).map { Citations.isCovered($0, by: new) } == true, "\(locator) is not new")
    }
    // The engine ran this period's tasks and one rolling task, nothing of night 1.
    #expect(second.executed == status.total)
    #expect(status.runs.map(\.executed) == [first.executed, second.executed])
    #expect(status.tasks.filter { $0.kind == "rolling" }.count == 1)
    let periodTask = try #require(status.runs.last?.periodTask)
    #expect(second.period.rollingInputs == [try #require(first.period.rollingTask), periodTask])
    #expect(status.tasks.first { $0.kind == "rolling" }?.id == second.period.rollingTask)

    // The period report cites new lines only; the rolling summary names both inputs.
    let periodReport = try String(contentsOfFile: try #require(second.period.periodReport), encoding: .utf8)
    let cited = try EndToEndTests.citations(in: periodReport)
    #expect(!cited.isEmpty)
    for c in cited { #expect(Citations.isCovered(c, by: new), "\(c) in the period report is not new") }
    #expect(try String(contentsOfFile: try #require(second.period.latestReport), encoding: .utf8) == periodReport)
    let rollingPath = try #require(second.period.rollingReport)
    let rolling = try String(contentsOfFile: rollingPath, encoding: .utf8)
    #expect(rolling.contains("from the previous rolling summary"))
    #expect(rolling.contains(String(first.period.rollingTask?.prefix(12) ?? "?")))

    // Night 3: nothing changed; no engine work, reports untouched.
    let third = try Self.run(ws: ws, cwd: jobs)
    #expect(third.executed == 0 && !third.engineLoaded)
    #expect(third.period.newLines == 0 && third.period.newSources.isEmpty && third.period.periodReport == nil)
    #expect(third.period.rollingTask == second.period.rollingTask)
    #expect(try String(contentsOfFile: rollingPath, encoding: .utf8) == rolling)
  }

  // MARK: - Helpers

  static func run(ws: String, cwd: URL) throws -> RunJSON {
    let r = try CLI.run(["run", "cron.yaml", "--workspace", ws, "--json"], cwd: cwd)
    guard r.code == 0 else { throw SetupPaths.Missing(description: "run failed (\(r.code)): \(r.stderr)") }
    return try JSONDecoder().decode(RunJSON.self, from: Data(r.stdout.utf8))
  }

  static func status(ws: String, cwd: URL) throws -> StatusJSON {
    let r = try CLI.run(["status", "cron-logs", "--workspace", ws, "--json"], cwd: cwd)
    guard r.code == 0 else { throw SetupPaths.Missing(description: "status failed (\(r.code)): \(r.stderr)") }
    return try JSONDecoder().decode(StatusJSON.self, from: Data(r.stdout.utf8))
  }

  static func events(from minute: Int, count: Int, service: String) -> String {
    (0..<count).map { i in
      "2026-03-11T01:\(String(format: "%02d", minute + i)):00Z \(i % 3 == 0 ? "ERROR" : "INFO") \(service) request \(i) failed with timeout after 30000 ms"
    }.joined(separator: "\n") + "\n"
  }

  static func append(_ file: URL, _ text: String) throws {
    let handle = try FileHandle(forWritingTo: file)
    try handle.seekToEnd()
    try handle.write(contentsOf: Data(text.utf8))
    try handle.close()
  }
}
