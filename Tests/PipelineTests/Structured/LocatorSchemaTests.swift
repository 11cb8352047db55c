import Foundation
import Inference
import Logging
import Pipeline
import Storage
import Testing
import _LongctxTestSupport

/// `x-longctx: locator`: a string property restricted, per task, to the task's own locators.
@Suite struct LocatorSchemaTests {
  static let schema = #"""
    {"type":"object","additionalProperties":false,"required":["pages"],"properties":{"pages":{"type":"array",
    "minItems":1,"maxItems":3,"items":{"type":"object","additionalProperties":false,
    "required":["source","responsive","privileged","reason"],"properties":{
    "source":{"type":"string","maxLength":5,"x-longctx":"locator"},"responsive":{"type":"boolean"},
    "privileged":{"type":"boolean"},"reason":{"type":"string","maxLength":40}}}}}}
    """#

  func answer(_ source: String) -> String {
    #"{"pages":[{"source":"\#(source)","responsive":true,"privileged":false,"reason":"r"}]}"#
  }

  @Test func theEnumIsTheTasksOwnLocatorsAndOtherValuesFailValidation() throws {
    let own = ["docs/a.pdf#page=1", "docs/a.pdf#page=2"]
    let text = JSONSchema.restrictingLocators(Self.schema, to: own)
    let schema = try JSONSchema(text: text)
    let source = try #require(schema.objects(havingProperty: "source").first?.properties.first { $0.name == "source" })
    #expect(source.schema.enumValues == own.map(JSONValue.string))
    #expect(source.schema.maxLength == nil, "a locator's length bound is dropped")
    #expect(!text.contains("x-longctx"), "servers get plain JSON Schema")
    #expect(schema.firstViolation(inText: answer(own[1])) == nil)
    let foreign = try #require(schema.firstViolation(inText: answer("docs/b.pdf#page=1")))
    #expect(foreign.path == "$.pages[0].source" && foreign.message.contains("must be one of"), "\(foreign)")
    // The unrestricted schema would have let it through (well, up to its maxLength).
    #expect(try JSONSchema(text: Self.schema).firstViolation(inText: answer("b#1")) == nil)
  }

  @Test func theGrammarAdmitsOnlyThoseLocators() throws {
    let own = ["docs/a.pdf#page=1", "docs/a.pdf#page=2"]
    let gbnf = try JSONSchema(text: JSONSchema.restrictingLocators(Self.schema, to: own)).gbnf
    let rule = try #require(gbnf.split(separator: "\n").first { $0.hasPrefix("root-pages-item-source ::=") })
    #expect(rule == #"root-pages-item-source ::= ("\"docs/a.pdf#page=1\"" | "\"docs/a.pdf#page=2\"") space"#)
    let kv = try #require(gbnf.split(separator: "\n").first { $0.hasPrefix("root-pages-item-source-kv ::=") })
    #expect(kv.hasSuffix("root-pages-item-source"), "the source member uses only that rule: \(kv)")
    // Without the restriction the same member is any string of up to 5 characters.
    let open = try JSONSchema(text: Self.schema).gbnf
    #expect(open.contains(#"root-pages-item-source ::= "\"" char{0,5} "\"" space"#), "\(open)")
  }

  @Test func aLocatorOnANonStringOrWithAnotherValueIsASchemaError() {
    #expect(throws: JSONSchema.SchemaError.self) {
      try JSONSchema(text: #"{"type":"object","properties":{"page":{"type":"integer","x-longctx":"locator"}}}"#)
    }
    do {
      _ = try JSONSchema(text: #"{"properties":{"page":{"type":"integer","x-longctx":"locator"}}}"#)
    } catch {
      #expect(error.pointer == "/properties/page/x-longctx" && error.message.contains("string property only"))
    }
    #expect(throws: JSONSchema.SchemaError.self) {
      try JSONSchema(text: #"{"properties":{"page":{"type":"string","x-longctx":"page"}}}"#)
    }
    #expect(JSONSchema.restrictingLocators(#"{"type":"string"}"#, to: ["a#page=1"]) == #"{"type":"string"}"#)
  }

  /// Answers with the first value of the enum its request's schema gives `source`,
  /// or with `foreign` when set: so each request's enum is what it sees.
  final class LocatorEngine: Engine, @unchecked Sendable {
    let name = "locator"
    let modelIdentity = "locator-model"
    let foreign: String?
    private let lock = NSLock()
    private(set) var schemas: [String] = []
    init(foreign: String? = nil) { self.foreign = foreign }

    func generate(_ request: GenerationRequest) async throws -> GenerationResult {
      let schemaText = request.jsonSchema ?? ""
      lock.withLock { schemas.append(schemaText) }
      let value = try JSONValue(parsing: schemaText)
      guard case .array(let allowed)? = value["properties"]?["pages"]?["items"]?["properties"]?["source"]?["enum"],
        case .string(let first)? = allowed.first
      else { return GenerationResult(text: "{}", promptTokens: 1, outputTokens: 1) }
      let text = #"{"pages":[{"source":"\#(foreign ?? first)","responsive":true,"privileged":false,"reason":"r"}]}"#
      return GenerationResult(text: text, promptTokens: 10, outputTokens: 5)
    }
  }

  func run(_ engine: LocatorEngine) async throws -> ([TaskRecord], TemporaryDirectory) {
    let tmp = try TemporaryDirectory()
    for f in 1...3 { try tmp.write("docs/note\(f).txt", "Note \(f): a short memo about invoices.\n") }
    let yaml = """
      name: bound
      inputs: [docs]
      model: {engine: llama, context: 600}
      generation: {max_tokens: 64}
      map: {prompt: "{{window}}\\nJSON:", per: document, json_schema: '\(Self.schema.replacingOccurrences(of: "\n", with: ""))'}
      reduce: {prompt: "{{outputs}}\\nCombined:"}
      """
    let spec = try JobFile.parse(yaml, path: "bound.yaml", baseDirectory: tmp.url.path)
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    _ = try await JobRunner(
      workspace: ws, spec: spec, counter: EstimatedTokenCounter(), modelKey: "locator", logger: Logger(label: "test"),
      settings: RunSettings(maxAttempts: 2, retryBaseDelay: 0.001), engineFactory: { engine }
    ).run()
    return (try TaskStore(workspace: ws).currentTasks(job: "bound").filter { $0.kind == .map }, tmp)
  }

  @Test func eachMapTaskIsGivenAnEnumOfItsOwnLocators() async throws {
    let engine = LocatorEngine()
    let (maps, tmp) = try await run(engine)
    defer { tmp.remove() }
    #expect(maps.count == 3)
    for map in maps {
      #expect(map.state == .done, "\(map.error ?? "")")
      let output = try JSONValue(parsing: map.output ?? "")
      guard
        case .string(let source)? = output["pages"].flatMap({ v -> JSONValue? in
          if case .array(let list) = v { return list.first?["source"] }
          return nil
        })
      else {
        Issue.record("no source in \(map.output ?? "")")
        continue
      }
      #expect(map.locatorList.contains(source), "\(source) is not one of \(map.locatorList)")
    }
    // Three documents, three different enums.
    #expect(Set(engine.schemas.prefix(3)).count == 3)
  }

  @Test func anAnswerCitingAnotherTasksPageFailsValidation() async throws {
    let (maps, tmp) = try await run(LocatorEngine(foreign: "docs/elsewhere.txt#L1"))
    defer { tmp.remove() }
    #expect(!maps.isEmpty)
    for map in maps {
      #expect(map.state == .failed)
      #expect(map.error?.contains("$.pages[0].source: must be one of") == true, "\(map.error ?? "")")
    }
  }
}
