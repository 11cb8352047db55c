import Foundation
import Logging
import SharedWorkspace
import Testing
import _LongctxTestSupport

#if canImport(Glibc)
  import Glibc
#endif

/// `longctx run --workspace postgres://…` with `longctx worker` processes, on a real
/// PostgreSQL server and the real model: the report is byte for byte the one SQLite gives
/// on one machine, and a worker killed with SIGKILL in the middle of a task costs only that task.
@Suite(.serialized, .enabled(if: PostgresServer.unavailable == nil, "PostgreSQL server binaries are absent"))
struct SharedWorkspaceCLITests {
  static let job = """
    name: shared-summary
    inputs: [../logs, ../pdfs]
    model: {engine: llama, context: 1024}
    generation: {max_tokens: 48, temperature: 0, seed: 42}
    map:
      prompt: |
        Excerpts, each starting with its source in brackets:

        {{window}}

        Summary (part {{window_number}} of {{window_count}}), citing sources in brackets:
    reduce:
      prompt: |
        {{outputs}}

        Combined summary:
    """

  struct RunJSON: Decodable {
    var tasks: Int
    var executed: Int
    var failed: Int
    var windows: Int
    var reportPath: String?
  }

  @Test func threeWorkersWithOneKilledReportWhatOneMachineDoes() async throws {
    _ = try SetupPaths.model()
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let samples = try SampleCopy.make(in: tmp)
    let jobs = samples.appendingPathComponent("jobs")
    try Data(Self.job.utf8).write(to: jobs.appendingPathComponent("shared.yaml"))

    // One machine, SQLite.
    let local = try CLI.run(
      ["run", "shared.yaml", "--workspace", tmp.url.appendingPathComponent("local").path, "--json"], cwd: jobs)
    #expect(local.code == 0, "local run failed: \(local.stderr)")
    let localRun = try JSONDecoder().decode(RunJSON.self, from: Data(local.stdout.utf8))
    #expect(localRun.windows >= 3, "too few windows to share: \(localRun.windows)")
    let reportPath = try #require(localRun.reportPath)
    let expected = ReportTimes.masked(try String(contentsOfFile: reportPath, encoding: .utf8))
    try FileManager.default.removeItem(atPath: reportPath)

    // PostgreSQL: a coordinator that only coordinates, and three workers; one is killed mid-task.
    let server = try PostgresServer()
    defer { server.remove() }
    let url = server.url + "?store=\(tmp.url.appendingPathComponent("shared").path)"
    let queue = try await PostgresTaskQueue.open(try SharedLocation(url), logger: Logger(label: "test"))
    let coordinator = try CLI.start(["run", "shared.yaml", "--workspace", url, "--no-work", "--json"], cwd: jobs)
    try await Self.waitFor("the job to be recorded", seconds: 60) { try await !queue.runningJobs().isEmpty }
    let workers = try (0..<3).map { _ in
      try CLI.start(["worker", "--workspace", url, "--lease", "3", "--exit-when-idle"], cwd: tmp.url)
    }
    let victim = workers[0].processIdentifier
    try await Self.waitFor("the first worker to claim a task", seconds: 300) {
      try await queue.workers().contains { $0.pid == Int(victim) && $0.claims > 0 }
    }
    kill(victim, SIGKILL)
    let killedAt = Date()

    let (code, out, err) = Self.finish(coordinator)
    #expect(code == 0, "shared run failed: \(err)")
    let sharedRun = try JSONDecoder().decode(RunJSON.self, from: Data(out.utf8))
    #expect(sharedRun.failed == 0)
    #expect(sharedRun.tasks == localRun.tasks)
    let report = try String(contentsOfFile: try #require(sharedRun.reportPath), encoding: .utf8)
    // Byte for byte, but for the run's facts: engine seconds, and attempts (the killed task took two).
    #expect(ReportTimes.masked(report) == expected, "the shared run's report differs from the local one")
    #expect(report.contains("| done | 2 |"), "the killed worker's task shows its second attempt")

    for worker in workers.dropFirst() {
      let (workerCode, _, workerErr) = Self.finish(worker)
      #expect(workerCode == 0, "a worker failed: \(workerErr)")
    }
    // Every task was completed once: the killed worker's task was redone by another, nothing else twice.
    let seen = try await queue.workers()
    #expect(seen.count == 3)
    #expect(seen.map(\.done).reduce(0, +) == sharedRun.executed)
    #expect(seen.first { $0.pid == Int(victim) }?.claims == 0, "the dead worker's lease was taken over")
    #expect(seen.filter { $0.pid != Int(victim) && $0.done > 0 }.count >= 1)
    #expect(Date().timeIntervalSince(killedAt) > 3, "the run outlived the killed worker's lease")

    // `status` lists the job's tasks (all done, copied back) and the three workers.
    let status = try CLI.run(["status", "--workspace", url], cwd: jobs)
    #expect(status.code == 0, "\(status.stderr)")
    #expect(
      status.stdout.contains("shared-summary: \(sharedRun.tasks) tasks: \(sharedRun.tasks) done"), "\(status.stdout)")
    #expect(status.stdout.contains("workers on \(url): 3"), "\(status.stdout)")
    #expect(status.stdout.contains("pid \(victim)): silent") || status.stdout.contains("pid \(victim)): alive"))
  }

  static func waitFor(_ what: String, seconds: Double, _ condition: () async throws -> Bool) async throws {
    let deadline = Date().addingTimeInterval(seconds)
    while try await !condition() {
      guard Date() < deadline else { throw SetupPaths.Missing(description: "timed out waiting for \(what)") }
      try await Task.sleep(nanoseconds: 100_000_000)
    }
  }

  /// Waits for a started process; returns its exit code, stdout and stderr.
  static func finish(_ process: Process) -> (Int32, String, String) {
    // Both pipes are read at once, so a chatty stderr never blocks the child.
    nonisolated(unsafe) var err = Data()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async {
      err = (process.standardError as? Pipe)?.fileHandleForReading.readDataToEndOfFile() ?? Data()
      group.leave()
    }
    let out = (process.standardOutput as? Pipe)?.fileHandleForReading.readDataToEndOfFile() ?? Data()
    group.wait()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
  }
}
