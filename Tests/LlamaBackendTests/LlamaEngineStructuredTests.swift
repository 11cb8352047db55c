import Foundation
import Inference
import Pipeline
import Segmenter
import Testing
import _LongctxTestSupport

@testable import LlamaBackend

/// Grammar-constrained output and chat templates with the real models
/// (Gemma 3 270M; SmolLM2-135M-Instruct for its chat template). Short outputs only.
@Suite(.serialized) struct LlamaEngineStructuredTests {
  static func smolPath() throws -> String {
    guard let path = ProcessInfo.processInfo.environment["LONGCTX_SMOL_MODEL"], !path.isEmpty,
      FileManager.default.isReadableFile(atPath: path)
    else {
      throw TestFailure("LONGCTX_SMOL_MODEL is not set or missing: run `eval \"$(bash scripts/setup.sh --env)\"`.")
    }
    return path
  }

  /// Representative schemas: nesting, enums, anyOf, optional members, bounded arrays.
  static let schemas = [
    #"{"type":"object","additionalProperties":false,"required":["documents"],"properties":{"documents":{"type":"array","minItems":1,"maxItems":2,"items":{"type":"object","additionalProperties":false,"required":["page","responsive"],"properties":{"page":{"type":"integer"},"responsive":{"enum":["yes","no"]},"why":{"type":["string","null"],"maxLength":30}}}}}}"#,
    #"{"type":"object","properties":{"ok":{"type":"boolean"},"n":{"anyOf":[{"type":"number"},{"const":"none"}]}}}"#,
    #"{"type":"array","maxItems":3,"items":{"type":"string","enum":["a","b\"c","d\\e"]}}"#,
    #"{}"#,
  ]

  static let prompt = """
    Page 1: The vendor must restore service within 4 hours of an outage.
    Page 2: Lunch menu for Friday.

    For each page, say whether it is about outages, as JSON.
    JSON:
    """

  @Test func everyRepresentativeSchemaGivesAGrammarLlamaCppAccepts() throws {
    let model = try LlamaModel(path: try LlamaEngineCheckpointTests.modelPath(), vocabOnly: true)
    for text in Self.schemas {
      let grammar = try JSONSchema(text: text).gbnf
      try LlamaGrammar.check(vocab: model.vocab, grammar: grammar)
    }
  }

  @Test func greedyWithASchemaIsDeterministicAndItsOutputValidates() async throws {
    let engine = try LlamaEngine(
      modelPath: try LlamaEngineCheckpointTests.modelPath(), options: LlamaEngineOptions(contextTokens: 1024))
    let request = GenerationRequest(
      prefix: Self.prompt, suffix: "", maxTokens: 96, jsonSchema: Self.schemas[0],
      schemaGrammar: try JSONSchema(text: Self.schemas[0]).gbnf)
    let first = try await engine.generate(request)
    let second = try await engine.generate(request)
    #expect(first.text == second.text)
    let schema = try JSONSchema(text: Self.schemas[0])
    #expect(schema.firstViolation(inText: first.text) == nil, "\(first.text)")
    // Without the grammar the same model does not answer with this JSON.
    let free = try await engine.generate(GenerationRequest(prefix: Self.prompt, suffix: "", maxTokens: 64))
    #expect(free.text != first.text)
  }

  @Test(arguments: [1, 2, 3])
  func sampledOutputsUnderTheGrammarParseAndValidate(seed: UInt32) async throws {
    let engine = try LlamaEngine(
      modelPath: try LlamaEngineCheckpointTests.modelPath(), options: LlamaEngineOptions(contextTokens: 1024))
    for text in Self.schemas.dropFirst() {
      let request = GenerationRequest(
        prefix: Self.prompt, suffix: "", maxTokens: 48, temperature: 1.0, seed: seed, jsonSchema: text,
        schemaGrammar: try JSONSchema(text: text).gbnf)
      let result = try await engine.generate(request)
      let violation = try JSONSchema(text: text).firstViolation(inText: result.text)
      // A sample may run out of tokens inside a long string; anything complete must validate.
      if let violation, violation.message.contains("max_tokens"), result.outputTokens == 48 { continue }
      #expect(violation == nil, "schema \(text) seed \(seed): \(result.text)")
    }
  }

  @Test func aGrammarThatDoesNotParseIsAPermanentErrorWithLlamaCppsReason() async throws {
    let engine = try LlamaEngine(
      modelPath: try LlamaEngineCheckpointTests.modelPath(), options: LlamaEngineOptions(contextTokens: 512))
    let request = GenerationRequest(prefix: "Hi", suffix: "", maxTokens: 4, grammar: "root ::= \"a\" (")
    do {
      _ = try await engine.generate(request)
      Issue.record("a broken grammar was accepted")
    } catch EngineError.permanent(let message) {
      #expect(message.hasPrefix("llama.cpp rejected the grammar: "), "\(message)")
      #expect(message.contains("error parsing grammar"), "\(message)")
    }
    let undefined = GenerationRequest(prefix: "Hi", suffix: "", maxTokens: 4, grammar: "root ::= other")
    await #expect(throws: EngineError.self) { try await engine.generate(undefined) }
    // The engine still works afterwards.
    let ok = try await engine.generate(
      GenerationRequest(prefix: "Hi", suffix: "", maxTokens: 2, grammar: #"root ::= "yes" | "no""#))
    #expect(["yes", "no"].contains(ok.text))
  }

  @Test func chatFormatUsesTheModelsTemplateAndKeepsThePrefixCacheable() async throws {
    let path = try Self.smolPath()
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let store = CheckpointStore(directory: dir.url)
    let options = LlamaEngineOptions(contextTokens: 1024, checkpointMinTokens: 32, promptFormat: .chat)
    let engine = try LlamaEngine(modelPath: path, options: options, checkpoints: store)
    #expect(engine.modelIdentity.hasSuffix("prompt=chat"))
    let prefix =
      (1...6).map { "Line \($0): the pump in room \($0) was serviced on day \($0 * 3)." }.joined(separator: "\n") + "\n"
    let a = GenerationRequest(prefix: prefix, suffix: "Which room was serviced last?", maxTokens: 8)
    let b = GenerationRequest(prefix: prefix, suffix: "Name one room.", maxTokens: 8)

    let (prefixTokens, suffixTokens) = try engine.promptTokens(a)
    let template = try engine.model.applyChatTemplate(user: a.prefix + a.suffix)
    #expect(template.hasPrefix("<|im_start|>user\n"), "\(template)")
    // The template's markers are special tokens, and the whole layout is the template's text.
    let marker = engine.model.tokenize("<|im_start|>", addSpecial: false, parseSpecial: true)
    #expect(marker.count == 1)
    #expect(prefixTokens.contains(marker[0]))
    #expect(suffixTokens.contains(marker[0]), "the tail opens the assistant turn")
    // Without the template the prompt would be shorter: the markers are really there.
    let raw = engine.model.tokenize(a.prefix, addSpecial: true) + engine.model.tokenize(a.suffix, addSpecial: false)
    #expect(prefixTokens.count + suffixTokens.count > raw.count)

    let first = try await engine.generate(a)
    #expect(first.outputTokens > 0)
    #expect(first.cachedTokens == 0)
    #expect(store.list().map(\.tokens) == [prefixTokens.count])
    let second = try await engine.generate(b)
    #expect(second.cachedTokens == prefixTokens.count, "the templated prefix is restored for another question")
    let again = try await engine.generate(a)
    #expect(again.text == first.text)

    // A base model without a template is refused in chat format.
    #expect(throws: LlamaBackendError.self) {
      try LlamaEngine(modelPath: try LlamaEngineCheckpointTests.modelPath(), options: options)
    }
  }
}
