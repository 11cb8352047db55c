import Foundation

/// One generation: a cacheable prefix (instructions + window) and a suffix.
public struct GenerationRequest: Sendable, Hashable, Codable {
  /// The part shared by requests on the same window; engines may checkpoint it.
  public var prefix: String
  /// The rest of the prompt.
  public var suffix: String
  public var maxTokens: Int
  /// 0 means greedy.
  public var temperature: Double
  public var seed: UInt32
  /// Generation stops before any of these strings.
  public var stop: [String]
  /// A GBNF grammar constraining the output, where the engine supports it.
  public var grammar: String?
  /// A JSON Schema (JSON text) the output must match, where the engine supports it
  /// (OpenAI-compatible servers: `response_format`).
  public var jsonSchema: String?
  /// The GBNF grammar that accepts exactly what `jsonSchema` does, for engines
  /// that constrain by grammar (llama.cpp in process). The request's maker
  /// fills it in (Pipeline owns the schema-to-grammar translation).
  public var schemaGrammar: String?
  /// Guards against loops (DRY and a stop on repeated sentences); nil: none.
  public var loopGuard: LoopGuard?

  public init(
    prefix: String, suffix: String, maxTokens: Int, temperature: Double = 0, seed: UInt32 = 0,
    stop: [String] = [], grammar: String? = nil, jsonSchema: String? = nil, schemaGrammar: String? = nil,
    loopGuard: LoopGuard? = nil
  ) {
    self.prefix = prefix
    self.suffix = suffix
    self.maxTokens = maxTokens
    self.temperature = temperature
    self.seed = seed
    self.stop = stop
    self.grammar = grammar
    self.jsonSchema = jsonSchema
    self.schemaGrammar = schemaGrammar
    self.loopGuard = loopGuard
  }
}

extension GenerationRequest {
  /// Whether the loop guard may cut this request's output: it has one, and no
  /// grammar or schema whose syntax a cut would break.
  public var cutsLoops: Bool { loopGuard != nil && jsonSchema == nil && (grammar ?? "").isEmpty }

  /// `text` cut before its first copy of a sentence past the loop guard's bound
  /// (unchanged without a guard, or under a grammar or schema).
  ///
  /// - Returns: The text, and whether it was cut.
  public func cuttingLoops(_ text: String) -> (text: String, cut: Bool) {
    guard cutsLoops, let loopGuard, let end = loopGuard.cut(text) else { return (text, false) }
    return (String(text[..<end]), true)
  }
}

/// What an engine returns.
public struct GenerationResult: Sendable, Hashable, Codable {
  public var text: String
  public var promptTokens: Int
  public var outputTokens: Int
  /// Prompt tokens restored from a KV checkpoint or cache instead of prefilled.
  public var cachedTokens: Int

  public init(text: String, promptTokens: Int, outputTokens: Int, cachedTokens: Int = 0) {
    self.text = text
    self.promptTokens = promptTokens
    self.outputTokens = outputTokens
    self.cachedTokens = cachedTokens
  }
}

/// Something that generates text: llama.cpp in process, or a server.
public protocol Engine: Sendable {
  /// Names the engine kind, e.g. "llama.cpp b1234".
  var name: String { get }
  /// Model identity: what the outputs depend on (weights, build, settings).
  var modelIdentity: String { get }
  /// Generates a continuation of `request.prefix + request.suffix`.
  ///
  /// - Throws: `EngineError`; `.transient` ones are retried by the scheduler.
  func generate(_ request: GenerationRequest) async throws -> GenerationResult
}

/// Failures of an engine, split by whether retrying can help.
public enum EngineError: Error, LocalizedError {
  /// The engine could not start: missing model, bad server address.
  case unavailable(String)
  /// A failure worth retrying: timeout, overload, connection reset.
  case transient(String, retryAfter: Double? = nil)
  /// A failure retrying will not fix: the prompt is too long, the request is invalid.
  case permanent(String)
  /// The run was interrupted by SIGINT or SIGTERM.
  case interrupted

  public var errorDescription: String? {
    switch self {
    case .unavailable(let m): "The engine is unavailable: \(m)"
    case .transient(let m, _): "The engine failed (will retry): \(m)"
    case .permanent(let m): "The engine rejected the task: \(m)"
    case .interrupted: "Interrupted."
    }
  }
}
