import Foundation
import Inference

/// Paces requests per endpoint through a `LimitLedger` (the workspace's `rate_limit`
/// rows, in SQLite or PostgreSQL), so the limits hold across every task of this process
/// and every process or worker on the workspace: each request takes its send time in
/// one transaction, then sleeps until it.
public struct SharedPacer: RequestPacer {
  let ledger: any LimitLedger
  /// The job's `limits:`; nil: only what servers say (Retry-After, x-ratelimit-*).
  let limits: JobSpec.RateLimits?

  public init(ledger: any LimitLedger, limits: JobSpec.RateLimits?) {
    self.ledger = ledger
    self.limits = limits
  }

  /// A pacer on the workspace's SQLite.
  public init(store: LimitStore, limits: JobSpec.RateLimits?) {
    self.init(ledger: store, limits: limits)
  }

  public func admit(endpoint: String, tokens: Int) async throws {
    let wait = try await ledger.admissionDelay(endpoint: endpoint, tokens: tokens, limits: limits)
    // The ledger's clock may not be this machine's: wait the delay it gave, on this one's.
    let slot = Date().timeIntervalSince1970 + wait
    // Short sleeps, so that SIGINT stops a long Retry-After wait at once.
    while true {
      let wait = slot - Date().timeIntervalSince1970
      if wait <= 0 { return }
      if Interrupt.isRequested { throw CancellationError() }
      try await Task.sleep(nanoseconds: UInt64(min(wait, 0.5) * 1e9))
    }
  }

  public func observe(endpoint: String, limits: ServerLimits) async throws {
    try await ledger.observe(endpoint: endpoint, limits: limits)
  }
}
