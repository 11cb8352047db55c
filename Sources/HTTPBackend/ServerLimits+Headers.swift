import Foundation
import Inference

extension ServerLimits {
  /// The limits a response's headers state (names lower-cased, as `HTTPResponse` keeps them).
  public init(headers: [String: String]) {
    self.init(
      remainingRequests: headers["x-ratelimit-remaining-requests"].flatMap {
        Int($0.trimmingCharacters(in: .whitespaces))
      },
      requestsReset: headers["x-ratelimit-reset-requests"].flatMap(Self.duration),
      remainingTokens: headers["x-ratelimit-remaining-tokens"].flatMap { Int($0.trimmingCharacters(in: .whitespaces)) },
      tokensReset: headers["x-ratelimit-reset-tokens"].flatMap(Self.duration),
      retryAfter: headers["retry-after"].flatMap(OpenAIEngine.retryAfterSeconds))
  }

  /// Seconds in a reset value: plain seconds (`20`, `0.5`) or Go's duration form as OpenAI
  /// sends it (`1s`, `6m0s`, `1h2m3.5s`, `120ms`).
  static func duration(_ value: String) -> Double? {
    let text = value.trimmingCharacters(in: .whitespaces)
    if let seconds = Double(text) { return max(0, seconds) }
    let units: [String: Double] = ["h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 1e-6, "µs": 1e-6, "ns": 1e-9]
    var total = 0.0
    var rest = Substring(text)
    while !rest.isEmpty {
      let number = rest.prefix { $0.isNumber || $0 == "." }
      guard !number.isEmpty, let amount = Double(number) else { return nil }
      rest = rest.dropFirst(number.count)
      let unit = rest.prefix { $0.isLetter }
      guard let scale = units[String(unit)] else { return nil }
      rest = rest.dropFirst(unit.count)
      total += amount * scale
    }
    return total
  }
}
