import Foundation
import GRDB
import Inference
import Storage

/// The tables that hold rate limits and budgets for every process working on a
/// workspace: a row per endpoint (`rate_limit`) and a row per call paid for
/// (`budget_call`). Plain SQL, so that another database can hold them as they are.
public enum LimitsSchema: WorkspaceSchema {
  public static func registerMigrations(in migrator: inout DatabaseMigrator) {
    migrator.registerMigration("v-limits-1") { db in
      // Times are seconds since 1970. next_request_at / next_token_at: when the next request
      // may go under the configured limits (each request moves them on by its share of a
      // minute); blocked_until: Retry-After; remaining_* / *_reset_at: the server's own
      // x-ratelimit-* view, counted down by each request admitted since.
      try db.execute(
        sql: """
          CREATE TABLE rate_limit (
            endpoint TEXT PRIMARY KEY,
            next_request_at REAL NOT NULL DEFAULT 0,
            next_token_at REAL NOT NULL DEFAULT 0,
            blocked_until REAL NOT NULL DEFAULT 0,
            remaining_requests INTEGER,
            requests_reset_at REAL,
            remaining_tokens INTEGER,
            tokens_reset_at REAL,
            requests INTEGER NOT NULL DEFAULT 0,
            updated_at REAL NOT NULL
          );
          CREATE TABLE budget_call (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            job TEXT NOT NULL,
            task TEXT,
            owner TEXT NOT NULL,
            state TEXT NOT NULL,
            reserved_tokens INTEGER NOT NULL,
            reserved_cost REAL NOT NULL,
            prompt_tokens INTEGER,
            output_tokens INTEGER,
            cost REAL,
            reserved_at REAL NOT NULL,
            settled_at REAL
          );
          CREATE INDEX budget_call_job ON budget_call (job, state);
          """)
    }
  }
}

/// Reads and writes `rate_limit` and `budget_call`, each change one immediate transaction
/// (the check and the write under one lock, whichever process makes them).
public struct LimitStore: Sendable {
  let workspace: Workspace

  public init(workspace: Workspace) { self.workspace = workspace }

  /// Runs `body` in a transaction that takes the write lock before reading.
  private func immediate<T>(_ body: (Database) throws -> T) throws -> T {
    try workspace.db.writeWithoutTransaction { db in
      var value: T?
      try db.inTransaction(.immediate) {
        value = try body(db)
        return .commit
      }
      return value!
    }
  }

  // MARK: - Rate limits

  /// Takes the next send time for a request of `tokens` to `endpoint` (`RateLimitState.admit`)
  /// and moves the endpoint's row on past it.
  ///
  /// - Returns: Seconds since 1970 at which the request may be sent.
  public func reserveSlot(endpoint: String, tokens: Int, limits: JobSpec.RateLimits?, now: Double) throws -> Double {
    try immediate { db in
      let row = try Row.fetchOne(
        db,
        sql: """
          SELECT next_request_at, next_token_at, blocked_until, remaining_requests, requests_reset_at,
            remaining_tokens, tokens_reset_at FROM rate_limit WHERE endpoint = ?
          """, arguments: [endpoint])
      var state = RateLimitState(
        nextRequestAt: row?["next_request_at"] ?? 0, nextTokenAt: row?["next_token_at"] ?? 0,
        blockedUntil: row?["blocked_until"] ?? 0, remainingRequests: row?["remaining_requests"],
        requestsResetAt: row?["requests_reset_at"], remainingTokens: row?["remaining_tokens"],
        tokensResetAt: row?["tokens_reset_at"])
      let slot = state.admit(tokens: tokens, limits: limits, now: now)
      try db.execute(
        sql: """
          INSERT INTO rate_limit (endpoint, next_request_at, next_token_at, blocked_until, remaining_requests,
            requests_reset_at, remaining_tokens, tokens_reset_at, requests, updated_at)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?)
          ON CONFLICT (endpoint) DO UPDATE SET next_request_at = excluded.next_request_at,
            next_token_at = excluded.next_token_at, remaining_requests = excluded.remaining_requests,
            requests_reset_at = excluded.requests_reset_at, remaining_tokens = excluded.remaining_tokens,
            tokens_reset_at = excluded.tokens_reset_at, requests = rate_limit.requests + 1,
            updated_at = excluded.updated_at
          """,
        arguments: [
          endpoint, state.nextRequestAt, state.nextTokenAt, state.blockedUntil, state.remainingRequests,
          state.requestsResetAt, state.remainingTokens, state.tokensResetAt, now,
        ])
      return slot
    }
  }

  /// Records what `endpoint` said about its limits: a Retry-After blocks it for everyone
  /// until then; remaining counts and resets replace the row's.
  public func observe(endpoint: String, limits: ServerLimits, now: Double) throws {
    try immediate { db in
      try db.execute(
        sql: "INSERT INTO rate_limit (endpoint, updated_at) VALUES (?, ?) ON CONFLICT (endpoint) DO NOTHING",
        arguments: [endpoint, now])
      if let after = limits.retryAfter {
        try db.execute(
          sql: "UPDATE rate_limit SET blocked_until = MAX(blocked_until, ?), updated_at = ? WHERE endpoint = ?",
          arguments: [now + after, now, endpoint])
      }
      if let left = limits.remainingRequests {
        try db.execute(
          sql: "UPDATE rate_limit SET remaining_requests = ?, requests_reset_at = ?, updated_at = ? WHERE endpoint = ?",
          arguments: [left, now + (limits.requestsReset ?? 60), now, endpoint])
      }
      if let left = limits.remainingTokens {
        try db.execute(
          sql: "UPDATE rate_limit SET remaining_tokens = ?, tokens_reset_at = ?, updated_at = ? WHERE endpoint = ?",
          arguments: [left, now + (limits.tokensReset ?? 60), now, endpoint])
      }
    }
  }

  /// When `endpoint` may next be sent a request because of a Retry-After (0: not blocked).
  public func blockedUntil(endpoint: String) throws -> Double {
    try workspace.db.read { db in
      try Double.fetchOne(db, sql: "SELECT blocked_until FROM rate_limit WHERE endpoint = ?", arguments: [endpoint])
    } ?? 0
  }

  // MARK: - Budgets

  /// What a job has spent: settled calls at their cost, calls in flight (or whose process
  /// died before settling: they may have been billed) at what they reserved.
  public struct Spending: Sendable, Hashable, Codable {
    public var tokens = 0
    public var cost = 0.0
    /// Calls reserved and not yet settled.
    public var inFlight = 0
    /// Calls settled.
    public var settled = 0

    public init(tokens: Int = 0, cost: Double = 0, inFlight: Int = 0, settled: Int = 0) {
      self.tokens = tokens
      self.cost = cost
      self.inFlight = inFlight
      self.settled = settled
    }
  }

  /// `job`'s spending so far.
  public func spending(job: String) throws -> Spending {
    try workspace.db.read { db in try Self.spending(db, job: job) }
  }

  private static func spending(_ db: Database, job: String) throws -> Spending {
    let row = try Row.fetchOne(
      db,
      sql: """
        SELECT
          COALESCE(SUM(CASE state WHEN 'settled' THEN prompt_tokens + output_tokens ELSE reserved_tokens END), 0) AS tokens,
          COALESCE(SUM(CASE state WHEN 'settled' THEN cost ELSE reserved_cost END), 0.0) AS cost,
          COALESCE(SUM(CASE state WHEN 'reserved' THEN 1 ELSE 0 END), 0) AS inflight,
          COALESCE(SUM(CASE state WHEN 'settled' THEN 1 ELSE 0 END), 0) AS settled
        FROM budget_call WHERE job = ?
        """, arguments: [job])
    return Spending(
      tokens: row?["tokens"] ?? 0, cost: row?["cost"] ?? 0, inFlight: row?["inflight"] ?? 0,
      settled: row?["settled"] ?? 0)
  }

  /// Reserves a call of at most `tokens` costing at most `cost` against `budget`.
  ///
  /// - Returns: The reservation's id, or nil (nothing written) when the call could take
  ///   `job` past its budget, with what was spent.
  public func reserve(
    job: String, task: String?, owner: String, tokens: Int, cost: Double, budget: JobSpec.Budget, now: Double
  ) throws -> (id: Int64?, spending: Spending) {
    try immediate { db in
      let spent = try Self.spending(db, job: job)
      if let limit = budget.tokens, spent.tokens + tokens > limit { return (nil, spent) }
      if let limit = budget.usd, spent.cost + cost > limit { return (nil, spent) }
      try db.execute(
        sql: """
          INSERT INTO budget_call (job, task, owner, state, reserved_tokens, reserved_cost, reserved_at)
          VALUES (?, ?, ?, 'reserved', ?, ?, ?)
          """, arguments: [job, task, owner, tokens, cost, now])
      return (db.lastInsertedRowID, spent)
    }
  }

  /// Replaces reservation `id` by what the call used.
  public func settle(_ id: Int64, promptTokens: Int, outputTokens: Int, cost: Double, now: Double) throws {
    try immediate { db in
      try db.execute(
        sql: """
          UPDATE budget_call SET state = 'settled', prompt_tokens = ?, output_tokens = ?, cost = ?, settled_at = ?
          WHERE id = ?
          """, arguments: [promptTokens, outputTokens, cost, now, id])
    }
  }

  /// Drops reservation `id`: the call got no answer to pay for (refused, failed, interrupted).
  public func release(_ id: Int64) throws {
    try immediate { db in try db.execute(sql: "DELETE FROM budget_call WHERE id = ?", arguments: [id]) }
  }
}
