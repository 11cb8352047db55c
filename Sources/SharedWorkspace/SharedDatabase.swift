import Foundation
import Logging
import PostgresNIO
import Storage
import Synchronization
import _ConnectionPoolModule

/// The PostgreSQL database of a shared workspace: a connection pool, named migrations,
/// and calls that wait out a restart of the server.
///
/// Stores built on it (`PostgresTaskQueue`, and any module's store that keeps shared
/// rows) declare their tables as a `SharedSchema` and go through `withRetry`, so a
/// database restart mid-run makes workers wait and reconnect instead of failing.
public final class SharedDatabase: Sendable {
  /// Where the database is, as given.
  public let location: SharedLocation
  let client: PostgresClient
  let logger: Logger
  /// How long calls keep retrying while the server is unreachable.
  public let reconnectTimeout: Double
  private let runner: Task<Void, Never>
  /// Whether the server was last found unreachable: said once when it goes, once when it is back.
  private let unreachable = Mutex(false)

  /// Connects to `location` (lazily: the first call connects) and migrates `schemas`.
  ///
  /// - Parameters:
  ///   - schemas: The modules whose shared tables this process uses.
  ///   - reconnectTimeout: Seconds a call waits for an unreachable server before it fails.
  /// - Throws: PostgreSQL errors of the migrations, or the last connection error after `reconnectTimeout`.
  public init(
    _ location: SharedLocation, schemas: [any SharedSchema.Type], reconnectTimeout: Double = 300, logger: Logger
  ) async throws {
    self.location = location
    self.logger = logger
    self.reconnectTimeout = reconnectTimeout
    var configuration = location.configuration
    configuration.options.maximumConnections = 8
    configuration.options.connectTimeout = .seconds(5)
    // The pool logs each failed connection attempt at info, again and again while the server
    // is away, and warns when a call comes before its `run()` has started (harmless: the call
    // waits for it); this class says what matters once (`unreachable(_:during:)`), so the
    // pool's own lines are kept for --log-level debug.
    var background = logger
    if background.logLevel > .debug { background.logLevel = .error }
    let client = PostgresClient(configuration: configuration, backgroundLogger: background)
    self.client = client
    runner = Task { await client.run() }
    try await migrate(schemas)
  }

  deinit { runner.cancel() }

  /// Closes the pool.
  public func close() { runner.cancel() }

  /// Runs `body` against the pool, again after a pause while the server is unreachable
  /// (restarting, or the network is down), for up to `reconnectTimeout` seconds.
  @discardableResult
  public func withRetry<T: Sendable>(_ what: String, _ body: (PostgresClient) async throws -> T) async throws -> T {
    let deadline = Date().addingTimeInterval(reconnectTimeout)
    var pause = 0.1
    while true {
      do {
        let value = try await body(client)
        reachable()
        return value
      } catch let error where Self.isTransient(error) && Date() < deadline {
        unreachable(error, during: what)
        try await Task.sleep(nanoseconds: UInt64(pause * 1e9))
        pause = min(pause * 2, 2)
      }
    }
  }

  /// Notes that the server could not be reached: a warning the first time, debug lines after
  /// it until the server is reached again (a worker waiting out a restart says so once, not
  /// once per call and retry).
  func unreachable(_ error: any Error, during what: String) {
    let first = unreachable.withLock { down in
      defer { down = true }
      return !down
    }
    let reason = Self.reason(error)
    if first {
      logger.warning(
        "the database at \(location.server) is unreachable (\(reason)); waiting for it up to \(Int(reconnectTimeout)) s per call"
      )
    } else {
      logger.debug("database still unreachable during \(what): \(reason)")
    }
  }

  /// Notes that the server answered: says so once after it was unreachable.
  func reachable() {
    guard
      unreachable.withLock({ down in
        defer { down = false }
        return down
      })
    else { return }
    logger.notice("the database at \(location.server) is reachable again")
  }

  /// What went wrong, in a few words (the connection error under the client's, e.g. "connection refused").
  static func reason(_ error: any Error) -> String {
    guard let error = error as? PSQLError else { return "\(error)" }
    if let underlying = error.underlying { return "\(underlying)" }
    if let message = error.serverInfo?[.message] { return message }
    return "\(error.code)"
  }

  /// Whether `error` is the server or the connection going away (worth a retry), not a bad statement.
  static func isTransient(_ error: any Error) -> Bool {
    if let transaction = error as? PostgresTransactionError {
      // A transaction is rolled back when any of its steps fails: worth a retry when that step's error is.
      return [transaction.beginError, transaction.closureError, transaction.commitError].contains {
        $0.map(isTransient) ?? false
      }
    }
    if let pool = error as? ConnectionPoolError {
      // After a minute of failed attempts the pool fails every request at once until a
      // connection succeeds again: the server is still away.
      return pool == .connectionCreationCircuitBreakerTripped
    }
    guard let error = error as? PSQLError else { return false }
    if error.code == .server {
      // 08: connection exceptions; 57: operator intervention (shutdown, starting up); 40: serialization, deadlock.
      let state = error.serverInfo?[.sqlState] ?? ""
      return state.hasPrefix("08") || state.hasPrefix("57") || state.hasPrefix("40")
    }
    return [.connectionError, .serverClosedConnection, .uncleanShutdown, .clientClosedConnection].contains(error.code)
  }

  /// Applies the migrations of `schemas` not yet applied, each once, by name, under an advisory lock.
  func migrate(_ schemas: [any SharedSchema.Type]) async throws {
    try await withRetry("migration") { client in
      try await client.withTransaction(logger: logger) { connection in
        // One migrating process at a time (the lock ends with the transaction).
        try await connection.query("SELECT pg_advisory_xact_lock(7316001)", logger: logger)
        try await connection.query(
          "CREATE TABLE IF NOT EXISTS longctx_migration (name text PRIMARY KEY, appliedAt double precision NOT NULL)",
          logger: logger)
        var applied = Set<String>()
        for try await name in try await connection.query("SELECT name FROM longctx_migration", logger: logger)
          .decode(String.self)
        {
          applied.insert(name)
        }
        for schema in schemas {
          for migration in schema.migrations where !applied.contains(migration.name) {
            for statement in migration.statements {
              try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
            try await connection.query(
              "INSERT INTO longctx_migration (name, appliedAt) VALUES (\(migration.name), \(Date().timeIntervalSince1970))",
              logger: logger)
          }
        }
      }
    }
  }
}

/// The shared tables one module owns, as named migrations (the `WorkspaceSchema` of the
/// PostgreSQL workspace): each applied once, never edited after it shipped.
public protocol SharedSchema {
  /// Migrations, oldest first: a unique name and its SQL statements.
  static var migrations: [(name: String, statements: [String])] { get }
}

/// Where a shared workspace lives: `postgres://user[:password]@host[:port]/database`
/// with optional `?store=/shared/dir` (blobs, KV checkpoints and the coordinator's
/// corpus, on a path every worker sees), `host=/socket/dir` (a unix socket) and
/// `sslmode=disable|prefer|require`.
public struct SharedLocation: Sendable {
  /// The URL as given.
  public let url: String
  /// The shared store directory (default `./.longctx`).
  public let store: URL
  /// The server as logs name it: host and port (or socket), never the password.
  public let server: String
  let configuration: PostgresClient.Configuration

  /// Whether `text` names a PostgreSQL workspace rather than a directory.
  public static func isDatabase(_ text: String?) -> Bool {
    guard let text else { return false }
    return text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
  }

  /// Parses `url`.
  ///
  /// - Throws: `SharedWorkspaceError.badLocation` naming what is wrong.
  public init(_ url: String) throws {
    self.url = url
    guard Self.isDatabase(url), let parts = URLComponents(string: url), let host = parts.host else {
      throw SharedWorkspaceError.badLocation(url, "expected postgres://user@host[:port]/database[?store=/shared/dir]")
    }
    let query = Dictionary((parts.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
    let user = parts.user.flatMap { $0.removingPercentEncoding } ?? "postgres"
    let password = parts.password.flatMap { $0.removingPercentEncoding }
    let database = parts.path.isEmpty ? user : String(parts.path.dropFirst())
    let port = parts.port ?? 5432
    store = URL(fileURLWithPath: query["store"] ?? ".longctx", isDirectory: true)
    server = query["host"].flatMap { $0.hasPrefix("/") ? "\($0)/.s.PGSQL.\(port)" : nil } ?? "\(host):\(port)"
    if let socketDirectory = query["host"], socketDirectory.hasPrefix("/") {
      configuration = PostgresClient.Configuration(
        unixSocketPath: "\(socketDirectory)/.s.PGSQL.\(port)", username: user, password: password, database: database)
      return
    }
    let tls: PostgresClient.Configuration.TLS
    switch query["sslmode"] ?? "prefer" {
    case "disable": tls = .disable
    case "require": tls = .require(.makeClientConfiguration())
    case "prefer": tls = .prefer(.makeClientConfiguration())
    case let other: throw SharedWorkspaceError.badLocation(url, "sslmode \(other) is not disable, prefer or require")
    }
    configuration = PostgresClient.Configuration(
      host: host, port: port, username: user, password: password, database: database, tls: tls)
  }
}

/// What goes wrong with a shared workspace.
public enum SharedWorkspaceError: Error, LocalizedError {
  case badLocation(String, String)

  public var errorDescription: String? {
    switch self {
    case .badLocation(let url, let why): return "\(url) is not a PostgreSQL workspace: \(why)"
    }
  }
}
