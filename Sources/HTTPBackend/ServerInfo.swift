import Foundation
import Inference
import Storage

/// What an OpenAI-compatible server says about itself.
public struct ServerInfo: Sendable, Hashable {
  /// Whether it is llama.cpp's server (answers `/props`), which takes `cache_prompt` and `grammar`.
  public var isLlamaCpp = false
  /// Tokens one request may use: llama.cpp's per-slot `n_ctx`, or vLLM's `max_model_len`.
  public var contextTokens: Int?
  /// llama.cpp: the number of slots (`-np`).
  public var totalSlots: Int?
  /// llama.cpp: the model file as the server sees it, its quantization and the server build.
  public var modelPath: String?
  public var modelType: String?
  public var buildInfo: String?

  /// Creates a description; nil fields are unknown.
  public init(
    isLlamaCpp: Bool = false, contextTokens: Int? = nil, totalSlots: Int? = nil, modelPath: String? = nil,
    modelType: String? = nil, buildInfo: String? = nil
  ) {
    self.isLlamaCpp = isLlamaCpp
    self.contextTokens = contextTokens
    self.totalSlots = totalSlots
    self.modelPath = modelPath
    self.modelType = modelType
    self.buildInfo = buildInfo
  }

  /// What a llama.cpp server's saved slot state depends on: the model file (with its size
  /// and modification time when this machine can see it), its quantization and the
  /// server build. Nil for other servers.
  public var slotStateIdentity: String? {
    guard isLlamaCpp, let modelPath else { return nil }
    var file = ""
    if let attributes = try? FileManager.default.attributesOfItem(atPath: modelPath) {
      let size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
      let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
      file = ":size=\(size):mtime=\(Int(modified))"
    }
    return "llama-server:\(modelPath)\(file):\(modelType ?? "?"):build=\(buildInfo ?? "?")"
  }

  /// Asks the endpoints, in order, until one answers: llama.cpp's `/props`, else `/v1/models`.
  ///
  /// - Throws: `EngineError.unavailable` when none answers or the API key is refused.
  static func probe(options: OpenAIEngineOptions, transport: HTTPTransport) async throws -> ServerInfo {
    var failures: [String] = []
    let timeout = min(options.timeout, 15)
    for base in options.baseURLs {
      let place = OpenAIEngineOptions.redacted(base)
      do {
        let props = try await transport(
          HTTPRequest(
            method: "GET", url: try OpenAIEngine.url(OpenAIEngineOptions.root(of: base) + "/props"),
            headers: options.headers, timeout: timeout))
        if props.status == 401 || props.status == 403 {
          throw EngineError.unavailable("\(place) refused the API key (\(props.status)); check model.api_key_env")
        }
        if props.status == 200, let json = try? JSONSerialization.jsonObject(with: props.body) as? [String: Any],
          json["default_generation_settings"] != nil || json["total_slots"] != nil
        {
          let settings = json["default_generation_settings"] as? [String: Any]
          let nCtx = settings?["n_ctx"] as? Int ?? json["n_ctx"] as? Int
          return ServerInfo(
            isLlamaCpp: true, contextTokens: nCtx, totalSlots: json["total_slots"] as? Int,
            modelPath: json["model_path"] as? String, modelType: json["model_ftype"] as? String,
            buildInfo: json["build_info"] as? String)
        }
        let models = try await transport(
          HTTPRequest(
            method: "GET", url: try OpenAIEngine.url(base + "/models"), headers: options.headers,
            timeout: timeout))
        if models.status == 401 || models.status == 403 {
          throw EngineError.unavailable("\(place) refused the API key (\(models.status)); check model.api_key_env")
        }
        var info = ServerInfo()
        if models.status == 200, let json = try? JSONSerialization.jsonObject(with: models.body) as? [String: Any],
          let data = json["data"] as? [[String: Any]]
        {
          let entry = data.first { $0["id"] as? String == options.model } ?? data.first
          info.contextTokens = entry?["max_model_len"] as? Int
        }
        return info
      } catch let error as EngineError {
        throw error
      } catch {
        failures.append("\(place): \(OpenAIEngine.describe(error))")
      }
    }
    throw EngineError.unavailable("no endpoint answered (\(failures.joined(separator: "; ")))")
  }
}

/// Counts tokens with the server's own tokenizer through `POST /tokenize`
/// (llama.cpp server and vLLM), so plans are exact for the served model.
///
/// `TokenCounter` is synchronous, so each count is a blocking HTTP call; counts are
/// cached per text by the planner, and a failure surfaces as an error, never a guess.
public struct ServerTokenCounter: TokenCounter {
  /// `server-tokenize:` plus a fingerprint of the tokenizer (the tokens of a probe text).
  public let vocabularyID: String
  /// Always exact: the served model's vocabulary.
  public var isExact: Bool { true }
  let endpoint: String
  let options: OpenAIEngineOptions

  /// Connects to the first endpoint whose `/tokenize` works; nil when none has one.
  ///
  /// - Parameter options: The job's endpoints and key.
  public init?(options: OpenAIEngineOptions) {
    self.options = options
    for base in options.baseURLs {
      let root = OpenAIEngineOptions.root(of: base)
      let probe = "longctx tokenizer probe: Hello, world! 12345 ünïcødé 日本語"
      if let tokens = try? Self.tokenize(probe, root: root, options: options, timeout: 10) {
        endpoint = root
        let fingerprint = tokens.map(String.init).joined(separator: ",")
        vocabularyID = "server-tokenize:\(options.model):" + String(fingerprint.hashValueStable.prefix(16))
        return
      }
    }
    return nil
  }

  /// The number of tokens of `text`, without special tokens.
  ///
  /// - Throws: `EngineError.transient` when the server cannot be asked.
  public func count(_ text: String) throws -> Int {
    do {
      return try Self.tokenize(text, root: endpoint, options: options, timeout: options.timeout).count
    } catch let error as EngineError {
      throw error
    } catch {
      throw EngineError.transient(
        "cannot count tokens at \(OpenAIEngineOptions.redacted(endpoint)): \(OpenAIEngine.describe(error))")
    }
  }

  static func tokenize(_ text: String, root: String, options: OpenAIEngineOptions, timeout: Double) throws -> [Int] {
    // llama.cpp reads `content`; vLLM reads `model` and `prompt`. Send both.
    let body: [String: Any] = [
      "content": text, "prompt": text, "model": options.model, "add_special": false,
      "add_special_tokens": false,
    ]
    let response = try CurlTransport.send(
      HTTPRequest(
        method: "POST", url: try OpenAIEngine.url(root + "/tokenize"), headers: options.headers,
        body: try JSONSerialization.data(withJSONObject: body), timeout: timeout))
    guard response.status == 200, let json = try? JSONSerialization.jsonObject(with: response.body) as? [String: Any],
      let tokens = json["tokens"] as? [Any]
    else {
      throw EngineError.transient("\(OpenAIEngineOptions.redacted(root)) /tokenize answered \(response.status)")
    }
    return tokens.compactMap { ($0 as? Int) ?? ($0 as? [String: Any])?["id"] as? Int }
  }
}

extension String {
  /// A stable hex digest (FNV-1a 64) for fingerprints; not for security.
  var hashValueStable: String {
    String(format: "%016llx", Hashing.FNV1a.hash(utf8))
  }
}
