import Foundation
import Inference

/// Paces requests per endpoint through the workspace's `rate_limit` rows, so the limits
/// hold across every task of this process and every process on the workspace: each
/// request takes its send time in one transaction, then sleeps until it.
public struct SharedPacer: RequestPacer {
  let store: LimitStore
  /// The job's `limits:`; nil: only what servers say (Retry-After, x-ratelimit-*).
  let limits: JobSpec.RateLimits?

  public init(store: LimitStore, limits: JobSpec.RateLimits?) {
    self.store = store
    self.limits = limits
  }

  public func admit(endpoint: String, tokens: Int) async throws {
    let slot = try store.reserveSlot(
      endpoint: endpoint, tokens: tokens, limits: limits, now: Date().timeIntervalSince1970)
    // Short sleeps, so that SIGINT stops a long Retry-After wait at once.
    while true {
      let wait = slot - Date().timeIntervalSince1970
      if wait <= 0 { return }
      if Interrupt.isRequested { throw CancellationError() }
      try await Task.sleep(nanoseconds: UInt64(min(wait, 0.5) * 1e9))
    }
  }

  public func observe(endpoint: String, limits: ServerLimits) throws {
    try store.observe(endpoint: endpoint, limits: limits, now: Date().timeIntervalSince1970)
  }
}
