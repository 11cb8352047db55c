import Foundation
import Testing
import _LongctxTestSupport

/// `longctx report NAME` through the real CLI where no model is needed: a workspace whose jobs
/// ran before `run` recorded job files, and the job argument's help. (The report `run` wrote,
/// byte for byte, is checked with the real model in `EndToEndTests` and `QuestionsEndToEndTests`.)
@Suite struct ReportByNameCLITests {
  /// The workspace commit 40e3809 wrote (jobs `mixed`, `perdoc`, `nightly`), loaded with sqlite3.
  @Test func aJobRunByAnOlderLongctxGetsItsReportAndANoteSayingWhatItLacks() throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let ws = tmp.url.appendingPathComponent("ws")
    try FileManager.default.createDirectory(at: ws, withIntermediateDirectories: true)
    let fixture = RepositoryPaths.root.appendingPathComponent(
      "Tests/PipelineTests/Fixtures/workspace-with-tasks-40e3809.sql")
    let load = Process()
    load.executableURL = URL(fileURLWithPath: "/bin/sh")
    load.arguments = [
      "-c", "sqlite3 \"$1\" < \"$2\"", "sh", ws.appendingPathComponent("state.sqlite").path, fixture.path,
    ]
    try load.run()
    load.waitUntilExit()
    try #require(load.terminationStatus == 0, "sqlite3 could not load \(fixture.path)")

    let report = try CLI.run(["report", "mixed", "--workspace", ws.path], cwd: tmp.url)
    #expect(report.code == 0, "\(report.stderr)")
    #expect(report.stdout.hasPrefix("# Report: mixed\n\n"))
    #expect(
      report.stderr.contains("did not record mixed's job file")
        && report.stderr.contains("give the job file instead of the name"), "\(report.stderr)")
    let quiet = try CLI.run(["report", "mixed", "--workspace", ws.path, "--quiet"], cwd: tmp.url)
    #expect(quiet.code == 0 && quiet.stdout == report.stdout && quiet.stderr.isEmpty)
    let coding = try CLI.run(["report", "mixed", "--coding", "--workspace", ws.path], cwd: tmp.url)
    #expect(coding.code == 2 && coding.stderr.contains("'--coding' needs a job with a coding: section"))
  }

  @Test(arguments: ["run", "plan", "produce", "export-batch", "import-batch", "status", "report"])
  func theJobArgumentTakesAFileOrAName(_ command: String) throws {
    let help = try CLI.run([command, "--help"])
    #expect(help.code == 0)
    let text = help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    #expect(text.contains("a job file, or a job's name"), "\(help.stdout)")
    #expect(text.contains("A path ending in .yaml or .yml, or naming an existing file, is a job file"))
    switch command {
    case "status", "report": #expect(text.contains("in the workspace") || text.contains("recorded"))
    default: #expect(text.contains("A name runs NAME.yaml, else NAME.yml, in the current directory."))
    }
  }
}
