import Foundation
import Testing
import _LongctxTestSupport

/// End to end: the real CLI against the real llama-server with `pricing:` and `budget:`:
/// `plan --cost` before the run, the run stopped by the budget (exit code 6) and resumed
/// after raising it without calling the server again for finished tasks.
@Suite(.serialized) struct BudgetServerTests {
  static func job(server: LlamaServer, budget: String) -> String {
    ServerJob.yaml(
      name: "budget-e2e", server: server,
      more: [
        "limits: {requests_per_minute: 600}",
        "pricing: {input_per_million: 1000, output_per_million: 2000}",
        "budget: \(budget)",
      ])
  }

  struct Summary: Decodable {
    var tasks: Int
    var executed: Int
    var reused: Int
    var failed: Int
  }

  @Test func planCostThenBudgetStopsAndRaisingItResumes() async throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let server = try await LlamaServer.started(logDirectory: dir.url)
    try ServerJob.writeServiceLogs(in: dir)
    let job = try dir.write("job.yaml", Self.job(server: server, budget: "{usd: 0.5}")).path
    let workspace = dir.url.appendingPathComponent("ws").path
    func longctx(_ args: String...) async throws -> CLI.Result {
      try await ServerJob.longctx(args, workspace: workspace)
    }

    let plan = try await longctx("plan", "--cost", job)
    #expect(plan.code == 0, "stderr: \(plan.stderr)")
    print(plan.stdout)
    let windows = plan.stdout.firstMatch(of: /(\d+) windows/).flatMap { Int($0.1) } ?? -1
    let cost = try #require(plan.stdout.firstMatch(of: /cost: (\d+) calls \((\d+) map, (\d+) reduce/))
    #expect(Int(cost.2) == windows && windows >= 3)
    #expect(plan.stdout.contains("(exact)"), "counted by the server's /tokenize")
    #expect(plan.stdout.contains("at $1000.0000 per million input and $2000.0000 per million output tokens: at most $"))
    #expect(plan.stdout.contains("budget: $0.5000, spent so far $0.0000: the run may stop at the budget (exit code 6)"))

    let stopped = try await longctx("run", job)
    print(stopped.stderr)
    #expect(stopped.code == 6, "stderr: \(stopped.stderr)")
    #expect(stopped.stderr.contains("longctx: job budget-e2e reached its budget of $0.5000 (spent $0."))
    let counts = try #require(stopped.stderr.firstMatch(of: /\((\d+) of (\d+) known tasks are done and saved\.\)/))
    let done = Int(counts.1) ?? -1
    #expect(done >= 1 && done < windows, "some map tasks ran within $0.50: \(done)")
    let status = try await longctx("status", "budget-e2e")
    #expect(status.stdout.contains("budget: \(done) calls paid, 0 reserved"), "\(status.stdout)")

    try dir.write("job.yaml", Self.job(server: server, budget: "{usd: 100}"))
    let resumed = try await longctx("run", job, "--json")
    #expect(resumed.code == 0, "stderr: \(resumed.stderr)")
    let summary = try ServerJob.summary(Summary.self, of: resumed)
    #expect(summary.failed == 0)
    #expect(summary.reused == done, "finished tasks are not sent again")
    #expect(summary.executed == summary.tasks - done)
  }
}
