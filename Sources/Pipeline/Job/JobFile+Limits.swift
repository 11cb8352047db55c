import Foundation
import Inference
import Yams

extension JobFile {
  /// What `limits:`, `pricing:` and `budget:` say, checked against the model and `report.prices`.
  struct HostedSections {
    var limits: JobSpec.RateLimits?
    var prices: JobSpec.Prices?
    var budget: JobSpec.Budget?
  }

  /// Reads `limits:` ({requests_per_minute, tokens_per_minute}: an OpenAI-compatible model's
  /// endpoints only), `pricing:` ({input_per_million, output_per_million, currency}; the older
  /// `report.prices` is its other spelling) and `budget:` ({usd, tokens}; `usd` needs a price).
  static func hostedSections(
    _ top: Node.Mapping, engine: EngineKind?, reportPrices: JobSpec.Prices?, _ r: inout Reader
  ) -> HostedSections {
    var sections = HostedSections(prices: reportPrices)
    if let l = r.mapping(top, "limits", required: false) {
      r.allow(l, at: "limits.", keys: ["requests_per_minute", "tokens_per_minute"])
      let limits = JobSpec.RateLimits(
        requestsPerMinute: r.double(l, "requests_per_minute", at: "limits."),
        tokensPerMinute: r.double(l, "tokens_per_minute", at: "limits."))
      for (key, value) in [
        ("requests_per_minute", limits.requestsPerMinute), ("tokens_per_minute", limits.tokensPerMinute),
      ]
      where value.map({ $0 <= 0 }) == true {
        r.problem("limits.\(key)", l[key], "must be a positive number")
      }
      if engine != .openai {
        r.problem("limits", top["limits"], "applies to model.engine 'openai' (requests sent to a server) only")
      }
      sections.limits = limits
    }
    if let p = r.mapping(top, "pricing", required: false) {
      r.allow(p, at: "pricing.", keys: ["input_per_million", "output_per_million", "currency"])
      let input = r.double(p, "input_per_million", at: "pricing.")
      let output = r.double(p, "output_per_million", at: "pricing.")
      if input == nil && output == nil {
        r.problem("pricing", top["pricing"], "needs input_per_million and/or output_per_million")
      }
      for (key, value) in [("input_per_million", input), ("output_per_million", output)]
      where value.map({ $0 < 0 }) == true {
        r.problem("pricing.\(key)", p[key], "must not be negative")
      }
      if reportPrices != nil {
        r.problem("pricing", top["pricing"], "and report.prices say the same thing; keep pricing: only")
      }
      sections.prices = JobSpec.Prices(
        promptPerMillion: input ?? 0, outputPerMillion: output ?? 0,
        currency: r.string(p, "currency", at: "pricing.") ?? "USD")
    }
    if let b = r.mapping(top, "budget", required: false) {
      r.allow(b, at: "budget.", keys: ["usd", "tokens"])
      let budget = JobSpec.Budget(usd: r.double(b, "usd", at: "budget."), tokens: r.int(b, "tokens", at: "budget."))
      if budget.usd == nil && budget.tokens == nil {
        r.problem("budget", top["budget"], "needs usd or tokens, e.g. budget: {usd: 40}")
      }
      if let usd = budget.usd, usd <= 0 { r.problem("budget.usd", b["usd"], "must be a positive amount") }
      if let tokens = budget.tokens, tokens <= 0 { r.problem("budget.tokens", b["tokens"], "must be positive") }
      if budget.usd != nil && sections.prices == nil {
        r.problem("budget.usd", b["usd"], "needs prices: add pricing: {input_per_million: …, output_per_million: …}")
      }
      sections.budget = budget
    }
    return sections
  }
}
