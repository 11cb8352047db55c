import Foundation

/// What a server's answer said about its rate limits: OpenAI's `x-ratelimit-*`
/// headers (also sent by vLLM, OpenRouter, Groq, Together…) and `Retry-After`.
public struct ServerLimits: Sendable, Hashable {
  /// `x-ratelimit-remaining-requests`: requests left before the limit.
  public var remainingRequests: Int?
  /// `x-ratelimit-reset-requests`: seconds until the request limit resets.
  public var requestsReset: Double?
  /// `x-ratelimit-remaining-tokens`: tokens left before the limit.
  public var remainingTokens: Int?
  /// `x-ratelimit-reset-tokens`: seconds until the token limit resets.
  public var tokensReset: Double?
  /// `Retry-After` on a 429 or 503: seconds before the endpoint takes another request.
  public var retryAfter: Double?

  public init(
    remainingRequests: Int? = nil, requestsReset: Double? = nil, remainingTokens: Int? = nil,
    tokensReset: Double? = nil, retryAfter: Double? = nil
  ) {
    self.remainingRequests = remainingRequests
    self.requestsReset = requestsReset
    self.remainingTokens = remainingTokens
    self.tokensReset = tokensReset
    self.retryAfter = retryAfter
  }

  /// Whether the answer said nothing about limits.
  public var isEmpty: Bool { self == ServerLimits() }
}

/// Paces the requests sent to each endpoint so that every process sharing the
/// pacer's state (the workspace's database) stays within the endpoint's limits.
public protocol RequestPacer: Sendable {
  /// Waits until a request estimated at `tokens` (prompt and most output) may be sent to `endpoint`.
  ///
  /// - Throws: `CancellationError` when the waiting task is cancelled; storage errors.
  func admit(endpoint: String, tokens: Int) async throws
  /// Records what `endpoint`'s answer said about its limits, for every process to honour.
  func observe(endpoint: String, limits: ServerLimits) async throws
}

/// An engine whose requests leave the machine and can be paced per endpoint.
public protocol PacedEngine: Engine {
  /// The same engine (same connections, gate and slots), its requests admitted by `pacer`.
  func paced(by pacer: any RequestPacer) -> any Engine
}
