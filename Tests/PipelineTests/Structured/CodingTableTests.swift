import Foundation
import Pipeline
import Testing

/// Folding page-level answers into per-document coding, and the coding settings' checks.
@Suite struct CodingTableTests {
  static let spec = JobSpec.CodingSpec(
    documentField: "source", fields: [.init(name: "responsive"), .init(name: "privileged")], reason: "reason")

  func page(_ source: String, _ responsive: Bool, _ privileged: Bool, _ reason: String) -> String {
    #"{"source":"\#(source)","responsive":\#(responsive),"privileged":\#(privileged),"reason":"\#(reason)"}"#
  }

  @Test func anyResponsivePageMakesTheDocumentResponsiveAndUnnamedDocumentsAreUncoded() {
    let tasks = [
      CodingTable.TaskAnswers(
        locators: ["a.pdf#page=1", "a.pdf#page=2", "a.pdf#page=3"],
        output: #"{"pages":["#
          + [
            page("a.pdf#page=1", false, false, "cover"), page("a.pdf#page=2", true, false, "outage credits"),
            page("a.pdf#page=3", false, true, "counsel's advice"),
          ].joined(separator: ",") + "]}"),
      CodingTable.TaskAnswers(
        locators: ["b.pdf#page=1"], output: #"{"pages":["# + page("b.pdf#page=1", false, false, "lunch menu") + "]}"),
      // c.pdf's task answered about a page it did not read: left out, so c.pdf stays uncoded.
      CodingTable.TaskAnswers(
        locators: ["c.pdf#page=1"], output: #"{"pages":["# + page("a.pdf#page=1", true, true, "x") + "]}"),
      CodingTable.TaskAnswers(locators: ["d.pdf#page=1"], output: nil),
    ]
    let table = CodingTable.fold(
      spec: Self.spec, documents: ["a.pdf", "b.pdf", "c.pdf", "d.pdf", "e.pdf"], tasks: tasks)
    #expect(table.documents.map(\.document) == ["a.pdf", "b.pdf", "c.pdf", "d.pdf", "e.pdf"])
    let a = table.row("a.pdf")!
    #expect(a.coded && a.values == ["responsive": true, "privileged": true])
    #expect(a.citations == ["a.pdf#page=1", "a.pdf#page=2", "a.pdf#page=3"])
    #expect(a.reasonText(where: "privileged") == "counsel's advice [a.pdf#page=3]")
    #expect(a.reasonText().contains("outage credits [a.pdf#page=2]"))
    let b = table.row("b.pdf")!
    #expect(b.coded && b.values == ["responsive": false, "privileged": false])
    for name in ["c.pdf", "d.pdf", "e.pdf"] {
      let row = table.row(name)!
      #expect(!row.coded && row.values.isEmpty && row.status == "uncoded", "\(name)")
    }
    #expect(table.unbound == 1 && table.unfinishedTasks == 1)
    let csv = table.csv.split(separator: "\r\n")
    #expect(csv[0] == "document,status,responsive,privileged,pages,reason")
    #expect(csv[2] == "b.pdf,coded,false,false,b.pdf#page=1,lunch menu [b.pdf#page=1]")
    #expect(csv[5] == "e.pdf,uncoded,,,,")
  }

  @Test func ruleAllNeedsEveryAnswerAndAMissingFieldStaysBlank() {
    let spec = JobSpec.CodingSpec(
      documentField: "source", fields: [.init(name: "responsive", rule: .all), .init(name: "hot")])
    let out = #"[{"source":"a#page=1","responsive":true},{"source":"a#page=2","responsive":false}]"#
    let table = CodingTable.fold(
      spec: spec, documents: ["a"], tasks: [.init(locators: ["a#page=1", "a#page=2"], output: out)])
    #expect(table.row("a")?.values == ["responsive": false])
    #expect(table.cells[0] == ["a", "coded", "false", "", "a#page=1 a#page=2", ""])
  }

  // MARK: - Job files

  static func job(schema: String, coding: String = "", production: String = "") -> String {
    """
    name: review
    inputs: [docs]
    model: {engine: llama, context: 1024}
    map:
      prompt: "{{window}} JSON:"
    \(schema.isEmpty ? "" : "  json_schema: '\(schema)'")
    reduce: {prompt: "{{outputs}}"}
    \(coding)
    \(production)
    """
  }

  static let schema =
    #"{"type":"array","items":{"type":"object","properties":{"source":{"type":"string","x-longctx":"locator"},"#
    + #""responsive":{"type":"boolean"},"privileged":{"type":"boolean"},"reason":{"type":"string"},"n":{"type":"integer"}}}}"#

  func problems(_ yaml: String) -> [String] {
    do {
      _ = try JobFile.parse(yaml, path: "review.yaml", baseDirectory: "/tmp")
      return []
    } catch PipelineError.jobInvalid(_, let problems) {
      return problems
    } catch {
      return ["\(error)"]
    }
  }

  @Test func codingIsDerivedFromTheSchemaWhenNotSpelledOut() throws {
    let spec = try JobFile.parse(
      Self.job(schema: Self.schema, coding: "coding: {}", production: "production: {prefix: X-, withhold: privileged}"),
      path: "review.yaml", baseDirectory: "/tmp")
    #expect(spec.coding == Self.spec)
    let listed = try JobFile.parse(
      Self.job(schema: Self.schema, coding: "coding: {fields: [privileged], reason: reason}"), path: "r.yaml",
      baseDirectory: "/tmp")
    #expect(listed.coding?.fields == [.init(name: "privileged")])
  }

  @Test func aCodingFieldTheSchemaDoesNotHaveIsNamed() {
    let p = problems(Self.job(schema: Self.schema, coding: "coding: {fields: {responsive: any, hot: any}}"))
    #expect(p.count == 1)
    #expect(p.first?.contains("coding.fields.hot") == true && p.first?.contains("no property 'hot'") == true, "\(p)")
    let typed = problems(Self.job(schema: Self.schema, coding: "coding: {fields: [n]}"))
    #expect(typed.first?.contains("'n' must be a boolean property") == true, "\(typed)")
    let rule = problems(Self.job(schema: Self.schema, coding: "coding: {fields: {responsive: most}}"))
    #expect(rule.first?.contains("coding.fields.responsive") == true && rule.first?.contains("'any' or 'all'") == true)
    let document = problems(Self.job(schema: Self.schema, coding: "coding: {document_field: page}"))
    #expect(document.first?.contains("'page' is not a property of map.json_schema") == true, "\(document)")
    let select = problems(Self.job(schema: Self.schema, production: "production: {prefix: X-, select: hot}"))
    #expect(
      select.first?.contains("production.select") == true
        && select.first?.contains("'hot' is not a coding field") == true,
      "\(select)")
  }

  @Test func selectWithoutASchemaIsAClearError() {
    let p = problems(Self.job(schema: "", production: "production: {prefix: X-, select: responsive}"))
    #expect(p.count == 1)
    #expect(
      p.first?.hasPrefix("production.select") == true && p.first?.contains("needs map.json_schema") == true, "\(p)")
  }

  @Test func aLocatorOnANonStringPropertyIsAJobFileError() {
    let schema = #"{"type":"object","properties":{"page":{"type":"integer","x-longctx":"locator"}}}"#
    let p = problems(Self.job(schema: schema))
    #expect(p.first?.contains("map.json_schema") == true && p.first?.contains("string property only") == true, "\(p)")
    let noLocator = problems(
      Self.job(schema: #"{"type":"object","properties":{"ok":{"type":"boolean"}}}"#, coding: "coding: {}"))
    #expect(noLocator.first?.contains("no property declared x-longctx: locator") == true, "\(noLocator)")
  }
}
