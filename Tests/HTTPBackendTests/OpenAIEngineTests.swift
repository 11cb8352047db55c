import Foundation
import Inference
import Pipeline
import Testing

@testable import HTTPBackend

/// A scripted transport: answers by URL host, records every request.
final class FakeTransport: @unchecked Sendable {
  typealias Reply = @Sendable (HTTPRequest) throws -> HTTPResponse
  private let lock = NSLock()
  private var replies: [String: [Reply]] = [:]
  private(set) var requests: [HTTPRequest] = []
  private var inFlight = 0
  private(set) var maxInFlight = 0
  var delay: Double = 0

  /// Queues replies for `host`; the last one repeats.
  func on(_ host: String, _ reply: @escaping Reply) { lock.withLock { replies[host, default: []].append(reply) } }

  var transport: HTTPTransport {
    { request in
      let reply: Reply? = self.lock.withLock {
        self.requests.append(request)
        self.inFlight += 1
        self.maxInFlight = max(self.maxInFlight, self.inFlight)
        let host = request.url.host ?? ""
        guard var queue = self.replies[host], !queue.isEmpty else { return nil }
        let first = queue.count > 1 ? queue.removeFirst() : queue[0]
        self.replies[host] = queue
        return first
      }
      if self.delay > 0 { try await Task.sleep(nanoseconds: UInt64(self.delay * 1e9)) }
      defer { self.lock.withLock { self.inFlight -= 1 } }
      guard let reply else { throw URLError(.cannotConnectToHost) }
      return try reply(request)
    }
  }

  func hosts() -> [String] { lock.withLock { requests.map { $0.url.host ?? "" } } }
}

func json(_ status: Int, _ object: [String: Any], headers: [String: String] = [:]) -> HTTPResponse {
  HTTPResponse(status: status, headers: headers, body: (try? JSONSerialization.data(withJSONObject: object)) ?? Data())
}

nonisolated(unsafe) let completion: [String: Any] = [
  "choices": [["text": "hello"]], "usage": ["prompt_tokens": 5, "completion_tokens": 1],
]
let request = GenerationRequest(prefix: "a", suffix: "b", maxTokens: 4)

@Suite struct OpenAIEngineTests {
  func engine(
    _ fake: FakeTransport, urls: [String] = ["http://a/v1"], api: OpenAIAPI = .completions, concurrency: Int? = nil
  )
    async throws -> OpenAIEngine
  {
    try await OpenAIEngine(
      options: OpenAIEngineOptions(
        baseURLs: urls, model: "m", api: api, apiKey: "sk-secret-123", concurrency: concurrency),
      transport: fake.transport, probe: false)
  }

  @Test func succeedsAndSendsBearerKey() async throws {
    let fake = FakeTransport()
    fake.on("a") { _ in json(200, completion) }
    let result = try await engine(fake).generate(request)
    #expect(result.text == "hello" && result.promptTokens == 5 && result.outputTokens == 1)
    #expect(fake.requests.first?.headers["Authorization"] == "Bearer sk-secret-123")
    #expect(fake.requests.first?.url.absoluteString == "http://a/v1/completions")
  }

  @Test func overloadIsTransientWithRetryAfter() async throws {
    let fake = FakeTransport()
    fake.on("a") { _ in json(429, ["error": ["message": "busy"]], headers: ["Retry-After": "7"]) }
    await #expect {
      try await engine(fake).generate(request)
    } throws: { error in
      guard case EngineError.transient(let message, let after) = error else { return false }
      return after == 7 && message.contains("busy")
    }
  }

  @Test func serverErrorFailsOverToTheNextEndpointAndBenchesTheFirst() async throws {
    let fake = FakeTransport()
    fake.on("a") { _ in json(503, ["error": "loading"]) }
    fake.on("b") { _ in json(200, completion) }
    let e = try await engine(fake, urls: ["http://a/v1", "http://b/v1"])
    _ = try await e.generate(request)
    _ = try await e.generate(request)
    #expect(fake.hosts() == ["a", "b", "b"])
  }

  @Test func connectionErrorFailsOver() async throws {
    let fake = FakeTransport()  // nothing answers for host "down"
    fake.on("b") { _ in json(200, completion) }
    let result = try await engine(fake, urls: ["http://down/v1", "http://b/v1"]).generate(request)
    #expect(result.text == "hello")
  }

  @Test func allEndpointsDownIsTransient() async throws {
    let fake = FakeTransport()
    await #expect {
      try await engine(fake, urls: ["http://x/v1", "http://y/v1"]).generate(request)
    } throws: { error in
      if case EngineError.transient(let message, _) = error { return message.contains("cannot reach") }
      return false
    }
  }

  @Test func otherClientErrorsArePermanentWithTheServersMessage() async throws {
    let fake = FakeTransport()
    fake.on("a") { _ in json(400, ["error": ["message": "the request exceeds the available context size"]]) }
    fake.on("b") { _ in json(200, completion) }
    await #expect {
      try await engine(fake, urls: ["http://a/v1", "http://b/v1"]).generate(request)
    } throws: { error in
      if case EngineError.permanent(let message) = error { return message.contains("exceeds the available context") }
      return false
    }
    #expect(fake.hosts() == ["a"])  // a 4xx is not retried elsewhere
  }

  @Test func refusedKeyStopsTheRunWithoutShowingTheKey() async throws {
    let fake = FakeTransport()
    fake.on("a") { _ in json(401, ["error": ["message": "Invalid API Key"]]) }
    await #expect {
      try await engine(fake).generate(request)
    } throws: { error in
      guard case EngineError.unavailable(let message) = error else { return false }
      return !message.contains("sk-secret-123") && !"\(error)".contains("sk-secret-123")
    }
  }

  @Test func chatSendsMessagesAndReadsContent() async throws {
    let fake = FakeTransport()
    fake.on("a") { _ in json(200, ["choices": [["message": ["role": "assistant", "content": "hi"]]]]) }
    let result = try await engine(fake, api: .chat).generate(request)
    #expect(result.text == "hi")
    let body = try #require(fake.requests.first?.body)
    let sent = try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])
    #expect((sent["messages"] as? [[String: String]])?.first?["content"] == "ab")
    #expect(sent["cache_prompt"] == nil)  // llama.cpp extras only after /props says llama.cpp
    #expect(fake.requests.first?.url.path == "/v1/chat/completions")
  }

  @Test func jsonSchemaBecomesResponseFormat() throws {
    var r = request
    r.jsonSchema = #"{"type":"object","properties":{"risk":{"type":"string"}}}"#
    let options = OpenAIEngineOptions(baseURLs: ["http://a/v1"], model: "m")
    let body = OpenAIEngine.body(for: r, options: options, llamaExtras: true)
    let format = try #require(body["response_format"] as? [String: Any])
    #expect(format["type"] as? String == "json_schema")
    #expect(((format["json_schema"] as? [String: Any])?["schema"] as? [String: Any])?["type"] as? String == "object")
    #expect(body["json_schema"] != nil && body["cache_prompt"] as? Bool == true)
    #expect(OpenAIEngine.body(for: request, options: options, llamaExtras: false)["response_format"] == nil)
  }

  @Test func concurrencyLimitHolds() async throws {
    let fake = FakeTransport()
    fake.delay = 0.05
    fake.on("a") { _ in json(200, completion) }
    let e = try await engine(fake, concurrency: 2)
    try await withThrowingTaskGroup(of: Void.self) { group in
      for _ in 0..<8 { group.addTask { _ = try await e.generate(request) } }
      try await group.waitForAll()
    }
    #expect(fake.maxInFlight <= 2 && fake.requests.count == 8)
  }

  @Test func probeReadsLlamaCppContextAndRejectsALargerJob() async throws {
    let fake = FakeTransport()
    fake.on("a") { r in
      r.url.path == "/props"
        ? json(200, ["default_generation_settings": ["n_ctx": 2048], "total_slots": 2]) : json(404, [:])
    }
    let options = OpenAIEngineOptions(baseURLs: ["http://a/v1"], model: "m", contextTokens: 4096)
    await #expect(throws: EngineError.self) { try await OpenAIEngine(options: options, transport: fake.transport) }
    var fits = options
    fits.contextTokens = 2048
    let e = try await OpenAIEngine(options: fits, transport: fake.transport)
    #expect(e.server.isLlamaCpp && e.server.contextTokens == 2048)
  }

  @Test func probeReadsVLLMMaxModelLen() async throws {
    let fake = FakeTransport()
    fake.on("a") { r in
      r.url.path == "/v1/models"
        ? json(200, ["data": [["id": "m", "max_model_len": 8192]]]) : json(404, ["detail": "Not Found"])
    }
    let e = try await OpenAIEngine(
      options: OpenAIEngineOptions(baseURLs: ["http://a/v1"], model: "m", contextTokens: 4096),
      transport: fake.transport)
    #expect(!e.server.isLlamaCpp && e.server.contextTokens == 8192)
  }

  @Test func identityHoldsNeitherKeyNorURL() {
    let options = OpenAIEngineOptions(baseURLs: ["http://user:pw@a/v1"], model: "m", apiKey: "sk-secret-123")
    #expect(OpenAIEngine.identity(options) == "openai:completions:m")
    #expect(OpenAIEngineOptions.redacted("http://user:pw@a:8/v1") == "http://a:8/v1")
  }

  @Test(arguments: [("12", 12.0), (" 0 ", 0.0)])
  func retryAfterSeconds(value: String, seconds: Double) {
    #expect(OpenAIEngine.retryAfterSeconds(value) == seconds)
  }
}

@Suite struct OpenAIJobKeysTests {
  let yaml = """
    name: j
    inputs: [x]
    model:
      engine: openai
      base_url: [http://a:1/v1/, "http://b:2/v1"]
      name: m
      api: chat
      api_key_env: TEST_KEY_VAR
      concurrency: 3
      timeout: 9
      context: 1024
    map: {prompt: "{{window}}"}
    reduce: {prompt: "{{outputs}}"}
    """

  @Test func readsTheServerKeys() throws {
    let spec = try JobFile.parse(yaml, path: "j.yaml", baseDirectory: "/tmp")
    let options = try OpenAIEngineOptions(settings: spec.model, environment: ["TEST_KEY_VAR": "sk-secret-123"])
    #expect(options.baseURLs == ["http://a:1/v1", "http://b:2/v1"])
    #expect(options.api == .chat && options.concurrency == 3 && options.timeout == 9 && options.contextTokens == 1024)
    for text in ["\(options)", String(reflecting: options), "\(spec)"] { #expect(!text.contains("sk-secret-123")) }
    var dumped = ""
    dump(options, to: &dumped)
    #expect(!dumped.contains("sk-secret-123"))
  }

  @Test func missingKeyVariableIsUnavailable() throws {
    let spec = try JobFile.parse(yaml, path: "j.yaml", baseDirectory: "/tmp")
    #expect(throws: EngineError.self) { try OpenAIEngineOptions(settings: spec.model, environment: [:]) }
  }

  @Test func rejectsAnUnknownAPI() {
    let bad = yaml.replacingOccurrences(of: "api: chat", with: "api: responses")
    #expect(throws: PipelineError.self) { try JobFile.parse(bad, path: "j.yaml", baseDirectory: "/tmp") }
  }
}
