import Foundation
import Synchronization
import Testing
import _LongctxTestSupport

/// Two `longctx run` processes, two jobs on one workspace, one endpoint with a limit of 120
/// requests a minute: the requests of both, as the endpoint (a loopback server this test
/// controls) receives them, are never closer than half a second.
@Suite struct RateLimitProcessesTests {
  @Test func twoProcessesShareTheEndpointsLimit() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let arrivals = Mutex<[(time: Double, job: String)]>([])
    let server = try CurlTransportTests.LoopbackServer { request in
      if request.hasPrefix("POST /v1/completions") {
        let job = request.contains("alpha-") ? "alpha" : request.contains("beta-") ? "beta" : "?"
        arrivals.withLock { $0.append((Date().timeIntervalSince1970, job)) }
      }
      return RetryAfterTests.reply("200 OK", ["Content-Type: application/json"], body: RetryAfterTests.ok)
    }
    var jobs: [String] = []
    for name in ["alpha", "beta"] {
      for i in 1...3 {
        let lines = (1...20).map { "\(name)-\(i) line \($0): the service handled request \($0 * 7) in \($0) ms" }
        try tmp.write("\(name)/\(name)-\(i).log", lines.joined(separator: "\n") + "\n")
      }
      let job = """
        name: \(name)
        inputs: [\(name)]
        model: {engine: openai, base_url: "http://127.0.0.1:\(server.port)/v1", context: 256, concurrency: 2}
        generation: {max_tokens: 4}
        plan: {collapse_repeats: false, collapse_duplicates: false}
        map: {prompt: "{{window}}"}
        reduce: {prompt: "{{outputs}}"}
        limits: {requests_per_minute: 120}
        """
      jobs.append(try tmp.write("\(name).yaml", job).path)
    }
    let workspace = tmp.url.appendingPathComponent("ws").path
    // Ingest first, so that both runs spend their time sending.
    for job in jobs {
      let plan = try await CLI.launch(["plan", job, "--workspace", workspace]).finish()
      #expect(plan.code == 0, "\(plan.stderr)")
    }
    let started = jobs.map { job in
      Result { try CLI.launch(["run", job, "--workspace", workspace, "--quiet"]) }
    }
    var outputs: [CLI.Result] = []
    for run in started {
      let running = try run.get()
      outputs.append(await running.finish())
    }
    for output in outputs { #expect(output.code == 0, "\(output.stderr)") }
    let received = arrivals.withLock { $0 }.sorted { $0.time < $1.time }
    #expect(Set(received.map(\.job)) == ["alpha", "beta"], "both processes sent requests")
    #expect(received.count >= 6)
    let gaps = zip(received.dropFirst(), received).map { $0.time - $1.time }
    print("two processes: \(received.count) requests, smallest gap \(gaps.min() ?? 0) s for 0.5 s")
    #expect(gaps.allSatisfy { $0 >= 0.45 }, "\(gaps)")
  }

  /// The same limit on a shared workspace: a coordinator (`run --no-work`) and two `longctx
  /// worker` processes on a real PostgreSQL server, each worker sending its own requests:
  /// the endpoint receives them no faster than the limit between them.
  @Test(.enabled(if: PostgresServer.unavailable == nil, "PostgreSQL server binaries are absent"))
  func twoWorkerProcessesOnPostgreSQLShareTheEndpointsLimit() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let arrivals = Mutex<[Double]>([])
    let server = try CurlTransportTests.LoopbackServer { request in
      if request.hasPrefix("POST /v1/completions") { arrivals.withLock { $0.append(Date().timeIntervalSince1970) } }
      return RetryAfterTests.reply("200 OK", ["Content-Type: application/json"], body: RetryAfterTests.ok)
    }
    for i in 1...4 {
      let lines = (1...20).map { "shared-\(i) line \($0): the service handled request \($0 * 7) in \($0) ms" }
      try tmp.write("logs/shared-\(i).log", lines.joined(separator: "\n") + "\n")
    }
    let job = try tmp.write(
      "paced.yaml",
      """
      name: paced
      inputs: [logs]
      model: {engine: openai, base_url: "http://127.0.0.1:\(server.port)/v1", context: 256}
      generation: {max_tokens: 4}
      plan: {collapse_repeats: false, collapse_duplicates: false}
      map: {prompt: "{{window}}"}
      reduce: {prompt: "{{outputs}}"}
      limits: {requests_per_minute: 30}
      budget: {tokens: 100000}
      """
    ).path
    let database = try PostgresServer()
    defer { database.remove() }
    let workspace = database.url + "?sslmode=disable&store=\(tmp.url.appendingPathComponent("store").path)"
    let workers = try (0..<2).map { _ in try CLI.launch(["worker", "--workspace", workspace]) }
    let run = try await CLI.launch(["run", job, "--workspace", workspace, "--no-work", "--quiet"]).finish()
    #expect(run.code == 0, "\(run.stderr)")
    let status = try await CLI.launch(["status", "--workspace", workspace]).finish()
    for worker in workers { worker.process.terminate() }
    for worker in workers { _ = await Task.detached { worker.wait() }.value }
    // Both workers sent requests (neither line says "0 done").
    let lines = status.stdout.split(separator: "\n").filter { $0.contains(" done, ") && $0.contains("pid ") }
    #expect(lines.count == 2 && lines.allSatisfy { !$0.contains(" 0 done") }, "\(status.stdout)")
    let received = arrivals.withLock { $0 }.sorted()
    #expect(received.count >= 6, "\(received.count) requests")
    // The workers paid every call in PostgreSQL (the server reports 3 + 1 tokens a call), where
    // `status` and `plan --cost` on the shared workspace read it.
    #expect(status.stdout.contains("budget: \(received.count) calls paid, 0 reserved"), "\(status.stdout)")
    let plan = try await CLI.launch(["plan", job, "--cost", "--workspace", workspace]).finish()
    #expect(plan.stdout.contains("spent so far \(4 * received.count) tokens"), "\(plan.stdout)\(plan.stderr)")
    let gaps = zip(received.dropFirst(), received).map { $0 - $1 }
    print("two worker processes on PostgreSQL: \(received.count) requests, smallest gap \(gaps.min() ?? 0) s for 2 s")
    // A worker that wakes late (a loaded machine) can only shorten the gap after its request:
    // the k-th request never comes before the first plus k slots.
    #expect(gaps.allSatisfy { $0 >= 1.5 }, "\(gaps)")
    #expect(received.indices.allSatisfy { received[$0] - received[0] >= 2 * Double($0) - 0.5 }, "\(gaps)")
  }
}
