import Foundation
import Yams

extension JobFile {
  /// `production`: Bates `prefix` (not ending in a digit), `start`, `digits`, `dedup`,
  /// `denist`, and `select`, `withhold`, `privilege`, `images`; nil when absent.
  static func production(_ top: Node.Mapping, _ r: inout Reader) -> JobSpec.ProductionSpec? {
    guard let pr = r.mapping(top, "production", required: false) else { return nil }
    r.allow(
      pr, at: "production.",
      keys: ["prefix", "start", "digits", "dedup", "denist", "select", "withhold", "privilege", "images"])
    let prefix = r.string(pr, "prefix", at: "production.", required: true) ?? ""
    if let last = prefix.last, last.isNumber {
      r.problem(
        "production.prefix", pr["prefix"],
        "must not end in a digit ('\(prefix)' followed by a number is ambiguous); add a separator such as '\(prefix)-'"
      )
    }
    let start = r.int(pr, "start", at: "production.") ?? 1
    if start < 0 { r.problem("production.start", pr["start"], "must be 0 or more") }
    let digits = r.int(pr, "digits", at: "production.") ?? 8
    if !(1...15).contains(digits) { r.problem("production.digits", pr["digits"], "must be between 1 and 15") }
    let dedup: JobSpec.ProductionSpec.Dedup? = r.oneOf(pr, "dedup", at: "production.", listed: .plain, default: .global)
    var production = JobSpec.ProductionSpec(
      prefix: prefix, start: start, digits: digits, dedup: dedup ?? .global,
      denist: r.string(pr, "denist", at: "production."))
    production.select = r.string(pr, "select", at: "production.")
    production.withhold = r.string(pr, "withhold", at: "production.")
    production.privilege = r.string(pr, "privilege", at: "production.")
    production.images = r.bool(pr, "images", at: "production.")
    return production
  }

  /// `coding:` read and checked against `map.json_schema`; also made (derived from the
  /// schema) when `production.select` or `.withhold` needs it without a `coding:` section.
  static func coding(
    _ top: Node.Mapping, map: JobSpec.PromptSpec, production: JobSpec.ProductionSpec?, _ r: inout Reader
  ) -> JobSpec.CodingSpec? {
    let c = r.mapping(top, "coding", required: false)
    let uses = [("production.select", production?.select), ("production.withhold", production?.withhold)]
      .filter { $0.1 != nil }
    let productionNode: Node? = top["production"]
    guard c != nil || !uses.isEmpty else { return nil }
    guard let schemaText = map.jsonSchema else {
      let key = c != nil ? "coding" : uses[0].0
      r.problem(
        key, c != nil ? top["coding"] : productionNode,
        "needs map.json_schema: coding is folded from structured map answers, and this job's map has no schema"
          + " (see README, Coding)")
      return nil
    }
    guard let schema = try? JSONSchema(text: schemaText) else { return nil }  // reported under map.json_schema
    var fields: [JobSpec.CodingSpec.Field]?
    if let c {
      r.allow(c, at: "coding.", keys: ["document_field", "fields", "reason"])
      switch c["fields"] {
      case nil: break
      case .mapping(let m)?:
        fields = []
        for (k, v) in m {
          let name = k.string ?? ""
          let ruleText = v.string ?? ""
          guard let rule = JobSpec.CodingSpec.Rule(rawValue: ruleText) else {
            let rules = Reader.alternatives(JobSpec.CodingSpec.Rule.self, .quoted)
            r.problem("coding.fields.\(name)", v, "must be \(rules), not '\(ruleText)'")
            continue
          }
          fields?.append(.init(name: name, rule: rule))
        }
      case _?:
        // A list of names: each with rule any.
        fields = r.stringList(c, "fields", at: "coding.")?.map { .init(name: $0) }
      }
    }
    let resolved = CodingTable.resolve(
      schema: schema, documentField: c.flatMap { r.string($0, "document_field", at: "coding.") }, fields: fields,
      reason: c.flatMap { r.string($0, "reason", at: "coding.") })
    for problem in resolved.problems {
      r.problem(
        problem.key, c?[String(problem.key.dropFirst("coding.".count).prefix { $0 != "." })] ?? top["coding"],
        problem.message)
    }
    guard let spec = resolved.spec else { return nil }
    for (key, value) in uses {
      guard let value, !spec.fields.contains(where: { $0.name == value }) else { continue }
      r.problem(
        key, productionNode,
        "'\(value)' is not a coding field (the coding fields are "
          + spec.fields.map(\.name).joined(separator: ", ") + "; see coding.fields)")
    }
    return spec
  }
}
