import Foundation
import Inference
import Logging
import Synchronization
import Testing

@testable import HTTPBackend

/// Streamed answers with prefill progress, as llama.cpp's server sends them with
/// `"stream": true, "return_progress": true` (the real server: `PrefillProgressServerTests`).
@Suite struct StreamedCompletionTests {
  /// A completions stream: two progress events, the text in two pieces, the final event.
  static let completionsStream = """
    data: {"choices":[{"text":"","index":0,"finish_reason":null}],"prompt_progress":{"total":600,"cache":0,"processed":0,"time_ms":0}}

    data: {"choices":[{"text":"","index":0,"finish_reason":null}],"prompt_progress":{"total":600,"cache":0,"processed":256,"time_ms":500}}

    data: {"choices":[{"text":"","index":0,"finish_reason":null}],"prompt_progress":{"total":600,"cache":0,"processed":600,"time_ms":1200}}

    data: {"choices":[{"text":" Dock","index":0,"finish_reason":null}]}

    data: {"choices":[{"text":" 3.","index":0,"finish_reason":null}]}

    data: {"choices":[{"text":"","index":0,"finish_reason":"stop"}],"usage":{"completion_tokens":3,"prompt_tokens":600,"total_tokens":603,"prompt_tokens_details":{"cached_tokens":0}},"timings":{"cache_n":0,"prompt_n":600,"predicted_n":3}}

    data: [DONE]


    """

  static let chatStream = """
    data: {"choices":[{"finish_reason":null,"index":0,"delta":{"role":"assistant","content":null}}],"prompt_progress":{"total":40,"cache":30,"processed":40,"time_ms":12.5}}

    data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"Hello"}}]}

    data: {"choices":[{"finish_reason":"stop","index":0,"delta":{}}]}

    data: {"choices":[],"usage":{"completion_tokens":1,"prompt_tokens":40,"total_tokens":41,"prompt_tokens_details":{"cached_tokens":30}},"timings":{"cache_n":30,"prompt_n":10,"predicted_n":1}}

    data: [DONE]


    """

  @Test func parsesTheTextAndUsageOfAStream() throws {
    let body = Data(Self.completionsStream.utf8)
    #expect(StreamedCompletion.isStream(body))
    #expect(!StreamedCompletion.isStream(Data(#"{"choices":[]}"#.utf8)))
    let result = try StreamedCompletion.parseResult(body, api: .completions)
    #expect(result.text == " Dock 3.")
    #expect(result.promptTokens == 600 && result.outputTokens == 3 && result.cachedTokens == 0)
    let chat = try StreamedCompletion.parseResult(Data(Self.chatStream.utf8), api: .chat)
    #expect(chat.text == "Hello")
    #expect(chat.promptTokens == 40 && chat.outputTokens == 1 && chat.cachedTokens == 30)
  }

  @Test func aStreamThatStopsEarlyOrReportsAnErrorIsTransient() {
    let cut = Data(Self.completionsStream.utf8.prefix(400))
    #expect(throws: EngineError.self) { try StreamedCompletion.parseResult(cut, api: .completions) }
    let error = Data("data: {\"error\":{\"code\":500,\"message\":\"slot unavailable\"}}\n\n".utf8)
    #expect {
      try StreamedCompletion.parseResult(error, api: .completions)
    } throws: { error in
      guard case EngineError.transient(let message, _) = error else { return false }
      return message.contains("slot unavailable")
    }
  }

  /// The observer sees the body in arbitrary pieces (here 7 bytes at a time) and
  /// reports each progress event once, in order, as its line completes.
  @Test func observerReportsProgressAsLinesComplete() {
    let updates = Mutex<[PrefillUpdate]>([])
    let observer = StreamedCompletion.observer(sending: PrefillReceiver { u in updates.withLock { $0.append(u) } })
    let bytes = Data(Self.completionsStream.utf8)
    var seen: [Int] = []
    for start in stride(from: 0, to: bytes.count, by: 7) {
      observer.receive(bytes[start..<min(bytes.count, start + 7)])
      seen.append(updates.withLock { $0.count })
    }
    let all = updates.withLock { $0 }
    #expect(all.map(\.done) == [0, 256, 600])
    #expect(all.map(\.total) == [600, 600, 600])
    #expect(all[1].seconds == 0.5 && all[1].rate == 512 && all[1].eta == 344 / 512.0)
    // The first update arrived before the body's end: progress while the answer streams.
    #expect(seen.firstIndex(of: 1).map { $0 < seen.count / 4 } == true)
  }

  /// Against llama.cpp's server, with someone listening, the engine asks for a stream with
  /// progress and hands the progress on; without a listener, or another server, it does not.
  @Test(arguments: [(true, true), (true, false), (false, true)])
  func streamsOnlyForLlamaCppWithAListener(llama: Bool, listening: Bool) async throws {
    let fake = FakeTransport()
    let stream = Self.completionsStream
    fake.on("a") { request in
      let body = (try? JSONSerialization.jsonObject(with: request.body ?? Data()) as? [String: Any]) ?? [:]
      guard body["stream"] as? Bool == true else { return json(200, completion) }
      let bytes = Data(stream.utf8)
      request.observer?.receive(bytes)
      return HTTPResponse(status: 200, headers: ["Content-Type": "text/event-stream"], body: bytes)
    }
    let engine = try OpenAIEngine(
      options: OpenAIEngineOptions(baseURLs: ["http://a/v1"], model: "m", api: .completions),
      transport: fake.transport, server: ServerInfo(isLlamaCpp: llama), checkpoints: nil,
      logger: Logger(label: "test"))
    let updates = Mutex<[PrefillUpdate]>([])
    let receiver = PrefillReceiver { u in updates.withLock { $0.append(u) } }
    let result = try await PrefillProgress.$receiver.withValue(listening ? receiver : nil) {
      try await engine.generate(request)
    }
    let sent = try #require(fake.requests.first?.body)
    let body = try #require(try JSONSerialization.jsonObject(with: sent) as? [String: Any])
    let streamed = llama && listening
    #expect(body["stream"] as? Bool == streamed)
    #expect((body["return_progress"] as? Bool) == (streamed ? true : nil))
    #expect(result.text == (streamed ? " Dock 3." : "hello"))
    #expect(updates.withLock { $0.map(\.done) } == (streamed ? [0, 256, 600] : []))
  }
}
