import Foundation
import Logging
import SharedWorkspace
import Testing
import _LongctxTestSupport

#if canImport(Glibc)
  import Glibc
#endif

/// A run's ingest shared by two `longctx worker` processes on a real PostgreSQL server (the
/// map and reduce go to a loopback OpenAI-compatible server): every file is extracted exactly
/// once, and a worker killed with SIGKILL in the middle of an extraction costs only that file,
/// which the other worker extracts once its lease expires.
@Suite(.serialized, .enabled(if: PostgresServer.unavailable == nil, "PostgreSQL server binaries are absent"))
struct SharedIngestWorkersTests {
  /// The corpus: 30 small notes; the one named `slowfile` takes 8 s more to extract (a fault
  /// the extraction child honours only when `LONGCTX_FAULT_INJECTION` says so).
  static func writeCorpus(in tmp: TemporaryDirectory) throws -> [String] {
    var names: [String] = []
    for i in 1...30 {
      let name = i == 12 ? "note-\(i)-slowfile.txt" : String(format: "note-%02d.txt", i)
      let lines = (1...5).map { "note \(i) line \($0): the shipment \($0 * 11 + i) left the depot at \($0):00" }
      try tmp.write("notes/\(name)", lines.joined(separator: "\n") + "\n")
      names.append(name)
    }
    return names
  }

  @Test func twoWorkersExtractEachFileOnceAndTakeOverAKilledWorkersFile() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let names = try Self.writeCorpus(in: tmp)
    let http = try CurlTransportTests.LoopbackServer { _ in
      RetryAfterTests.reply("200 OK", ["Content-Type: application/json"], body: RetryAfterTests.ok)
    }
    let job = try tmp.write(
      "notes.yaml",
      """
      name: notes
      inputs: [notes]
      model: {engine: openai, base_url: "http://127.0.0.1:\(http.port)/v1", context: 256}
      generation: {max_tokens: 4}
      plan: {collapse_repeats: false, collapse_duplicates: false}
      map: {prompt: "{{window}}"}
      reduce: {prompt: "{{outputs}}"}
      """
    ).path
    let database = try PostgresServer()
    defer { database.remove() }
    let workspace = database.url + "?sslmode=disable&store=\(tmp.url.appendingPathComponent("store").path)"
    let trace = tmp.url.appendingPathComponent("trace.log").path
    let environment = ["LONGCTX_FAULT_INJECTION": "slow=slowfile;trace=\(trace)"]
    let queue = try await PostgresTaskQueue.open(try SharedLocation(workspace), logger: Logger(label: "test"))
    defer { queue.close() }

    // A coordinator that only coordinates; two workers, one extraction lane each.
    let coordinator = try CLI.launch(
      ["run", job, "--workspace", workspace, "--no-work", "--share-extraction", "--json"], environment: environment)
    try await Self.waitFor("the job to be recorded", seconds: 60) { try await !queue.runningJobs().isEmpty }
    let run = try #require(try await queue.runningJobs().first).run
    let workers = try (0..<2).map { _ in
      try CLI.launch(
        ["worker", "--workspace", workspace, "--lease", "3", "--extract-concurrency", "1", "--exit-when-idle"],
        environment: environment)
    }
    let pids = workers.map { Int($0.process.processIdentifier) }
    // The worker whose child started on the slow file is killed in the middle of it.
    let slow = tmp.url.appendingPathComponent("notes/note-12-slowfile.txt").path
    var victimId: String?
    try await Self.waitFor("a worker to start the slow file", seconds: 60) {
      guard Self.traced(trace).contains(where: { $0.file.hasSuffix("note-12-slowfile.txt") }) else { return false }
      victimId = try await queue.extractionClaims(run: run)[slow]?.worker
      return victimId != nil
    }
    let seen = try await queue.workers()
    let victim = try #require(seen.first { $0.id == victimId })
    #expect(pids.contains(victim.pid))
    kill(pid_t(victim.pid), SIGKILL)

    let result = await coordinator.finish()
    #expect(result.code == 0, "shared run failed: \(result.stderr)")
    let summary = try ServerJob.summary(RunSummaryJSON.self, of: result)
    #expect(summary.failed == 0)
    let survivor = try #require(workers.first { Int($0.process.processIdentifier) != victim.pid })
    let survived = await survivor.finish()
    #expect(survived.code == 0, "\(survived.stderr)")

    // Every file extracted exactly once, but the slow one: twice (the killed start, then the finish).
    let lines = Self.traced(trace)
    var starts: [String: Int] = [:]
    for line in lines { starts[(line.file as NSString).lastPathComponent, default: 0] += 1 }
    #expect(lines.count == 31, "\(lines.map(\.file))")
    #expect(Set(starts.keys) == Set(names))
    #expect(starts.filter { $0.key != "note-12-slowfile.txt" }.allSatisfy { $0.value == 1 }, "\(starts)")
    #expect(starts["note-12-slowfile.txt"] == 2)
    let slowStarts = lines.filter { $0.file.hasSuffix("note-12-slowfile.txt") }
    #expect(Set(slowStarts.map(\.pid)).count == 2, "two children, one per worker")

    // Who did what: the survivor finished the slow file on its second claim; 30 files done,
    // each claimed once but that one; the coordinator (--no-work) extracted nothing.
    let claims = try await queue.extractionClaims(run: run)
    #expect(claims.count == 30)
    #expect(claims.values.allSatisfy { $0.state == "done" })
    let survivorId = try #require(seen.first { $0.pid == Int(survivor.process.processIdentifier) }?.id)
    #expect(claims[slow]?.worker == survivorId)
    #expect(claims[slow]?.attempts == 2)
    #expect(claims.filter { $0.key != slow }.allSatisfy { $0.value.attempts == 1 }, "\(claims)")
    let byVictim = claims.values.filter { $0.worker == victim.id }.count
    let bySurvivor = claims.values.filter { $0.worker == survivorId }.count
    #expect(byVictim + bySurvivor == 30)
    #expect(survived.stdout.contains("\(bySurvivor) files extracted, 0 failed"), "\(survived.stdout)")

    // The store's corpus holds what the workers stored: the slow note reads back by its lines.
    let quote = try await CLI.launch(
      ["quote", "notes/note-12-slowfile.txt#L3", "--workspace", workspace], cwd: tmp.url
    ).finish()
    #expect(quote.stdout.contains("note 12 line 3: the shipment 45 left the depot at 3:00"), "\(quote.stderr)")
  }

  struct RunSummaryJSON: Decodable {
    var tasks: Int
    var failed: Int
    var windows: Int
    var reportPath: String?
  }

  /// The trace's lines: each extraction started, with its child's pid.
  static func traced(_ path: String) -> [(file: String, pid: String)] {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
    return text.split(separator: "\n").compactMap { line -> (file: String, pid: String)? in
      let parts = line.split(separator: " ")
      guard let pid = parts.last, parts.count > 1 else { return nil }
      return (parts.dropLast().joined(separator: " "), String(pid))
    }
  }

  static func waitFor(_ what: String, seconds: Double, _ condition: () async throws -> Bool) async throws {
    let deadline = Date().addingTimeInterval(seconds)
    while try await !condition() {
      guard Date() < deadline else { throw SetupPaths.Missing(description: "timed out waiting for \(what)") }
      try await Task.sleep(nanoseconds: 50_000_000)
    }
  }
}
