import Foundation
import Testing
import _LongctxTestSupport

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// End to end: the real CLI against the real llama-server through OpenAIEngine.
@Suite(.serialized) struct OpenAIServerTests {
  static let key = "sk-test-\(UUID().uuidString.lowercased())"

  /// A workspace, six small inputs and a job pointing at `server`.
  struct Fixture {
    let dir: TemporaryDirectory
    let job: String
    let workspace: String
    var report: URL { dir.url.appendingPathComponent("report.md") }

    init(server: LlamaServer, api: String = "completions") throws {
      dir = try TemporaryDirectory()
      try ServerJob.writeServiceLogs(in: dir)
      let yaml = ServerJob.yaml(
        name: "http-e2e", server: server, model: ["api: \(api)", "api_key_env: LONGCTX_TEST_KEY"])
      job = try dir.write("job.yaml", yaml).path
      workspace = dir.url.appendingPathComponent("ws").path
    }

    func longctx(_ args: String...) async throws -> CLI.Result {
      try await ServerJob.longctx(args, workspace: workspace, environment: ["LONGCTX_TEST_KEY": OpenAIServerTests.key])
    }

    /// Fails the test if the API key appears in any file of the fixture (workspace, report, job).
    func expectKeyAbsent(also outputs: [CLI.Result], sourceLocation: SourceLocation = #_sourceLocation) throws {
      let key = Data(OpenAIServerTests.key.utf8)
      let files =
        FileManager.default.enumerator(at: dir.url, includingPropertiesForKeys: nil)?.compactMap { $0 as? URL } ?? []
      for file in files where !file.lastPathComponent.hasPrefix("llama-server-") {
        if let data = try? Data(contentsOf: file) {
          #expect(data.range(of: key) == nil, "the API key was written to \(file.path)", sourceLocation: sourceLocation)
        }
      }
      for o in outputs {
        #expect(
          !o.stdout.contains(OpenAIServerTests.key) && !o.stderr.contains(OpenAIServerTests.key),
          "the API key was printed", sourceLocation: sourceLocation)
      }
    }
  }

  struct Summary: Decodable {
    var tasks: Int
    var executed: Int
    var reused: Int
    var failed: Int
    var windows: Int
    var exactTokens: Bool
  }

  func summary(_ o: CLI.Result) throws -> Summary { try ServerJob.summary(Summary.self, of: o) }

  @Test func runsAJobAndKeepsTheKeySecret() async throws {
    let logs = try TemporaryDirectory()
    defer { logs.remove() }
    let server = try await LlamaServer.started(apiKey: Self.key, logDirectory: logs.url)
    let f = try Fixture(server: server)
    defer { f.dir.remove() }
    let run = try await f.longctx("run", f.job, "--json")
    #expect(run.code == 0, "stderr: \(run.stderr)")
    let s = try summary(run)
    #expect(s.windows >= 3 && s.failed == 0 && s.exactTokens)  // exact: counted by the server's /tokenize
    #expect(s.executed == s.tasks)
    #expect(FileManager.default.fileExists(atPath: f.report.path))
    let again = try summary(try await f.longctx("run", f.job, "--json"))
    #expect(again.executed == 0 && again.reused == again.tasks)
    let status = try await f.longctx("status", f.job, "--json")
    try f.expectKeyAbsent(also: [run, status])
  }

  @Test func chatAPIWithAnInstructModel() async throws {
    guard let smol = ProcessInfo.processInfo.environment["LONGCTX_SMOL_MODEL"],
      FileManager.default.fileExists(atPath: smol)
    else {
      throw HarnessError(
        "LONGCTX_SMOL_MODEL must name SmolLM2-135M-Instruct; run `eval \"$(bash scripts/setup.sh --env)\"` first")
    }
    let logs = try TemporaryDirectory()
    defer { logs.remove() }
    let server = try await LlamaServer.started(apiKey: Self.key, model: smol, logDirectory: logs.url)
    let f = try Fixture(server: server, api: "chat")
    defer { f.dir.remove() }
    let run = try await f.longctx("run", f.job, "--json")
    #expect(run.code == 0, "stderr: \(run.stderr)")
    let s = try summary(run)
    #expect(s.failed == 0 && s.executed == s.tasks && s.windows >= 3)
  }

  @Test func wrongKeyExitsAsEngineUnavailable() async throws {
    let logs = try TemporaryDirectory()
    defer { logs.remove() }
    let server = try await LlamaServer.started(apiKey: "sk-other", logDirectory: logs.url)
    let f = try Fixture(server: server)
    defer { f.dir.remove() }
    let run = try await f.longctx("run", f.job)
    #expect(run.code == 4, "stderr: \(run.stderr)")
    #expect(run.stderr.contains("API key"))
    try f.expectKeyAbsent(also: [run])
  }

  @Test func survivesTheServerDyingMidJob() async throws {
    let logs = try TemporaryDirectory()
    defer { logs.remove() }
    let server = try await LlamaServer.started(apiKey: Self.key, logDirectory: logs.url)
    let f = try Fixture(server: server)
    defer { f.dir.remove() }
    let firstDone = Flag()
    let running = try CLI.launch(
      ["run", f.job, "--workspace", f.workspace], environment: ["LONGCTX_TEST_KEY": Self.key],
      onStderr: { text in if text.contains("map 1/") || text.contains("map 2/") { firstDone.set() } })
    let deadline = Date().addingTimeInterval(60)
    while !firstDone.value && Date() < deadline { try await Task.sleep(nanoseconds: 50_000_000) }
    #expect(firstDone.value, "no map task finished within 60 s")
    server.kill()
    let broken = await running.finish()
    #expect(broken.code != 0, "the run should not succeed without its server")

    let restarted = try await LlamaServer.started(apiKey: Self.key, port: server.port, logDirectory: logs.url)
    let run = try await f.longctx("run", f.job, "--json")
    #expect(run.code == 0, "stderr: \(run.stderr)")
    let s = try summary(run)
    #expect(s.failed == 0 && s.reused >= 1, "done map tasks must be reused after the restart")
    #expect(FileManager.default.fileExists(atPath: f.report.path))
    try f.expectKeyAbsent(also: [broken, run])
  }

  @Test func exportAndImportBatchRoundTrip() async throws {
    let logs = try TemporaryDirectory()
    defer { logs.remove() }
    let server = try await LlamaServer.started(apiKey: Self.key, logDirectory: logs.url)
    let f = try Fixture(server: server)
    defer { f.dir.remove() }
    let requests = f.dir.url.appendingPathComponent("tasks.jsonl")
    let export = try await f.longctx("export-batch", f.job, "-o", requests.path)
    #expect(export.code == 0, "stderr: \(export.stderr)")
    let lines = try String(contentsOf: requests, encoding: .utf8).split(separator: "\n").map(String.init)
    #expect(lines.count >= 3)

    // Play the batch service: send each request to the server, write Batch output lines.
    var results: [String] = []
    for line in lines {
      let item = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
      #expect(item["method"] as? String == "POST" && item["url"] as? String == "/v1/completions")
      var http = URLRequest(url: URL(string: "http://127.0.0.1:\(server.port)\(item["url"] as? String ?? "")")!)
      http.httpMethod = "POST"
      http.setValue("Bearer \(Self.key)", forHTTPHeaderField: "Authorization")
      http.setValue("application/json", forHTTPHeaderField: "Content-Type")
      http.httpBody = try JSONSerialization.data(withJSONObject: item["body"] as Any)
      let (data, response) = try await URLSession.shared.data(for: http)
      #expect((response as? HTTPURLResponse)?.statusCode == 200)
      let body = try JSONSerialization.jsonObject(with: data)
      let out: [String: Any] = [
        "id": "r", "custom_id": item["custom_id"] as Any, "error": NSNull(),
        "response": ["status_code": 200, "request_id": "x", "body": body],
      ]
      results.append(String(decoding: try JSONSerialization.data(withJSONObject: out), as: UTF8.self))
    }

    // Bad files are rejected whole: an unknown id, a duplicate.
    let bad = f.dir.url.appendingPathComponent("bad.jsonl")
    try
      (results[0] + "\n" + results[0] + "\n"
      + #"{"custom_id":"nope","response":{"status_code":200,"body":{}},"error":null}"#)
      .write(to: bad, atomically: true, encoding: .utf8)
    let rejected = try await f.longctx("import-batch", f.job, bad.path)
    #expect(rejected.code == 2)
    #expect(rejected.stderr.contains("repeats custom_id") && rejected.stderr.contains("nope"))

    // A partial file: all results but the last.
    let partial = f.dir.url.appendingPathComponent("results.jsonl")
    try results.dropLast().joined(separator: "\n").write(to: partial, atomically: true, encoding: .utf8)
    let imported = try await f.longctx("import-batch", f.job, partial.path)
    #expect(imported.code == 0, "stderr: \(imported.stderr)")
    #expect(imported.stdout.contains("imported \(results.count - 1) results"))

    let run = try await f.longctx("run", f.job, "--json")
    #expect(run.code == 0, "stderr: \(run.stderr)")
    let s = try summary(run)
    #expect(s.reused == results.count - 1 && s.failed == 0)
    #expect(s.executed == s.tasks - s.reused)  // the missing map task and the reduce
    try f.expectKeyAbsent(also: [export, imported, run])
  }
}

final class Flag: @unchecked Sendable {
  private let lock = NSLock()
  private var _value = false
  var value: Bool { lock.withLock { _value } }
  func set() { lock.withLock { _value = true } }
}
