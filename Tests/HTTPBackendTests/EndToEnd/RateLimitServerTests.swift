import Foundation
import Inference
import Pipeline
import Storage
import Synchronization
import Testing
import _LongctxTestSupport

@testable import HTTPBackend

/// Rate limits against the real llama-server on loopback: two workers (two engines, each
/// with its own connection to one workspace database), several requests in flight in
/// each, and the time every request leaves measured at the transport.
@Suite(.serialized) struct RateLimitServerTests {
  /// Sends `count` requests through two paced workers; returns the send times, sorted.
  static func sendTimes(limits: JobSpec.RateLimits, count: Int) async throws -> [Double] {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let server = try LlamaServer(slots: 2, logDirectory: tmp.url)
    try await server.start()
    let sends = Mutex<[Double]>([])
    let curl = CurlTransport.make()
    let transport: HTTPTransport = { request in
      if request.url.path.hasSuffix("/completions") { sends.withLock { $0.append(Date().timeIntervalSince1970) } }
      return try await curl(request)
    }
    let options = OpenAIEngineOptions(baseURLs: [server.baseURL], model: "m", concurrency: 4)
    var workers: [any Engine] = []
    for _ in 0..<2 {
      let engine = try await OpenAIEngine(options: options, transport: transport)
      let store = LimitStore(workspace: try Workspace(root: tmp.url.appendingPathComponent("ws")))
      workers.append(engine.paced(by: SharedPacer(store: store, limits: limits)))
    }
    let paced = workers
    try await withThrowingTaskGroup(of: Void.self) { group in
      for i in 0..<count {
        group.addTask {
          let result = try await paced[i % 2].generate(
            GenerationRequest(prefix: "Count: \(i)", suffix: "", maxTokens: 4))
          #expect(result.outputTokens > 0)
        }
      }
      try await group.waitForAll()
    }
    return sends.withLock { $0 }.sorted()
  }

  /// No two requests closer than `interval` (less a scheduling delay), and no k of them
  /// within less than (k - 1) intervals.
  static func check(_ times: [Double], interval: Double, count: Int) {
    #expect(times.count == count)
    let slack = 0.1  // a send may leave late after its slot; the next one is then on time
    for i in times.indices {
      for j in times.indices where j > i {
        let least = Double(j - i) * interval - slack
        #expect(times[j] - times[i] >= least, "requests \(i) and \(j): \(times[j] - times[i]) s apart")
      }
    }
    let span = (times.last ?? 0) - (times.first ?? 0)
    let gaps = zip(times.dropFirst(), times).map { $0 - $1 }
    print("rate limit: \(times.count) requests, smallest gap \(gaps.min() ?? 0) s for \(interval) s, span \(span) s")
    #expect(span < Double(count - 1) * interval + 3, "paced, not stalled: \(span) s")
  }

  @Test func requestsPerMinuteHoldAcrossWorkers() async throws {
    // 150 a minute: one every 0.4 s.
    let times = try await Self.sendTimes(limits: JobSpec.RateLimits(requestsPerMinute: 150), count: 8)
    Self.check(times, interval: 0.4, count: 8)
  }

  @Test func tokensPerMinuteHoldAcrossWorkers() async throws {
    // "Count: N" is 8 bytes, estimated 3 tokens, plus max_tokens 4: 7 tokens; at 840 a minute, one every 0.5 s.
    #expect(OpenAIEngine.paceTokens(["prompt": "Count: 1", "max_tokens": 4]) == 7)
    let times = try await Self.sendTimes(limits: JobSpec.RateLimits(tokensPerMinute: 840), count: 6)
    Self.check(times, interval: 0.5, count: 6)
  }
}
