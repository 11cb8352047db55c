import Foundation
import Inference
import Logging
import Pipeline
import Storage
import Synchronization
import Testing
import _LongctxTestSupport

@testable import HTTPBackend

/// The rate-limit protocol against a loopback HTTP server this test controls: a 429 with
/// Retry-After holds every worker on the workspace, and `x-ratelimit-*` headers are read.
@Suite struct RetryAfterTests {
  static let ok = #"{"choices":[{"text":"ok"}],"usage":{"prompt_tokens":3,"completion_tokens":1}}"#

  static func reply(_ status: String, _ headers: [String], body: String = "") -> String {
    (["HTTP/1.1 \(status)"] + headers + ["Content-Length: \(body.utf8.count)", "Connection: close", "", body])
      .joined(separator: "\r\n")
  }

  @Test func a429RetryAfterHoldsEveryWorker() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let arrivals = Mutex<[Double]>([])
    let server = try CurlTransportTests.LoopbackServer { _ in
      let n = arrivals.withLock {
        $0.append(Date().timeIntervalSince1970)
        return $0.count
      }
      if n == 1 {
        return Self.reply(
          "429 Too Many Requests", ["Retry-After: 2", "Content-Type: application/json"],
          body: #"{"error":{"message":"slow down"}}"#)
      }
      return Self.reply(
        "200 OK",
        ["Content-Type: application/json", "x-ratelimit-remaining-requests: 99", "x-ratelimit-reset-requests: 6m0s"],
        body: Self.ok)
    }
    let options = OpenAIEngineOptions(baseURLs: ["http://127.0.0.1:\(server.port)/v1"], model: "m")
    // Two workers: each its own engine and its own connection to the workspace's database.
    func worker() async throws -> any Engine {
      let engine = try await OpenAIEngine(options: options, probe: false)
      let store = LimitStore(workspace: try Workspace(root: tmp.url))
      return engine.paced(by: SharedPacer(store: store, limits: nil))
    }
    let a = try await worker()
    let b = try await worker()
    let request = GenerationRequest(prefix: "Say ok", suffix: "", maxTokens: 2)
    let error = await #expect(throws: EngineError.self) { try await a.generate(request) }
    guard case .transient(let message, let after)? = error else {
      Issue.record("expected a transient error, got \(String(describing: error))")
      return
    }
    #expect(after == 2)
    #expect(message.contains("429: slow down"))
    // The other worker, asked at once, sends only when the Retry-After has passed.
    let result = try await b.generate(request)
    #expect(result.text == "ok")
    let times = arrivals.withLock { $0 }
    #expect(times.count == 2)
    #expect(times[1] - times[0] >= 1.95, "sent \(times[1] - times[0]) s after the 429")
  }

  /// Through the job runner: the task whose request got the 429 is retried once the
  /// Retry-After has passed, and the job finishes.
  @Test func theRunnerRetriesAfterTheRetryAfter() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let arrivals = Mutex<[Double]>([])
    let server = try CurlTransportTests.LoopbackServer { _ in
      let n = arrivals.withLock {
        $0.append(Date().timeIntervalSince1970)
        return $0.count
      }
      return n == 1
        ? Self.reply("429 Too Many Requests", ["Retry-After: 1"]) : Self.reply("200 OK", [], body: Self.ok)
    }
    try tmp.write("docs/a.txt", "The quarterly report is due on Friday.\n")
    let spec = try JobFile.parse(
      """
      name: retry
      inputs: [docs]
      model: {engine: openai, base_url: "http://127.0.0.1:\(server.port)/v1", context: 512}
      generation: {max_tokens: 4}
      map: {prompt: "{{window}}"}
      reduce: {prompt: "{{outputs}}"}
      """, path: "retry.yaml", baseDirectory: tmp.url.path)
    let options = try OpenAIEngineOptions(settings: spec.model)
    let runner = JobRunner(
      workspace: try Workspace(root: tmp.url.appendingPathComponent("ws")), spec: spec,
      counter: EstimatedTokenCounter(), modelKey: "m", logger: Logger(label: "test"),
      settings: RunSettings(retryBaseDelay: 0.01)
    ) { try await OpenAIEngine(options: options, probe: false) }
    let summary = try await runner.run()
    #expect(summary.failed == 0 && summary.executed == 1)
    let times = arrivals.withLock { $0 }
    #expect(times.count == 2)
    #expect(times[1] - times[0] >= 0.95, "retried \(times[1] - times[0]) s after the 429")
  }

  @Test func readsRateLimitHeaders() {
    let limits = ServerLimits(headers: [
      "x-ratelimit-remaining-requests": "59", "x-ratelimit-reset-requests": "1s",
      "x-ratelimit-remaining-tokens": "149984", "x-ratelimit-reset-tokens": "6m0.5s", "retry-after": "3",
    ])
    #expect(
      limits
        == ServerLimits(
          remainingRequests: 59, requestsReset: 1, remainingTokens: 149984, tokensReset: 360.5, retryAfter: 3))
    #expect(ServerLimits.duration("120ms") == 0.12)
    #expect(ServerLimits.duration("1h2m3s") == 3723)
    #expect(ServerLimits.duration("soon") == nil)
    #expect(ServerLimits(headers: ["content-type": "application/json"]).isEmpty)
  }
}
