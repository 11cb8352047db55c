import Foundation

extension JobSpec {
  /// `limits:`: how fast requests may go to each endpoint of an OpenAI-compatible model,
  /// held by every process working on the workspace (see `SharedPacer`).
  public struct RateLimits: Sendable, Hashable, Codable {
    /// Requests per minute per endpoint, spread evenly (60 sends one a second).
    public var requestsPerMinute: Double?
    /// Tokens (prompt estimate and `max_tokens`) per minute per endpoint.
    public var tokensPerMinute: Double?

    public init(requestsPerMinute: Double? = nil, tokensPerMinute: Double? = nil) {
      self.requestsPerMinute = requestsPerMinute
      self.tokensPerMinute = tokensPerMinute
    }
  }

  /// `budget:`: what the job may spend over all its runs, in money (with `pricing:`), in
  /// tokens (prompt and output), or both; reaching either stops the job (see `BudgetLedger`).
  public struct Budget: Sendable, Hashable, Codable {
    /// In the pricing's currency.
    public var usd: Double?
    /// Prompt and output tokens together.
    public var tokens: Int?

    public init(usd: Double? = nil, tokens: Int? = nil) {
      self.usd = usd
      self.tokens = tokens
    }
  }
}

extension JobSpec.Prices {
  /// The cost of `prompt` input and `output` output tokens.
  public func cost(prompt: Int, output: Int) -> Double {
    (Double(prompt) * promptPerMillion + Double(output) * outputPerMillion) / 1_000_000
  }

  /// `amount` as the job file's currency writes it: `$1.2345` for USD, else `1.2345 EUR`.
  public func format(_ amount: Double) -> String {
    let digits = String(format: "%.4f", amount)
    return currency.uppercased() == "USD" ? "$" + digits : "\(digits) \(currency)"
  }
}
