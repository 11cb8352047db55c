import Foundation
import Inference
import Logging
import Pipeline
import Segmenter
import Storage
import Testing
import _LongctxTestSupport

/// Job files with `json_schema`, and the runner validating every output.
@Suite struct StructuredJobTests {
  static let schemaYAML = """
      json_schema:
        type: object
        additionalProperties: false
        required: [summary, count]
        properties:
          summary: {type: string}
          count: {type: integer}
          code: {type: string, enum: ["1", "2"]}
    """

  static func yaml(mapSchema: String = schemaYAML, model: String = "{engine: llama, context: 400}") -> String {
    """
    name: structured
    inputs: [docs]
    model: \(model)
    generation: {max_tokens: 16}
    plan: {collapse_repeats: false}
    map:
      prompt: "{{window}}\\nJSON:"
    \(mapSchema)
    reduce:
      prompt: "{{outputs}}\\nCombined:"
    """
  }

  func problems(_ yaml: String) -> [String] {
    do {
      _ = try JobFile.parse(yaml, path: "j.yaml", baseDirectory: "/tmp")
      return []
    } catch PipelineError.jobInvalid(_, let problems) {
      return problems
    } catch {
      return ["\(error)"]
    }
  }

  // MARK: - Job files

  @Test func aYAMLSchemaBecomesJSONTextWithTypedScalars() throws {
    let spec = try JobFile.parse(Self.yaml(), path: "j.yaml", baseDirectory: "/tmp")
    let text = try #require(spec.map.jsonSchema)
    #expect(
      text
        == #"{"type":"object","additionalProperties":false,"required":["summary","count"],"properties":{"summary":{"type":"string"},"count":{"type":"integer"},"code":{"type":"string","enum":["1","2"]}}}"#
    )
    #expect(spec.reduce.jsonSchema == nil)
  }

  @Test func aJSONStringSchemaIsKeptAsWritten() throws {
    let schema = #"  json_schema: '{"type": "array", "items": {"type": "number"}}'"#
    let spec = try JobFile.parse(Self.yaml(mapSchema: schema), path: "j.yaml", baseDirectory: "/tmp")
    #expect(spec.map.jsonSchema == #"{"type": "array", "items": {"type": "number"}}"#)
  }

  @Test func unsupportedKeywordsAreRejectedWithKeyPathLineAndPointer() {
    let schema = """
        json_schema:
          type: object
          properties:
            name: {type: string, pattern: "^a"}
      """
    let found = problems(Self.yaml(mapSchema: schema))
    #expect(found.count == 1)
    #expect(
      found.first?.hasPrefix(
        "map.json_schema (line 9): at /properties/name/pattern: the keyword 'pattern' is not supported") == true,
      "\(found)")
    let notJSON = problems(Self.yaml(mapSchema: "  json_schema: '{type: object'"))
    #expect(notJSON.first?.contains("the schema is not valid JSON") == true, "\(notJSON)")
  }

  @Test func promptFormatIsRawOrChatAndOnlyForTheEmbeddedEngine() throws {
    let chat = try JobFile.parse(
      Self.yaml(model: "{engine: llama, context: 400, prompt_format: chat}"), path: "j.yaml", baseDirectory: "/tmp")
    #expect(chat.model.promptFormat.rawValue == "chat")
    #expect(chat.promptOverheadTokens > 0)
    #expect(
      problems(Self.yaml(model: "{engine: llama, context: 400, prompt_format: jinja}")).first?.contains(
        "must be 'raw' or 'chat'") == true)
    let server = problems(
      Self.yaml(model: "{engine: openai, base_url: 'http://x/v1', context: 400, prompt_format: chat}"))
    #expect(server.first?.contains("applies to model.engine 'llama' only") == true, "\(server)")
  }

  // MARK: - Running

  /// Answers with the next scripted text for each call, then repeats the last one.
  final class ScriptedEngine: Engine, @unchecked Sendable {
    let name = "scripted"
    let modelIdentity = "scripted-model"
    private let lock = NSLock()
    private var texts: [String]
    /// The answer to requests without a schema, when set.
    private let unstructured: String?
    private(set) var requests: [GenerationRequest] = []

    init(_ texts: [String], unstructured: String? = nil) {
      self.texts = texts
      self.unstructured = unstructured
    }

    var calls: Int { lock.withLock { requests.count } }

    func generate(_ request: GenerationRequest) async throws -> GenerationResult {
      let text = lock.withLock {
        requests.append(request)
        if request.jsonSchema == nil, let unstructured { return unstructured }
        return texts.count > 1 ? texts.removeFirst() : texts[0]
      }
      return GenerationResult(text: text, promptTokens: 10, outputTokens: 5)
    }
  }

  func run(_ engine: ScriptedEngine, files: Int = 1, lines: Int = 8) async throws -> (
    RunSummary, [TaskRecord], Workspace, TemporaryDirectory
  ) {
    let tmp = try TemporaryDirectory()
    for f in 0..<files {
      _ = try tmp.write(
        "docs/f\(f).log",
        (1...lines).map { "2026-03-01T10:00:0\($0)Z INFO event \($0) of \(f)" }.joined(separator: "\n") + "\n")
    }
    let spec = try JobFile.parse(Self.yaml(), path: "j.yaml", baseDirectory: tmp.url.path)
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    let runner = JobRunner(
      workspace: ws, spec: spec, counter: EstimatedTokenCounter(), modelKey: "scripted", logger: Logger(label: "test"),
      settings: RunSettings(retryBaseDelay: 0.001), engineFactory: { engine })
    let summary = try await runner.run()
    return (summary, try TaskStore(workspace: ws).currentTasks(job: "structured"), ws, tmp)
  }

  @Test func anInvalidOutputIsRetriedAndAValidOneKept() async throws {
    let valid = #"{"summary": "ok", "count": 2}"#
    let engine = ScriptedEngine([#"{"summary": "ok"}"#, valid])
    let (summary, tasks, _, tmp) = try await run(engine)
    defer { tmp.remove() }
    #expect(summary.failed == 0)
    #expect(engine.calls == 2, "one invalid attempt, one valid")
    let map = try #require(tasks.first { $0.kind == .map })
    #expect(map.state == .done)
    #expect(map.attempts == 2)
    #expect(map.output == valid)
    #expect(
      engine.requests.allSatisfy { $0.jsonSchema?.contains("\"count\"") == true }, "the engine is given the schema")
  }

  @Test func anOutputThatStaysInvalidFailsTheTaskWithThePathAndKeepsTheRawText() async throws {
    let engine = ScriptedEngine([#"{"summary": "ok", "count": "two"}"#])
    let (summary, tasks, ws, tmp) = try await run(engine, files: 2)
    defer { tmp.remove() }
    let maps = tasks.filter { $0.kind == .map }
    #expect(summary.failed == maps.count)
    #expect(engine.calls == 3 * maps.count, "three attempts per task")
    for map in maps {
      #expect(map.state == .failed)
      #expect(map.attempts == 3)
      #expect(map.error == #"the output does not match map.json_schema: $.count: expected integer, found string "two""#)
      #expect(map.output == #"{"summary": "ok", "count": "two"}"#)
    }
    let md = try ReportWriter(workspace: ws).markdown(job: "structured")
    #expect(md.contains("Raw output (rejected):\n\n```\n{\"summary\": \"ok\", \"count\": \"two\"}\n```"))
    #expect(md.contains("$.count: expected integer"))
  }

  @Test func aReduceWithoutSchemaIsNotValidated() async throws {
    let engine = ScriptedEngine([#"{"summary":"a","count":1}"#], unstructured: "prose")
    let (summary, tasks, _, tmp) = try await run(engine, files: 3, lines: 40)
    defer { tmp.remove() }
    #expect(summary.failed == 0)
    #expect(tasks.filter { $0.kind == .map }.count >= 2)
    let reduce = try #require(tasks.first { $0.kind == .reduce })
    #expect(reduce.output == "prose")
    #expect(tasks.allSatisfy { $0.state == .done })
  }
}
