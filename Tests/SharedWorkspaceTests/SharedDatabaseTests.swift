import Foundation
import Logging
import Pipeline
import Synchronization
import Testing
import _ConnectionPoolModule
import _LongctxTestSupport

@testable import SharedWorkspace

/// What a shared workspace says when its server goes away and comes back, on a real PostgreSQL.
@Suite(.serialized, .enabled(if: PostgresServer.unavailable == nil, "PostgreSQL server binaries are absent"))
struct SharedDatabaseTests {
  /// Log lines kept in memory (level and message), from every copy of the handler.
  final class Captured: Sendable {
    let lines = Mutex<[(Logger.Level, String)]>([])
    func lines(at level: Logger.Level) -> [String] { lines.withLock { $0.filter { $0.0 == level }.map(\.1) } }
    func all(containing text: String) -> [(Logger.Level, String)] {
      lines.withLock { $0.filter { $0.1.contains(text) } }
    }
  }

  struct Handler: LogHandler {
    let captured: Captured
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
      get { metadata[key] }
      set { metadata[key] = newValue }
    }
    func log(
      level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String,
      function: String, line: UInt
    ) {
      captured.lines.withLock { $0.append((level, message.description)) }
    }
  }

  @Test func aServerThatGoesAwaySaysSoOnceAndAgainWhenItIsBack() async throws {
    let server = try PostgresServer()
    defer { server.remove() }
    let captured = Captured()
    let logger = Logger(label: "test.pg.logs") { _ in Handler(captured: captured) }
    let queue = try await PostgresTaskQueue.open(try SharedLocation(server.url), logger: logger)
    defer { queue.close() }
    // The listener's connection is up (it rings once when it starts listening).
    let start = queue.mark(.claimable)
    try await queue.wait(for: .claimable, after: start, timeout: 10)
    #expect(try await queue.runningJobs().isEmpty)

    try server.stop()
    // Two calls and the listener wait for the server while it is away (its connections
    // refused), and go on when it is back.
    async let jobs = queue.runningJobs()
    async let status = queue.jobStatus("j")
    try await Task.sleep(nanoseconds: 3_000_000_000)
    try server.start()
    #expect(try await jobs.isEmpty)
    #expect(try await status == nil)
    #expect(try await queue.runningJobs().isEmpty)

    let warnings = captured.lines(at: .warning)
    #expect(warnings.count == 1, "one line for the server going away: \(warnings)")
    #expect(warnings.first?.contains("127.0.0.1:\(server.port) is unreachable") == true, "\(warnings)")
    #expect(captured.lines(at: .info).isEmpty, "no line per connection attempt: \(captured.lines(at: .info).prefix(3))")
    // The listener or a call says it is back, once (whichever reaches it first).
    var notices = captured.lines(at: .notice)
    for _ in 0..<50 where notices.isEmpty {
      try await Task.sleep(nanoseconds: 100_000_000)
      notices = captured.lines(at: .notice)
    }
    #expect(notices.filter { $0.contains("reachable again") }.count == 1, "\(notices)")
  }

  @Test func aPoolThatGaveUpConnectingIsWaitedOutLikeTheServer() {
    // After a minute of failed connection attempts the pool fails requests at once
    // (its circuit breaker) until the server answers again: a call retries those too.
    #expect(SharedDatabase.isTransient(ConnectionPoolError.connectionCreationCircuitBreakerTripped))
    #expect(!SharedDatabase.isTransient(ConnectionPoolError.poolShutdown), "closed here: nothing to wait for")
  }
}
