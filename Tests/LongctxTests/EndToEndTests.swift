import Foundation
import Ingest
import Testing
import _LongctxTestSupport

/// The real CLI on Samples/ with the real model (Gemma 3 270M through llama.cpp
/// in process). These assert mechanics: structure, citations, reuse, resume,
/// determinism at temperature 0; never the quality of the prose.
@Suite(.serialized) struct EndToEndTests {
  struct RunJSON: Decodable {
    var tasks: Int
    var executed: Int
    var reused: Int
    var failed: Int
    var windows: Int
    var engineLoaded: Bool
    var reportPath: String?
  }

  struct StatusJSON: Decodable {
    var counts: [String: Int]
    var total: Int
  }

  @Test func mainJobReportsWithValidCitationsAndIsServedFromStateTheSecondTime() throws {
    _ = try SetupPaths.model()
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let samples = try SampleCopy.make(in: tmp)
    let jobs = samples.appendingPathComponent("jobs")
    let ws = tmp.url.appendingPathComponent("ws").path

    let first = try CLI.run(["run", "summarize.yaml", "--workspace", ws, "--json"], cwd: jobs)
    #expect(first.code == 0, "first run failed: \(first.stderr)")
    let run1 = try JSONDecoder().decode(RunJSON.self, from: Data(first.stdout.utf8))
    #expect(run1.windows >= 2)
    #expect(run1.executed == run1.tasks && run1.tasks > run1.windows, "expected map tasks plus at least one reduce")
    #expect(run1.failed == 0)
    let reportURL = samples.appendingPathComponent("reports/samples-summary.md")
    let report = try String(contentsOf: reportURL, encoding: .utf8)
    #expect(report.contains("## Summary"))
    // No output loops (the loop guard): no sentence of the summary or of a window's output comes more than twice.
    let outputs = ReportRepeats.outputs(in: report)
    #expect(outputs.count == run1.windows + 1, "\(outputs.map(\.title))")
    for output in outputs {
      #expect(ReportRepeats.repeated(in: output.text).isEmpty, "\(output.title) loops:\n\(output.text)")
    }

    // Every citation names a file of Samples and a page or line range inside it.
    let citations = try Self.citations(in: report)
    #expect(citations.count >= 5)
    var kinds = Set<String>()
    for c in citations {
      let file = jobs.appendingPathComponent(c.path).standardizedFileURL
      #expect(file.path.hasPrefix(samples.path + "/"), "\(c) points outside Samples")
      #expect(FileManager.default.fileExists(atPath: file.path), "\(c) names a missing file")
      if let page = c.page {
        kinds.insert("page")
        let pages = try Self.pdfPages(file)
        #expect(page >= 1 && page <= pages, "\(c): the PDF has \(pages) pages")
      } else if let start = c.lineStart, let end = c.lineEnd {
        kinds.insert("lines")
        let lines = try Self.lineCount(file)
        #expect(start >= 1 && start <= end && end <= lines, "\(c): the file has \(lines) lines")
      } else {
        Issue.record("\(c) has neither page nor line range")
      }
    }
    #expect(kinds == ["page", "lines"])
    #expect(citations.contains { $0.path.hasSuffix("app.log.2.gz") }, "the rotated .gz log is cited")

    // Again: everything comes from state; the engine is never loaded.
    let second = try CLI.run(["run", "summarize.yaml", "--workspace", ws, "--json"], cwd: jobs)
    #expect(second.code == 0, "second run failed: \(second.stderr)")
    let run2 = try JSONDecoder().decode(RunJSON.self, from: Data(second.stdout.utf8))
    #expect(run2.executed == 0)
    #expect(run2.reused == run1.tasks)
    #expect(run2.engineLoaded == false)
    #expect(try String(contentsOf: reportURL, encoding: .utf8) == report)

    let status = try CLI.run(["status", "samples-summary", "--workspace", ws, "--json"], cwd: jobs)
    #expect(status.code == 0)
    let counts = try JSONDecoder().decode(StatusJSON.self, from: Data(status.stdout.utf8))
    #expect(counts.total == run1.tasks)
    #expect(counts.counts["done"] == run1.tasks)
  }

  @Test func interruptedAndKilledRunsResumeToTheSameReport() throws {
    _ = try SetupPaths.model()
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let samples = try SampleCopy.make(in: tmp)
    let jobs = samples.appendingPathComponent("jobs")
    try Self.smallJob.write(to: jobs.appendingPathComponent("small.yaml"), atomically: true, encoding: .utf8)
    let ws = tmp.url.appendingPathComponent("ws").path

    // SIGINT once a task is done: a clean stop, exit 130, a message on how to resume.
    let interrupted = try CLI.start(["run", "small.yaml", "--workspace", ws], cwd: jobs)
    let doneAtInt = try Self.waitForDone(atLeast: 1, workspace: ws, cwd: jobs, process: interrupted)
    interrupted.interrupt()
    interrupted.waitUntilExit()
    let intErr = String(
      decoding: (interrupted.standardError as! Pipe).fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    #expect(interrupted.terminationStatus == 130, "stderr: \(intErr)")
    #expect(intErr.contains("again to resume"))
    let afterInt = try Self.status(workspace: ws, cwd: jobs)
    #expect((afterInt.counts["done"] ?? 0) >= doneAtInt)
    #expect(afterInt.counts["leased"] == 0, "a clean stop leaves no task leased")

    // kill -9 in the middle of the next task.
    let killed = try CLI.start(["run", "small.yaml", "--workspace", ws], cwd: jobs)
    _ = try Self.waitForDone(atLeast: (afterInt.counts["done"] ?? 0) + 1, workspace: ws, cwd: jobs, process: killed)
    kill(killed.processIdentifier, SIGKILL)
    killed.waitUntilExit()
    let afterKill = try Self.status(workspace: ws, cwd: jobs)
    let doneBeforeResume = afterKill.counts["done"] ?? 0

    // Resume: finishes, running only what was not done.
    let resumed = try CLI.run(["run", "small.yaml", "--workspace", ws, "--json"], cwd: jobs)
    #expect(resumed.code == 0, "resume failed: \(resumed.stderr)")
    let run = try JSONDecoder().decode(RunJSON.self, from: Data(resumed.stdout.utf8))
    #expect(run.reused >= doneBeforeResume)
    #expect(run.executed == run.tasks - run.reused)
    let resumedReport = try String(contentsOf: samples.appendingPathComponent("reports/small.md"), encoding: .utf8)

    // An uninterrupted run in a fresh workspace gives the same report at temperature 0.
    let fresh = tmp.url.appendingPathComponent("ws-fresh").path
    let clean = try CLI.run(["run", "small.yaml", "--workspace", fresh, "--json"], cwd: jobs)
    #expect(clean.code == 0, "clean run failed: \(clean.stderr)")
    let cleanReport = try String(contentsOf: samples.appendingPathComponent("reports/small.md"), encoding: .utf8)
    #expect(Self.body(resumedReport) == Self.body(cleanReport))
    #expect(!Self.body(cleanReport).isEmpty)
  }

  @Test func runWithParallelSequencesFinishesEveryTask() throws {
    _ = try SetupPaths.model()
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let samples = try SampleCopy.make(in: tmp)
    let jobs = samples.appendingPathComponent("jobs")
    try Self.smallJob.write(to: jobs.appendingPathComponent("small.yaml"), atomically: true, encoding: .utf8)
    let ws = tmp.url.appendingPathComponent("ws").path
    // Two map tasks at a time through the embedded engine's parallel sequences.
    let result = try CLI.run(["run", "small.yaml", "--workspace", ws, "--json", "--concurrency", "2"], cwd: jobs)
    #expect(result.code == 0, "parallel run failed: \(result.stderr)")
    let run = try JSONDecoder().decode(RunJSON.self, from: Data(result.stdout.utf8))
    #expect(run.windows >= 2, "the job needs two windows to run two map tasks at once")
    #expect(run.failed == 0)
    #expect(run.executed == run.tasks)
    let report = try String(contentsOf: samples.appendingPathComponent("reports/small.md"), encoding: .utf8)
    #expect(!Self.body(report).isEmpty)
  }

  @Test func anotherRunHoldingTheLockExitsWith3() throws {
    _ = try SetupPaths.model()
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let samples = try SampleCopy.make(in: tmp)
    let jobs = samples.appendingPathComponent("jobs")
    try Self.smallJob.write(to: jobs.appendingPathComponent("small.yaml"), atomically: true, encoding: .utf8)
    let ws = tmp.url.appendingPathComponent("ws").path
    let first = try CLI.start(["run", "small.yaml", "--workspace", ws], cwd: jobs)
    defer {
      first.interrupt()
      first.waitUntilExit()
    }
    // The first run holds the lock from before ingest until it exits.
    let lockFile = URL(fileURLWithPath: ws).appendingPathComponent("locks/small-logs.lock").path
    let deadline = Date().addingTimeInterval(60)
    while Date() < deadline {
      if let text = try? String(contentsOfFile: lockFile, encoding: .utf8), text.contains("pid") { break }
      Thread.sleep(forTimeInterval: 0.1)
    }
    let second = try CLI.run(["run", "small.yaml", "--workspace", ws], cwd: jobs)
    #expect(second.code == 3, "stderr: \(second.stderr)")
    #expect(second.stderr.contains("holds the lock"))
    #expect(second.stderr.split(separator: "\n").count == 1)
  }

  // MARK: - Helpers

  static let smallJob = """
    name: small-logs
    inputs: [../logs]
    model:
      engine: llama
      context: 640
    generation:
      max_tokens: 16
      temperature: 0
    map:
      prompt: |
        {{window}}

        Summary:
    reduce:
      prompt: |
        {{outputs}}

        Combined summary:
    report:
      path: ../reports/small.md
    """

  /// The report without its figures (engine time varies run to run).
  static func body(_ report: String) -> String {
    guard let range = report.range(of: "## Summary") else { return "" }
    let end = report.range(of: "## Tasks")?.lowerBound ?? report.endIndex
    return String(report[range.lowerBound..<end])
  }

  static func status(workspace: String, cwd: URL) throws -> StatusJSON {
    let r = try CLI.run(["status", "small-logs", "--workspace", workspace, "--json"], cwd: cwd)
    guard r.code == 0 else { return StatusJSON(counts: [:], total: 0) }
    return try JSONDecoder().decode(StatusJSON.self, from: Data(r.stdout.utf8))
  }

  /// Polls `status` until at least `count` tasks are done; returns the count seen.
  static func waitForDone(atLeast count: Int, workspace: String, cwd: URL, process: Process) throws -> Int {
    let deadline = Date().addingTimeInterval(240)
    while Date() < deadline {
      let s = try status(workspace: workspace, cwd: cwd)
      let done = s.counts["done"] ?? 0
      if done >= count && done < s.total { return done }
      if !process.isRunning { throw SetupPaths.Missing(description: "the run ended before \(count) tasks were done") }
      Thread.sleep(forTimeInterval: 0.2)
    }
    throw SetupPaths.Missing(description: "timed out waiting for \(count) done tasks")
  }

  /// The locators of every `Sources:` line of a report.
  static func citations(in report: String) throws -> [Locator] {
    var out: [Locator] = []
    for line in report.split(separator: "\n") where line.hasPrefix("Sources: ") {
      var rest = line.dropFirst("Sources: ".count)
      while let open = rest.firstIndex(of: "["), let close = rest[open...].firstIndex(of: "]") {
        let text = rest[rest.index(after: open)..<close]
        guard let loc = Locator(citation: text) else {
          Issue.record("unparseable citation [\(text)]")
          break
        }
        out.append(loc)
        rest = rest[rest.index(after: close)...]
      }
    }
    return out
  }

  static func pdfPages(_ file: URL) throws -> Int {
    let out = try shell("/usr/bin/pdfinfo", [file.path])
    let line = out.split(separator: "\n").first { $0.hasPrefix("Pages:") } ?? ""
    return Int(line.split(separator: " ").last ?? "") ?? 0
  }

  static func lineCount(_ file: URL) throws -> Int {
    let text =
      file.pathExtension == "gz"
      ? try shell("/bin/gzip", ["-dc", file.path]) : try String(contentsOf: file, encoding: .utf8)
    return text.split(separator: "\n", omittingEmptySubsequences: false).count - (text.hasSuffix("\n") ? 1 : 0)
  }

  static func shell(_ tool: String, _ args: [String]) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: tool)
    p.arguments = args
    let pipe = Pipe()
    p.standardOutput = pipe
    try p.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
  }
}
