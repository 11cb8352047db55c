import Foundation
import Inference
import Logging
import Pipeline
import PostgresNIO

/// The shared tables of rate limits and budgets: the SQLite workspace's `rate_limit` and
/// `budget_call` (`Pipeline.LimitsSchema`), same columns and meaning, times on the
/// database's clock.
public enum LimitLedgerSchema: SharedSchema {
  public static let migrations: [(name: String, statements: [String])] = [
    (
      "pg-v1-limits",
      [
        """
        CREATE TABLE rate_limit (
          endpoint text PRIMARY KEY, next_request_at double precision NOT NULL DEFAULT 0,
          next_token_at double precision NOT NULL DEFAULT 0, blocked_until double precision NOT NULL DEFAULT 0,
          remaining_requests bigint, requests_reset_at double precision, remaining_tokens bigint,
          tokens_reset_at double precision, requests bigint NOT NULL DEFAULT 0, updated_at double precision NOT NULL)
        """,
        """
        CREATE TABLE budget_call (
          id bigserial PRIMARY KEY, job text NOT NULL, task text, owner text NOT NULL, state text NOT NULL,
          reserved_tokens bigint NOT NULL, reserved_cost double precision NOT NULL, prompt_tokens bigint,
          output_tokens bigint, cost double precision, reserved_at double precision NOT NULL,
          settled_at double precision)
        """,
        "CREATE INDEX budget_call_job ON budget_call (job, state)",
      ]
    )
  ]
}

/// `LimitLedger` on PostgreSQL: the pacer's state and the budgets' reservations for
/// every worker on every machine. A send time is taken under the endpoint's row lock,
/// a reservation under a per-job advisory lock (`pg_advisory_xact_lock`), each in one
/// transaction, on the database's clock; every call is retried across a server restart.
public final class PostgresLimitLedger: LimitLedger {
  let database: SharedDatabase
  let logger: Logger
  /// The database's clock, in seconds since 1970.
  private static let now = "extract(epoch from clock_timestamp())::float8"
  /// The first key of the advisory locks that serialize a job's reservations (the second: the job's hash).
  private static let budgetLock = "7316002"

  /// A ledger on `database`, whose limit tables are migrated.
  public init(database: SharedDatabase) async throws {
    try await database.migrate([LimitLedgerSchema.self])
    self.database = database
    self.logger = database.logger
  }

  /// A ledger on the task queue's database (its connections).
  public convenience init(sharing queue: PostgresTaskQueue) async throws {
    try await self.init(database: queue.database)
  }

  // MARK: - Rate limits

  /// Takes the next send time for a request of `tokens` to `endpoint` (`RateLimitState.admit`).
  ///
  /// - Returns: The send time and the time it was taken, both by the database's clock.
  public func reserveSlot(endpoint: String, tokens: Int, limits: JobSpec.RateLimits?) async throws
    -> (slot: Double, now: Double)
  {
    try await database.withRetry("reserveSlot") { client in
      try await client.withTransaction(logger: logger) { connection in
        // The upsert locks the endpoint's row (made if new) until the transaction ends.
        let rows = try await connection.query(
          """
          INSERT INTO rate_limit (endpoint, updated_at) VALUES (\(endpoint), \(unescaped: Self.now))
          ON CONFLICT (endpoint) DO UPDATE SET endpoint = excluded.endpoint
          RETURNING next_request_at, next_token_at, blocked_until, remaining_requests, requests_reset_at,
            remaining_tokens, tokens_reset_at, \(unescaped: Self.now)
          """, logger: logger)
        var state = RateLimitState()
        var now = 0.0
        for try await (request, token, blocked, requestsLeft, requestsReset, tokensLeft, tokensReset, clock)
          in rows.decode((Double, Double, Double, Int?, Double?, Int?, Double?, Double).self)
        {
          state = RateLimitState(
            nextRequestAt: request, nextTokenAt: token, blockedUntil: blocked, remainingRequests: requestsLeft,
            requestsResetAt: requestsReset, remainingTokens: tokensLeft, tokensResetAt: tokensReset)
          now = clock
        }
        let slot = state.admit(tokens: tokens, limits: limits, now: now)
        try await connection.query(
          """
          UPDATE rate_limit SET next_request_at = \(state.nextRequestAt), next_token_at = \(state.nextTokenAt),
            remaining_requests = \(state.remainingRequests), requests_reset_at = \(state.requestsResetAt),
            remaining_tokens = \(state.remainingTokens), tokens_reset_at = \(state.tokensResetAt),
            requests = requests + 1, updated_at = \(now)
          WHERE endpoint = \(endpoint)
          """, logger: logger)
        return (slot, now)
      }
    }
  }

  public func admissionDelay(endpoint: String, tokens: Int, limits: JobSpec.RateLimits?) async throws -> Double {
    let (slot, now) = try await reserveSlot(endpoint: endpoint, tokens: tokens, limits: limits)
    return slot - now
  }

  /// Records what `endpoint` said: a Retry-After blocks it for everyone until then (the
  /// later of two wins); remaining counts and their resets replace the row's.
  public func observe(endpoint: String, limits: ServerLimits) async throws {
    let requestsReset = limits.remainingRequests == nil ? nil : limits.requestsReset ?? 60
    let tokensReset = limits.remainingTokens == nil ? nil : limits.tokensReset ?? 60
    try await database.withRetry("observe") { client in
      try await client.query(
        """
        INSERT INTO rate_limit (endpoint, blocked_until, remaining_requests, requests_reset_at, remaining_tokens,
          tokens_reset_at, updated_at)
        VALUES (\(endpoint), coalesce(\(unescaped: Self.now) + \(limits.retryAfter), 0), \(limits.remainingRequests),
          \(unescaped: Self.now) + \(requestsReset), \(limits.remainingTokens), \(unescaped: Self.now) + \(tokensReset),
          \(unescaped: Self.now))
        ON CONFLICT (endpoint) DO UPDATE SET
          blocked_until = greatest(rate_limit.blocked_until, excluded.blocked_until),
          remaining_requests = coalesce(excluded.remaining_requests, rate_limit.remaining_requests),
          requests_reset_at = coalesce(excluded.requests_reset_at, rate_limit.requests_reset_at),
          remaining_tokens = coalesce(excluded.remaining_tokens, rate_limit.remaining_tokens),
          tokens_reset_at = coalesce(excluded.tokens_reset_at, rate_limit.tokens_reset_at),
          updated_at = excluded.updated_at
        """, logger: logger)
    }
  }

  // MARK: - Budgets

  public func spending(for job: String) async throws -> LimitStore.Spending {
    try await database.withRetry("spending") { client in
      try await client.withConnection { connection in try await Self.spending(connection, job: job, logger: logger) }
    }
  }

  private static func spending(_ connection: PostgresConnection, job: String, logger: Logger) async throws
    -> LimitStore.Spending
  {
    let rows = try await connection.query(
      """
      SELECT
        coalesce(sum(CASE state WHEN 'settled' THEN prompt_tokens + output_tokens ELSE reserved_tokens END), 0)::bigint,
        coalesce(sum(CASE state WHEN 'settled' THEN cost ELSE reserved_cost END), 0)::float8,
        count(*) FILTER (WHERE state = 'reserved'), count(*) FILTER (WHERE state = 'settled')
      FROM budget_call WHERE job = \(job)
      """, logger: logger)
    var spending = LimitStore.Spending()
    for try await (tokens, cost, inFlight, settled) in rows.decode((Int, Double, Int, Int).self) {
      spending = LimitStore.Spending(tokens: tokens, cost: cost, inFlight: inFlight, settled: settled)
    }
    return spending
  }

  public func reserve(job: String, task: String?, owner: String, tokens: Int, cost: Double, budget: JobSpec.Budget)
    async throws -> (id: Int64?, spending: LimitStore.Spending)
  {
    try await database.withRetry("reserve") { client in
      try await client.withTransaction(logger: logger) { connection in
        // One reservation of a job at a time, whichever worker makes it: the sum read next
        // sees every reservation committed before the lock was granted (read committed).
        try await connection.query(
          "SELECT pg_advisory_xact_lock(\(unescaped: Self.budgetLock), hashtext(\(job)))", logger: logger)
        let spent = try await Self.spending(connection, job: job, logger: logger)
        if let limit = budget.tokens, spent.tokens + tokens > limit { return (nil, spent) }
        if let limit = budget.usd, spent.cost + cost > limit { return (nil, spent) }
        let rows = try await connection.query(
          """
          INSERT INTO budget_call (job, task, owner, state, reserved_tokens, reserved_cost, reserved_at)
          VALUES (\(job), \(task), \(owner), 'reserved', \(tokens), \(cost), \(unescaped: Self.now))
          RETURNING id
          """, logger: logger)
        var id: Int64?
        for try await value in rows.decode(Int64.self) { id = value }
        return (id, spent)
      }
    }
  }

  public func settle(_ id: Int64, promptTokens: Int, outputTokens: Int, cost: Double) async throws {
    try await database.withRetry("settle") { client in
      try await client.query(
        """
        UPDATE budget_call SET state = 'settled', prompt_tokens = \(promptTokens), output_tokens = \(outputTokens),
          cost = \(cost), settled_at = \(unescaped: Self.now)
        WHERE id = \(id)
        """, logger: logger)
    }
  }

  public func release(reservation id: Int64) async throws {
    try await database.withRetry("release") { client in
      try await client.query("DELETE FROM budget_call WHERE id = \(id)", logger: logger)
    }
  }
}
