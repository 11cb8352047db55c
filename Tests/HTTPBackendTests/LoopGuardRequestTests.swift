import Foundation
import Inference
import Testing

@testable import HTTPBackend

/// The loop guard over HTTP: llama.cpp's server is sent DRY's settings, other servers
/// nothing they may refuse, and every server's looping output is cut.
@Suite struct LoopGuardRequestTests {
  static let guarded = GenerationRequest(prefix: "a", suffix: "b", maxTokens: 96, loopGuard: .standard)
  static let options = OpenAIEngineOptions(baseURLs: ["http://a/v1"], model: "m")

  @Test func llamaServerGetsDRYOthersNothing() throws {
    let body = OpenAIEngine.body(for: Self.guarded, options: Self.options, llamaExtras: true)
    #expect(body["dry_multiplier"] as? Double == 0.8)
    #expect(body["dry_base"] as? Double == 1.75)
    #expect(body["dry_allowed_length"] as? Int == 2)
    #expect(body["dry_penalty_last_n"] as? Int == 96, "the output's length: the server also shows DRY the prompt")
    #expect(body["dry_sequence_breakers"] as? [String] == ["\n", ":", "\"", "*"])
    let other = OpenAIEngine.body(for: Self.guarded, options: Self.options, llamaExtras: false)
    #expect(other.keys.allSatisfy { !$0.hasPrefix("dry_") })
    var off = Self.guarded
    off.loopGuard = nil
    #expect(OpenAIEngine.body(for: off, options: Self.options, llamaExtras: true)["dry_multiplier"] == nil)
  }

  @Test func aLoopingAnswerIsCutToTwoCopies() async throws {
    let fake = FakeTransport()
    let looped = (1...6).map { "\($0). The service is not available." }.joined(separator: "\n")
    fake.on("a") { _ in
      json(200, ["choices": [["text": looped]], "usage": ["prompt_tokens": 5, "completion_tokens": 60]])
    }
    let engine = try await OpenAIEngine(options: Self.options, transport: fake.transport, probe: false)
    let result = try await engine.generate(Self.guarded)
    #expect(result.text == "1. The service is not available.\n2. The service is not available.")
    var unguarded = Self.guarded
    unguarded.loopGuard = nil
    #expect(try await engine.generate(unguarded).text == looped)
  }
}
