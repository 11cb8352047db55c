import Foundation
import Inference
import Synchronization
import Testing
import _LongctxTestSupport

@testable import HTTPBackend

/// Prefill progress from the real llama-server (scripts/setup.sh's build, the default
/// model): with a listener bound, the engine streams the answer with `return_progress`
/// and hands on each batch's progress, the same `PrefillUpdate`s the embedded engine
/// sends (which `longctx run` prints as tokens done, rate and ETA).
@Suite(.serialized) struct PrefillProgressServerTests {
  /// Records 1…n, one a line (about 28 tokens each).
  static func records(_ n: Int) -> String {
    (1...n).map { i in
      "Record \(i): the shipment of \(i * 37 % 101) crates left dock \(i % 7) on day \(i * 3) with \(i * i % 53) damaged items."
    }.joined(separator: "\n") + "\n"
  }

  @Test func streamsTheProgressOfALongPrefill() async throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let server = try LlamaServer(slots: 1, logDirectory: dir.url)
    // Batches of 256 tokens: a prefill of about 1,700 tokens reports 7 times.
    server.extraArguments = ["-c", "4096", "-b", "256", "-ub", "256"]
    try await server.start()
    defer { server.kill() }
    let engine = try await OpenAIEngine(
      options: OpenAIEngineOptions(baseURLs: [server.baseURL], model: "default", api: .completions))
    #expect(engine.server.isLlamaCpp)
    let request = GenerationRequest(
      prefix: Self.records(60), suffix: "Question: which dock had the most damage?\nAnswer:", maxTokens: 16,
      temperature: 0)

    let updates = Mutex<[PrefillUpdate]>([])
    let receiver = PrefillReceiver { u in updates.withLock { $0.append(u) } }
    let result = try await PrefillProgress.$receiver.withValue(receiver) { try await engine.generate(request) }
    let all = updates.withLock { $0 }
    #expect(result.promptTokens > 1500)
    #expect(all.count >= 6, "one update per 256-token batch and one at the start: \(all.map(\.done))")
    #expect(all.allSatisfy { $0.total == result.promptTokens && $0.cached == 0 })
    #expect(all.first?.done == 0)
    #expect(all.last?.done == result.promptTokens)
    #expect(zip(all, all.dropFirst()).allSatisfy { $0.done < $1.done && $0.seconds <= $1.seconds })
    let middle = all[all.count / 2]
    #expect(middle.rate > 0 && (middle.eta ?? 0) > 0, "\(middle)")
    #expect(result.outputTokens > 0 && !result.text.isEmpty)

    // The streamed answer is the plain one: the same body without streaming, computed afresh.
    var body = OpenAIEngine.body(for: request, options: engine.options, llamaExtras: true)
    body["cache_prompt"] = false
    let response = try CurlTransport.send(
      HTTPRequest(
        method: "POST", url: try #require(URL(string: server.baseURL + "/completions")),
        headers: ["Content-Type": "application/json"],
        body: try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]), timeout: 600))
    let plain = try OpenAIEngine.parseResult(response.body, api: .completions)
    #expect(result.text == request.cuttingLoops(plain.text).text)
    #expect(result.outputTokens == plain.outputTokens && result.promptTokens == plain.promptTokens)

    // Again over the same prompt: the server's prompt cache holds it, and the progress says so.
    updates.withLock { $0 = [] }
    let again = try await PrefillProgress.$receiver.withValue(receiver) { try await engine.generate(request) }
    let cached = updates.withLock { $0 }
    #expect(again.cachedTokens >= result.promptTokens - 1)
    #expect(cached.first?.cached == again.cachedTokens)
    #expect(cached.last?.done == again.promptTokens)
  }

  /// With slot checkpoints, the prefix is prefilled by a request of its own: its progress
  /// is reported too, and the question's request then reports the prefix as cached.
  @Test func reportsThePrefixRequestOfSlotCheckpoints() async throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let slotDir = dir.url.appendingPathComponent("slots")
    try FileManager.default.createDirectory(at: slotDir, withIntermediateDirectories: true)
    let server = try LlamaServer(slots: 1, logDirectory: dir.url)
    server.extraArguments = ["-c", "4096", "-b", "256", "-ub", "256", "--slot-save-path", slotDir.path, "--swa-full"]
    try await server.start()
    defer { server.kill() }
    var options = OpenAIEngineOptions(baseURLs: [server.baseURL], model: "default", api: .completions)
    options.slotSaveDirectory = slotDir.path
    let store = CheckpointStore(directory: dir.url.appendingPathComponent("kv"))
    let engine = try await OpenAIEngine(options: options, checkpoints: store)
    let request = GenerationRequest(
      prefix: Self.records(40), suffix: "Question: which dock had the most damage?\nAnswer:", maxTokens: 8,
      temperature: 0)
    let updates = Mutex<[PrefillUpdate]>([])
    let receiver = PrefillReceiver { u in updates.withLock { $0.append(u) } }
    let result = try await PrefillProgress.$receiver.withValue(receiver) { try await engine.generate(request) }
    let all = updates.withLock { $0 }
    // The prefix request (its own total, from 0), then the question's (the prefix cached).
    let prefix = all.prefix { $0.total < result.promptTokens }
    #expect(prefix.count >= 4, "\(all.map { ($0.done, $0.total, $0.cached) })")
    #expect(prefix.first?.done == 0 && prefix.last?.done == prefix.last?.total)
    let question = all.drop { $0.total < result.promptTokens }
    #expect(question.last?.done == result.promptTokens)
    #expect((question.first?.cached ?? 0) >= (prefix.last?.total ?? .max) - 1)
    #expect(store.list().count == 1, "the primed slot was saved as a checkpoint")
    #expect(!result.text.isEmpty)
  }
}
