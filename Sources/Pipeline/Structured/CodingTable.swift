import Foundation
import Ingest

/// Per-document coding folded from a structured job's page-level answers by longctx,
/// without a model.
///
/// An *answer* is any JSON object in a finished map output that has the coding's
/// document field as a string (`{"source": "a.pdf#page=2", "responsive": true, …}`,
/// at any depth, so `{"pages": [{…}, …]}` works). The rules:
/// - an answer counts for the document of its locator (`a.pdf` for `a.pdf#page=2`) only
///   when that locator is one of its task's own (anything else is left out and counted
///   as unbound);
/// - a field with rule `any` is true when any answer about the document says true,
///   false when answers give it and none says true; with rule `all`, true when every
///   answer that gives it says true; blank when no answer gives it;
/// - reasons are kept with the locator of the answer that gave them (a repeat of the
///   same reason for the same page once);
/// - a document of the plan that no answer names is *uncoded*, never "not responsive".
public struct CodingTable: Sendable, Hashable, Codable {
  /// The coding's settings.
  public var spec: JobSpec.CodingSpec
  public var documents: [Row]
  /// Answers left out because their locator was not one of their task's.
  public var unbound: Int
  /// Map tasks that did not finish (their documents may be uncoded for that reason).
  public var unfinishedTasks: Int

  /// One document's coding.
  public struct Row: Sendable, Hashable, Codable {
    /// The document's path as cited.
    public var document: String
    /// Whether any answer names it.
    public var coded: Bool
    /// Each coding field's value, by name; absent when no answer gives it.
    public var values: [String: Bool]
    /// The locators of the answers about it, in answer order, each once.
    public var citations: [String]
    /// Reasons with the locator of their answer.
    public var reasons: [Reason]

    /// `coded` or `uncoded`.
    public var status: String { coded ? "coded" : "uncoded" }

    /// The reasons as one text: `reason [locator]; …`, those of answers where
    /// `field` is true only when `field` is given.
    public func reasonText(where field: String? = nil) -> String {
      reasons.filter { r in field.map { r.trueFields.contains($0) } ?? true }
        .map { "\($0.text) [\($0.locator)]" }.joined(separator: "; ")
    }
  }

  /// A reason and the page it was given for.
  public struct Reason: Sendable, Hashable, Codable {
    public var locator: String
    public var text: String
    /// The coding fields the same answer set true.
    public var trueFields: [String]
  }

  /// One task's part: the locators it read and its output (nil when not done).
  public struct TaskAnswers: Sendable {
    public var locators: [String]
    public var output: String?
    public init(locators: [String], output: String?) {
      self.locators = locators
      self.output = output
    }
  }

  /// Folds `tasks`' answers into one row per document of `documents` (the plan's, in
  /// order); documents answers name that are not in `documents` are not added.
  public static func fold(spec: JobSpec.CodingSpec, documents: [String], tasks: [TaskAnswers]) -> CodingTable {
    var rows: [String: Row] = [:]
    for d in documents where rows[d] == nil {
      rows[d] = Row(document: d, coded: false, values: [:], citations: [], reasons: [])
    }
    var given: [String: [String: [Bool]]] = [:]
    var unbound = 0
    var unfinished = 0
    for task in tasks {
      guard let output = task.output else {
        unfinished += 1
        continue
      }
      guard let value = try? JSONValue(parsing: output) else { continue }
      let own = Set(task.locators)
      for answer in answers(in: value, field: spec.documentField) {
        guard case .string(let locator)? = answer[spec.documentField] else { continue }
        let document = Self.document(of: locator)
        guard own.contains(locator), rows[document] != nil else {
          unbound += 1
          continue
        }
        var row = rows[document]!
        row.coded = true
        if !row.citations.contains(locator) { row.citations.append(locator) }
        var trueFields: [String] = []
        for field in spec.fields {
          guard case .bool(let b)? = answer[field.name] else { continue }
          given[document, default: [:]][field.name, default: []].append(b)
          if b { trueFields.append(field.name) }
        }
        if let reasonField = spec.reason, case .string(let text)? = answer[reasonField],
          !text.trimmingCharacters(in: .whitespaces).isEmpty
        {
          let reason = Reason(locator: locator, text: text, trueFields: trueFields)
          // The same reason for the same page (a model repeating itself) is kept once.
          if !row.reasons.contains(reason) { row.reasons.append(reason) }
        }
        rows[document] = row
      }
    }
    for (document, byField) in given {
      for field in spec.fields {
        guard let values = byField[field.name], !values.isEmpty else { continue }
        rows[document]?.values[field.name] =
          switch field.rule {
          case .any: values.contains(true)
          case .all: !values.contains(false)
          }
      }
    }
    var seen = Set<String>()
    let ordered = documents.filter { seen.insert($0).inserted }.compactMap { rows[$0] }
    return CodingTable(spec: spec, documents: ordered, unbound: unbound, unfinishedTasks: unfinished)
  }

  /// The document a locator belongs to: its path without the page, line or message.
  public static func document(of locator: String) -> String {
    Locator(citation: locator[...])?.path ?? locator
  }

  /// Every object in `value` (itself included, at any depth) with a member `field`.
  static func answers(in value: JSONValue, field: String) -> [JSONValue] {
    switch value {
    case .object(let members):
      if members.contains(where: { $0.key == field }) { return [value] }
      return members.flatMap { answers(in: $0.value, field: field) }
    case .array(let list): return list.flatMap { answers(in: $0, field: field) }
    default: return []
    }
  }

  /// The row of `document`, if it is in the table.
  public func row(_ document: String) -> Row? { documents.first { $0.document == document } }

  // MARK: - Output

  /// The CSV header: document, status, each field, pages, reason.
  public var header: [String] { ["document", "status"] + spec.fields.map(\.name) + ["pages", "reason"] }

  /// The cells of each row, as `header` names them (`true`/`false`, blank when not given).
  public var cells: [[String]] {
    documents.map { row in
      [row.document, row.status] + spec.fields.map { f in row.values[f.name].map { $0 ? "true" : "false" } ?? "" }
        + [row.citations.joined(separator: " "), row.reasonText()]
    }
  }

  /// The table as RFC 4180 CSV (`<job>-coding.csv`).
  public var csv: String {
    ([header] + cells).map { $0.map(ReportCSV.field).joined(separator: ",") }.joined(separator: "\r\n") + "\r\n"
  }

  /// The table as a Markdown section.
  public var markdown: String {
    func cell(_ s: String) -> String {
      s.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }
    var md = "## Coding\n\n"
    let rules = spec.fields.map { "`\($0.name)`: \($0.rule == .any ? "any answer true" : "every answer true")" }
    md +=
      "_Computed by longctx from the map answers (not by the model): each answer counts for the document of its `\(spec.documentField)`, "
      + "\(rules.joined(separator: ", ")); a document no answer names is uncoded._\n\n"
    let coded = documents.filter(\.coded).count
    md += "\(documents.count) documents, \(coded) coded, \(documents.count - coded) uncoded"
    for f in spec.fields { md += "; \(documents.filter { $0.values[f.name] == true }.count) \(f.name)" }
    md += "."
    if unbound > 0 { md += " \(unbound) answers named a page their task did not read and were left out." }
    if unfinishedTasks > 0 { md += " \(unfinishedTasks) map tasks did not finish." }
    md += "\n\n| " + header.joined(separator: " | ") + " |\n|" + String(repeating: "---|", count: header.count) + "\n"
    for row in cells { md += "| " + row.map(cell).joined(separator: " | ") + " |\n" }
    return md + "\n"
  }
}

extension CodingTable {
  /// A problem with a job's coding settings: its key and message.
  public struct Problem: Sendable, Hashable {
    public var key: String
    public var message: String
  }

  /// The coding settings checked against the map schema, the ones not given derived from it:
  /// `documentField` defaults to the one `x-longctx: locator` property, `fields` to every
  /// boolean property beside it (rule `any`), `reason` to a string property named `reason`.
  public static func resolve(
    schema: JSONSchema, documentField: String?, fields: [JobSpec.CodingSpec.Field]?, reason: String?
  ) -> (spec: JobSpec.CodingSpec?, problems: [Problem]) {
    var problems: [Problem] = []
    func names(_ s: JSONSchema) -> String { s.properties.map(\.name).joined(separator: ", ") }
    let field: String
    if let documentField {
      field = documentField
    } else {
      let locators = schema.locatorProperties
      guard locators.count == 1 else {
        let message =
          locators.isEmpty
          ? "is required: map.json_schema has no property declared x-longctx: locator to take it from"
          : "is required: map.json_schema declares several locators (\(locators.joined(separator: ", "))); name one"
        return (nil, [Problem(key: "coding.document_field", message: message)])
      }
      field = locators[0]
    }
    guard let owner = schema.objects(havingProperty: field).first else {
      return (
        nil,
        [
          Problem(
            key: "coding.document_field",
            message: "'\(field)' is not a property of map.json_schema (declare the page an answer judges there,"
              + " as a string with x-longctx: locator)")
        ]
      )
    }
    func property(_ name: String) -> JSONSchema? { owner.properties.first { $0.name == name }?.schema }
    if let s = property(field), s.types != [.string] {
      problems.append(Problem(key: "coding.document_field", message: "'\(field)' must be a string property"))
    }
    let resolvedFields =
      fields
      ?? owner.properties.filter { $0.schema.types == [.boolean] }.map { JobSpec.CodingSpec.Field(name: $0.name) }
    if resolvedFields.isEmpty {
      problems.append(
        Problem(
          key: "coding.fields",
          message: "names no field, and map.json_schema has no boolean property beside '\(field)' to code"))
    }
    for f in resolvedFields {
      guard let s = property(f.name) else {
        problems.append(
          Problem(
            key: "coding.fields.\(f.name)",
            message: "map.json_schema has no property '\(f.name)' beside '\(field)' (it has \(names(owner)))"))
        continue
      }
      if s.types != [.boolean] {
        problems.append(
          Problem(key: "coding.fields.\(f.name)", message: "'\(f.name)' must be a boolean property to be coded"))
      }
    }
    var resolvedReason = reason
    if let reason {
      if property(reason)?.types != [.string] {
        problems.append(
          Problem(
            key: "coding.reason",
            message: "map.json_schema has no string property '\(reason)' beside '\(field)' (it has \(names(owner)))"))
      }
    } else if property("reason")?.types == [.string] {
      resolvedReason = "reason"
    }
    guard problems.isEmpty else { return (nil, problems) }
    return (JobSpec.CodingSpec(documentField: field, fields: resolvedFields, reason: resolvedReason), [])
  }
}
