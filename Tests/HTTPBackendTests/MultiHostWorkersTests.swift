import Foundation
import Synchronization
import Testing
import _LongctxTestSupport

#if canImport(Glibc)
  import Glibc
#endif

/// Several hosts on one machine: PostgreSQL in one network namespace, listening only on that
/// namespace's address, and a `longctx worker` in each of two others, reaching it over veth
/// links and a bridge; the coordinator (`run --no-work`) and the endpoint (a loopback-style
/// server this test controls, on the bridge's address) stay in this process's namespace.
/// No model: the job's engine is `openai` against that endpoint.
@Suite(
  .serialized,
  .enabled(if: PostgresServer.unavailable == nil, "PostgreSQL server binaries are absent"),
  .enabled(if: NetworkHosts.unavailable == nil, "\(NetworkHosts.unavailable ?? "")"))
struct MultiHostWorkersTests {
  /// Writes four logs and a job reading them, sent to `endpoint`; returns the job's path.
  static func job(in tmp: TemporaryDirectory, endpoint: String) throws -> String {
    for i in 1...4 {
      let lines = (1...20).map { "host-\(i) line \($0): the service handled request \($0 * 7) in \($0) ms" }
      try tmp.write("logs/host-\(i).log", lines.joined(separator: "\n") + "\n")
    }
    return try tmp.write(
      "spread.yaml",
      """
      name: spread
      inputs: [logs]
      model: {engine: openai, base_url: "\(endpoint)/v1", context: 256, concurrency: 1}
      generation: {max_tokens: 4}
      plan: {collapse_repeats: false, collapse_duplicates: false}
      map: {prompt: "{{window}}"}
      reduce: {prompt: "{{outputs}}"}
      """
    ).path
  }

  struct RunJSON: Decodable {
    var tasks: Int
    var executed: Int
    var failed: Int
  }

  /// Whether a TCP connection to `address`:`port` from this process's namespace succeeds.
  static func connects(_ address: String, _ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var target = sockaddr_in()
    target.sin_family = sa_family_t(AF_INET)
    target.sin_addr.s_addr = inet_addr(address)
    target.sin_port = UInt16(port).bigEndian
    return withUnsafePointer(to: &target) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
      }
    }
  }

  /// The `status` lines of the workers (`… pid N …: … K done, …`).
  static func workerLines(_ status: String) -> [Substring] {
    status.split(separator: "\n").filter { $0.contains(" done, ") && $0.contains("pid ") }
  }

  @Test func twoWorkersOnTwoHostsFinishAJobWhoseDatabaseIsOnAThird() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let hosts = try NetworkHosts(["db", "w1", "w2"])
    defer { hosts.remove() }
    // Each answer takes a little while, so that neither worker can take every task alone.
    let endpoint = try CurlTransportTests.LoopbackServer(address: hosts.hostAddress) { request in
      if request.hasPrefix("POST /v1/completions") { Thread.sleep(forTimeInterval: 0.3) }
      return RetryAfterTests.reply("200 OK", ["Content-Type: application/json"], body: RetryAfterTests.ok)
    }
    let job = try Self.job(in: tmp, endpoint: "http://\(hosts.hostAddress):\(endpoint.port)")
    let database = try PostgresServer(address: hosts["db"].address, namespace: hosts["db"].namespace)
    defer { database.remove() }
    #expect(Self.connects(hosts["db"].address, database.port), "the database answers on its host's address")
    #expect(!Self.connects("127.0.0.1", database.port), "the database listens on its own host only")

    let workspace = database.url + "?sslmode=disable&store=\(tmp.url.appendingPathComponent("store").path)"
    let workers = try ["w1", "w2"].map { try hosts.launch(["worker", "--workspace", workspace], in: hosts[$0]) }
    let run = try await CLI.launch(["run", job, "--workspace", workspace, "--no-work", "--json"]).finish()
    let status = try await CLI.launch(["status", "--workspace", workspace]).finish()
    for worker in workers { worker.process.terminate() }
    let exits = await Task.detached { workers.map { $0.wait() } }.value

    #expect(run.code == 0, "\(run.stderr)")
    // SIGTERM: each stops as a user's interrupt does (its claims, none left, given back).
    #expect(exits.allSatisfy { $0.stderr.contains("its claims were given back") }, "\(exits.map(\.stderr))")
    let summary = try JSONDecoder().decode(RunJSON.self, from: Data(run.stdout.utf8))
    #expect(summary.failed == 0)
    #expect(summary.tasks >= 4, "too few tasks to share: \(summary.tasks)")
    // Both hosts' workers did tasks (neither line says "0 done"), and they are the two launched.
    let lines = Self.workerLines(status.stdout)
    #expect(lines.count == 2 && lines.allSatisfy { !$0.contains(" 0 done") }, "\(status.stdout)")
    for worker in workers {
      #expect(lines.contains { $0.contains("pid \(worker.process.processIdentifier))") }, "\(status.stdout)")
    }
  }

  /// A worker's host loses its link while the worker holds a task (its request sent, the
  /// answer never arriving): its lease runs out, and a worker on another host, started after
  /// the cut, does every task, the cut-off worker's included.
  @Test func aWorkerCutOffMidTaskLosesItsLeaseAndAnotherFinishes() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let hosts = try NetworkHosts(["db", "w1", "w2"])
    defer { hosts.remove() }
    let firstRequest = DispatchSemaphore(value: 0)
    let cut = DispatchSemaphore(value: 0)
    let requests = Mutex(0)
    // The first request (w1's, the only worker then) is held until w1's link is down.
    let endpoint = try CurlTransportTests.LoopbackServer(address: hosts.hostAddress) { request in
      if request.hasPrefix("POST /v1/completions")
        && requests.withLock({
          $0 += 1
          return $0
        }) == 1
      {
        firstRequest.signal()
        _ = cut.wait(timeout: .now() + 300)
      }
      return RetryAfterTests.reply("200 OK", ["Content-Type: application/json"], body: RetryAfterTests.ok)
    }
    let job = try Self.job(in: tmp, endpoint: "http://\(hosts.hostAddress):\(endpoint.port)")
    let database = try PostgresServer(address: hosts["db"].address, namespace: hosts["db"].namespace)
    defer { database.remove() }
    let workspace = database.url + "?sslmode=disable&store=\(tmp.url.appendingPathComponent("store").path)"

    let cutOff = try hosts.launch(["worker", "--workspace", workspace, "--lease", "3"], in: hosts["w1"])
    defer { kill(cutOff.process.processIdentifier, SIGKILL) }
    let run = try CLI.launch(["run", job, "--workspace", workspace, "--no-work", "--json"])
    let sent = await Task.detached { firstRequest.wait(timeout: .now() + 300) }.value
    try #require(sent == .success, "the first worker never sent a request")
    try hosts.setLink(of: hosts["w1"], up: false)
    let cutAt = Date()
    cut.signal()
    let other = try hosts.launch(["worker", "--workspace", workspace, "--lease", "3"], in: hosts["w2"])
    let finished = await run.finish()
    let took = Date().timeIntervalSince(cutAt)
    // The cable back: the cut-off worker's connections close instead of lingering in the kernel.
    try hosts.setLink(of: hosts["w1"], up: true)
    let status = try await CLI.launch(["status", "--workspace", workspace]).finish()
    other.process.terminate()
    _ = await other.finish()

    #expect(finished.code == 0, "\(finished.stderr)")
    let summary = try JSONDecoder().decode(RunJSON.self, from: Data(finished.stdout.utf8))
    #expect(summary.failed == 0)
    let lines = Self.workerLines(status.stdout)
    let first = lines.first { $0.contains("pid \(cutOff.process.processIdentifier))") }
    let second = lines.first { $0.contains("pid \(other.process.processIdentifier))") }
    #expect(first?.contains(" 0 done") == true, "\(status.stdout)")
    #expect(second?.contains(" \(summary.executed) done") == true, "\(status.stdout)")
    // The lease runs 3 s from the cut-off worker's last heartbeat, and heartbeats come every
    // lease/3 = 1 s, so the last one may precede the cut by up to 1 s: the task cannot have been
    // taken over sooner than 2 s after the cut.
    #expect(took > 2, "the other worker took the task before the cut-off worker's lease ran out")
    print("cut-off worker: the other finished \(summary.executed) tasks \(took) s after the cut")
  }
}
