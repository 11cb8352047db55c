import Foundation
import Pipeline

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// Settings of an OpenAI-compatible backend.
public struct OpenAIEngineOptions: Sendable {
  /// Base URLs ending in `/v1`; requests rotate over them and fail over.
  public var baseURLs: [String]
  /// The model name sent with each request.
  public var model: String
  /// The API key, read from the environment variable the job names; never stored.
  var apiKey: String?
  /// Seconds before one request times out.
  public var timeout: Double
  /// Seconds an endpoint that failed is left out of the rotation.
  public var benchSeconds: Double

  public init(baseURLs: [String], model: String, apiKey: String? = nil, timeout: Double = 600, benchSeconds: Double = 30) {
    self.baseURLs = baseURLs
    self.model = model
    self.apiKey = apiKey
    self.timeout = timeout
    self.benchSeconds = benchSeconds
  }

  /// Reads the options from a job's `model` section.
  public init(spec: JobSpec) throws {
    let urls = (spec.model.baseURL ?? "").split(separator: ",").map {
      String($0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "/")))
    }
    var key: String?
    if let env = spec.model.apiKeyEnv {
      key = ProcessInfo.processInfo.environment[env]
      if key == nil { throw EngineError.unavailable("the environment variable \(env) named by model.api_key_env is not set") }
    }
    self.init(baseURLs: urls, model: spec.model.name ?? "default", apiKey: key)
  }
}

/// An OpenAI-compatible server (vLLM, SGLang, llama.cpp server, Ollama, hosted APIs)
/// through `/v1/completions`, with failover across endpoints.
public final class OpenAIEngine: Engine, @unchecked Sendable {
  public let options: OpenAIEngineOptions
  public var name: String { "openai-compatible" }
  public var modelIdentity: String { "openai:\(options.model)" }
  private let session: URLSession
  private let lock = NSLock()
  private var next = 0
  private var benchedUntil: [String: Date] = [:]

  public init(options: OpenAIEngineOptions) async throws {
    guard !options.baseURLs.isEmpty else { throw EngineError.unavailable("no base_url given") }
    self.options = options
    let config = URLSessionConfiguration.ephemeral
    config.timeoutIntervalForRequest = options.timeout
    config.timeoutIntervalForResource = options.timeout
    session = URLSession(configuration: config)
  }

  public func generate(_ request: GenerationRequest) async throws -> GenerationResult {
    let endpoint = pickEndpoint()
    var body: [String: Any] = [
      "model": options.model, "prompt": request.prefix + request.suffix, "max_tokens": request.maxTokens,
      "temperature": request.temperature, "seed": Int(request.seed), "stream": false,
      "cache_prompt": true,  // llama.cpp server: reuse the KV of a shared prefix
    ]
    if !request.stop.isEmpty { body["stop"] = request.stop }
    if let grammar = request.grammar { body["grammar"] = grammar }
    var http = URLRequest(url: URL(string: endpoint + "/completions")!)
    http.httpMethod = "POST"
    http.setValue("application/json", forHTTPHeaderField: "Content-Type")
    if let key = options.apiKey { http.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }
    http.httpBody = try JSONSerialization.data(withJSONObject: body)
    let data: Data
    let response: URLResponse
    do {
      (data, response) = try await session.data(for: http)
    } catch {
      bench(endpoint)
      throw EngineError.transient("cannot reach \(endpoint): \(error.localizedDescription)")
    }
    let status = (response as? HTTPURLResponse)?.statusCode ?? 0
    let message = Self.serverMessage(data)
    if status == 429 || status >= 500 {
      bench(endpoint)
      let after = (response as? HTTPURLResponse)?.value(forHTTPHeaderField: "Retry-After").flatMap(Double.init)
      throw EngineError.transient("\(endpoint) answered \(status): \(message)", retryAfter: after)
    }
    guard status == 200 else { throw EngineError.permanent("\(endpoint) answered \(status): \(message)") }
    guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
      let choices = json["choices"] as? [[String: Any]], let text = choices.first?["text"] as? String
    else { throw EngineError.transient("\(endpoint) sent a response without choices[0].text") }
    let usage = json["usage"] as? [String: Any]
    return GenerationResult(
      text: text, promptTokens: usage?["prompt_tokens"] as? Int ?? 0,
      outputTokens: usage?["completion_tokens"] as? Int ?? 0)
  }

  private func pickEndpoint() -> String {
    lock.withLock {
      let now = Date()
      for _ in 0..<options.baseURLs.count {
        let candidate = options.baseURLs[next % options.baseURLs.count]
        next += 1
        if (benchedUntil[candidate] ?? .distantPast) <= now { return candidate }
      }
      // Every endpoint is benched: try the one whose bench ends first.
      return options.baseURLs.min { (benchedUntil[$0] ?? .distantPast) < (benchedUntil[$1] ?? .distantPast) }!
    }
  }

  private func bench(_ endpoint: String) {
    lock.withLock { benchedUntil[endpoint] = Date().addingTimeInterval(options.benchSeconds) }
  }

  static func serverMessage(_ data: Data) -> String {
    if let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
      let error = json["error"] as? [String: Any], let message = error["message"] as? String
    {
      return message
    }
    return String(decoding: data.prefix(300), as: UTF8.self)
  }
}
