import Foundation
import Inference

/// Which OpenAI endpoint generations go to (Inference's `CompletionAPI`).
public typealias OpenAIAPI = CompletionAPI

/// Settings of an OpenAI-compatible backend.
public struct OpenAIEngineOptions: Sendable {
  /// Base URLs, usually ending in `/v1`; requests rotate over them and fail over.
  public var baseURLs: [String]
  /// The model name sent with each request.
  public var model: String
  /// Completions or chat completions.
  public var api: OpenAIAPI
  /// The API key, read from the environment variable the job names; never stored or printed.
  var apiKey: String?
  /// Seconds before one request times out.
  public var timeout: Double
  /// Seconds an endpoint that failed is left out of the rotation.
  public var benchSeconds: Double
  /// Requests in flight at once across all endpoints; nil means no limit.
  public var concurrency: Int?
  /// The job's context size, checked against the server's where it reports one.
  public var contextTokens: Int?
  /// llama.cpp server: its `--slot-save-path` as this machine sees it. Set, slot states are
  /// saved into and restored from the KV checkpoint store the engine is given.
  public var slotSaveDirectory: String?
  /// Prefixes shorter than this many tokens are not checkpointed (not worth a save).
  public var slotMinimumTokens = 256

  /// Creates options; `apiKey` stays inside the engine and is only sent as a bearer token.
  public init(
    baseURLs: [String], model: String, api: OpenAIAPI = .completions, apiKey: String? = nil,
    timeout: Double = 600, benchSeconds: Double = 30, concurrency: Int? = nil, contextTokens: Int? = nil
  ) {
    self.baseURLs = baseURLs.map(Self.normalize).filter { !$0.isEmpty }
    self.model = model
    self.api = api
    self.apiKey = apiKey
    self.timeout = timeout
    self.benchSeconds = benchSeconds
    self.concurrency = concurrency
    self.contextTokens = contextTokens
  }

  /// Reads the options from a job's `model` section and the environment.
  ///
  /// - Throws: `EngineError.unavailable` when the API key variable the job names is unset.
  public init(settings: ModelSettings, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
    var key: String?
    if let env = settings.apiKeyEnv {
      key = environment[env]
      if key == nil || key == "" {
        throw EngineError.unavailable("the environment variable \(env) named by model.api_key_env is not set")
      }
    }
    self.init(
      baseURLs: settings.baseURLs, model: settings.name ?? "default", api: settings.api,
      apiKey: key, timeout: settings.timeout ?? 600, concurrency: settings.concurrency,
      contextTokens: settings.context)
    slotSaveDirectory = settings.slotSavePath
  }

  /// Whether an API key is configured (the key itself is not exposed).
  public var hasAPIKey: Bool { apiKey != nil }

  /// The request headers, with the key as a bearer token.
  var headers: [String: String] {
    var h = ["Content-Type": "application/json"]
    if let apiKey { h["Authorization"] = "Bearer \(apiKey)" }
    return h
  }

  /// Trims spaces and trailing slashes.
  static func normalize(_ url: String) -> String {
    var s = url.trimmingCharacters(in: .whitespacesAndNewlines)
    while s.hasSuffix("/") { s.removeLast() }
    return s
  }

  /// The server root of a base URL (without a trailing `/v1`), where llama.cpp and vLLM
  /// serve `/tokenize` and llama.cpp serves `/props`.
  static func root(of base: String) -> String {
    base.hasSuffix("/v1") ? String(base.dropLast(3)) : base
  }

  /// A base URL safe to print: user info and query removed.
  static func redacted(_ base: String) -> String {
    guard var parts = URLComponents(string: base) else { return "(invalid URL)" }
    parts.user = nil
    parts.password = nil
    parts.query = nil
    return parts.string ?? "(invalid URL)"
  }
}

extension OpenAIEngineOptions: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
  /// The settings with the URLs redacted and the key left out, safe for logs.
  public var description: String {
    "OpenAIEngineOptions(baseURLs: \(baseURLs.map(Self.redacted)), model: \(model), api: \(api.rawValue), apiKey: \(apiKey == nil ? "none" : "(set)"), timeout: \(timeout), concurrency: \(concurrency.map(String.init) ?? "unlimited"))"
  }

  /// Same as `description`: the key never appears in `debugPrint` or `dump`.
  public var debugDescription: String { description }

  /// A mirror without the key.
  public var customMirror: Mirror {
    Mirror(
      self,
      children: [
        "baseURLs": baseURLs.map(Self.redacted), "model": model, "api": api.rawValue,
        "hasAPIKey": hasAPIKey, "timeout": timeout, "concurrency": concurrency as Any,
      ])
  }
}
