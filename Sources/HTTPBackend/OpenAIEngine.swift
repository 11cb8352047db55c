import Foundation
import Inference
import Logging
import Synchronization

/// An OpenAI-compatible server (vLLM, SGLang, llama.cpp server, Ollama, hosted APIs)
/// through `/v1/completions` or `/v1/chat/completions`, load-balanced with failover
/// across several endpoints and a cap on requests in flight.
public final class OpenAIEngine: PacedEngine, Sendable {
  /// The settings the engine was made with.
  public let options: OpenAIEngineOptions
  /// What the first reachable endpoint turned out to be.
  public let server: ServerInfo
  /// Names the engine kind.
  public var name: String { "openai-compatible/\(options.api.rawValue)" }
  /// The model as requested: API and model name (never the key or the URLs).
  public var modelIdentity: String { Self.identity(options) }

  private let transport: HTTPTransport
  private let gate: AsyncGate?
  /// Slot save/restore into the checkpoint store, when the job asks for it.
  let slots: SlotCheckpoints?
  /// Admits each request to its endpoint within the limits every worker shares; nil: unpaced.
  let pacer: (any RequestPacer)?
  /// Which slot holds which prefix on one llama.cpp server without slot checkpoints
  /// (`Slots/SlotAffinity.swift`): a window's tasks go to the slot that holds the window.
  let affinity: SlotPool?
  /// The rotation's next index, and until when each endpoint is benched.
  private let rotation = Mutex<(next: Int, benchedUntil: [String: Date])>((0, [:]))

  /// The identity of outputs produced with `options`.
  public static func identity(_ options: OpenAIEngineOptions) -> String {
    "openai:\(options.api.rawValue):\(options.model)"
  }

  /// Connects: asks the endpoints what they are and checks the job's context against theirs.
  ///
  /// - Parameters:
  ///   - options: Endpoints, model, API and limits.
  ///   - transport: How requests travel; tests inject a fake.
  ///   - probe: Whether to ask the server for its context size and kind first.
  ///   - checkpoints: The workspace's KV checkpoint store; with `options.slotSaveDirectory`
  ///     it receives the llama.cpp server's saved slots.
  ///   - logger: Receives warnings about slot checkpoints.
  /// - Throws: `EngineError.unavailable` when no endpoint answers, the key is refused,
  ///   `model.context` exceeds the server's context, or slot checkpoints are asked of a
  ///   server that is not llama.cpp's or of a directory that cannot be written.
  public convenience init(
    options: OpenAIEngineOptions, transport: HTTPTransport? = nil, probe: Bool = true,
    checkpoints: CheckpointStore? = nil, logger: Logger = Logger(label: "longctx.openai")
  ) async throws {
    guard !options.baseURLs.isEmpty else { throw EngineError.unavailable("no model.base_url given") }
    let transport = transport ?? CurlTransport.make()
    let server = probe ? try await ServerInfo.probe(options: options, transport: transport) : ServerInfo()
    try self.init(options: options, transport: transport, server: server, checkpoints: checkpoints, logger: logger)
  }

  /// An engine for a server already described by `server` (tests describe a fake one).
  init(
    options: OpenAIEngineOptions, transport: @escaping HTTPTransport, server: ServerInfo,
    checkpoints: CheckpointStore?, logger: Logger
  ) throws {
    guard !options.baseURLs.isEmpty else { throw EngineError.unavailable("no model.base_url given") }
    self.options = options
    self.transport = transport
    self.server = server
    gate = options.concurrency.map { AsyncGate(limit: max(1, $0)) }
    if let limit = server.contextTokens, let wanted = options.contextTokens, wanted > limit {
      throw EngineError.unavailable(
        "model.context is \(wanted) tokens but the server's context per request is \(limit); lower model.context")
    }
    slots = try Self.makeSlots(
      options: options, server: server, checkpoints: checkpoints, transport: transport, logger: logger)
    pacer = nil
    affinity = slots == nil ? Self.makeAffinity(options: options, server: server) : nil
  }

  /// `engine`'s connections, gate and slots, its requests admitted by `pacer`.
  private init(pacing engine: OpenAIEngine, by pacer: any RequestPacer) {
    options = engine.options
    transport = engine.transport
    server = engine.server
    gate = engine.gate
    slots = engine.slots
    affinity = engine.affinity
    self.pacer = pacer
  }

  static func makeSlots(
    options: OpenAIEngineOptions, server: ServerInfo, checkpoints: CheckpointStore?, transport: @escaping HTTPTransport,
    logger: Logger
  ) throws -> SlotCheckpoints? {
    guard let path = options.slotSaveDirectory, let store = checkpoints else { return nil }
    guard let identity = server.slotStateIdentity else {
      throw EngineError.unavailable(
        "model.slot_save_path needs llama.cpp's server, and \(OpenAIEngineOptions.redacted(options.baseURLs[0])) does not answer /props like one"
      )
    }
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue,
      FileManager.default.isWritableFile(atPath: path)
    else {
      throw EngineError.unavailable(
        "model.slot_save_path \(path) is not a writable directory; it must be the server's --slot-save-path as this machine sees it"
      )
    }
    return SlotCheckpoints(
      store: store, directory: URL(fileURLWithPath: path, isDirectory: true), identity: identity,
      slots: server.totalSlots ?? 1, options: options, transport: transport, logger: logger)
  }

  /// Generates one completion, trying other endpoints when one fails.
  ///
  /// - Throws: `EngineError.transient` for overload, 5xx and connection failures (with the
  ///   server's Retry-After), `.permanent` for other 4xx with the server's message, and
  ///   `.unavailable` when the server refuses the API key.
  public func generate(_ request: GenerationRequest) async throws -> GenerationResult {
    if let gate { await gate.acquire() }
    defer { if let gate { Task { await gate.release() } } }
    var body = Self.body(for: request, options: options, llamaExtras: server.isLlamaCpp)
    // llama.cpp's server reports a prefill's progress in a streamed answer: stream when someone listens.
    let receiver = server.isLlamaCpp ? PrefillProgress.receiver : nil
    if receiver != nil { body.merge(Self.progressFields(api: options.api)) { _, new in new } }
    var result: GenerationResult
    if let slots {
      result = try await slots.run(request) { extra in
        try await send(body.merging(extra) { _, new in new }, progress: receiver)
      }
    } else if let affinity {
      result = try await Self.onSlot(of: affinity, request: request) {
        try await send(body.merging($0) { _, new in new }, progress: receiver)
      }
    } else {
      result = try await send(body, progress: receiver)
    }
    // Servers without DRY loop as the model does: their output is cut as the embedded engine's is.
    result.text = request.cuttingLoops(result.text).text
    return result
  }

  /// The fields that make llama.cpp's server stream its answer with the prefill's progress.
  static func progressFields(api: OpenAIAPI) -> [String: Any] {
    var fields: [String: Any] = ["stream": true, "return_progress": true]
    if api == .chat { fields["stream_options"] = ["include_usage": true] }
    return fields
  }

  /// Sends one generation body, trying other endpoints when one fails.
  ///
  /// - Parameter progress: Receives the prefill progress of a streamed answer.
  private func send(_ object: [String: Any], progress: PrefillReceiver? = nil) async throws -> GenerationResult {
    let body = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    var lastError = EngineError.transient("no endpoint was tried")
    var retryAfter: Double?
    let paceTokens = pacer == nil ? 0 : Self.paceTokens(object)
    for _ in 0..<options.baseURLs.count {
      try Task.checkCancellation()
      let endpoint = pickEndpoint()
      if let pacer {
        do {
          try await pacer.admit(endpoint: OpenAIEngineOptions.redacted(endpoint), tokens: paceTokens)
        } catch is CancellationError {
          throw EngineError.interrupted
        }
      }
      let http = HTTPRequest(
        method: "POST", url: try Self.url(endpoint + options.api.path), headers: options.headers, body: body,
        timeout: options.timeout, observer: progress.map(StreamedCompletion.observer(sending:)))
      let response: HTTPResponse
      do {
        response = try await transport(http)
      } catch is CancellationError {
        throw EngineError.interrupted
      } catch {
        bench(endpoint, seconds: options.benchSeconds)
        lastError = .transient("cannot reach \(OpenAIEngineOptions.redacted(endpoint)): \(Self.describe(error))")
        continue
      }
      if let pacer {
        let limits = ServerLimits(headers: response.headers)
        if !limits.isEmpty { try await pacer.observe(endpoint: OpenAIEngineOptions.redacted(endpoint), limits: limits) }
      }
      switch Self.classify(response, endpoint: endpoint) {
      case .success where StreamedCompletion.isStream(response.body):
        return try StreamedCompletion.parseResult(response.body, api: options.api, endpoint: endpoint)
      case .success:
        return try Self.parseResult(response.body, api: options.api, endpoint: endpoint)
      case .retry(let error, let after):
        bench(endpoint, seconds: after ?? options.benchSeconds)
        if let after { retryAfter = max(retryAfter ?? 0, after) }
        lastError = error
      case .fail(let error):
        throw error
      }
    }
    if case .transient(let message, _) = lastError { throw EngineError.transient(message, retryAfter: retryAfter) }
    throw lastError
  }

  /// The same engine, its requests admitted by `pacer` (rate limits shared by every worker).
  public func paced(by pacer: any RequestPacer) -> any Engine { OpenAIEngine(pacing: self, by: pacer) }

  /// What a request counts against a tokens-per-minute limit, as hosted APIs count it:
  /// the prompt (estimated from its UTF-8 bytes, an upper bound) and `max_tokens`.
  static func paceTokens(_ object: [String: Any]) -> Int {
    let messages = (object["messages"] as? [[String: Any]])?.compactMap { $0["content"] as? String }
    let prompt = object["prompt"] as? String ?? messages?.joined() ?? ""
    return EstimatedTokenCounter.estimate(bytes: prompt.utf8.count) + (object["max_tokens"] as? Int ?? 0)
  }

  // MARK: - Wire format

  /// The JSON body for `request`, the same for live requests and batch export.
  ///
  /// - Parameter llamaExtras: Adds llama.cpp-only fields (`cache_prompt`, `grammar`, and the
  ///   loop guard's DRY settings); other servers are not sent fields they may refuse.
  public static func body(for request: GenerationRequest, options: OpenAIEngineOptions, llamaExtras: Bool) -> [String:
    Any]
  {
    let prompt = request.prefix + request.suffix
    var body: [String: Any] = [
      "model": options.model, "max_tokens": request.maxTokens, "temperature": request.temperature,
      "seed": Int(request.seed), "stream": false,
    ]
    switch options.api {
    case .completions: body["prompt"] = prompt
    case .chat: body["messages"] = [["role": "user", "content": prompt]]
    }
    if !request.stop.isEmpty { body["stop"] = request.stop }
    if let text = request.jsonSchema, let schema = try? JSONSerialization.jsonObject(with: Data(text.utf8)) {
      // OpenAI, vLLM and llama.cpp (chat) read response_format; llama.cpp's completions read json_schema.
      body["response_format"] = ["type": "json_schema", "json_schema": ["name": "output", "schema": schema]]
      if llamaExtras { body["json_schema"] = schema }
    }
    if llamaExtras {
      body["cache_prompt"] = true  // reuse the KV of a shared prefix across requests
      if let grammar = request.grammar { body["grammar"] = grammar }
      if let loopGuard = request.loopGuard, loopGuard.dryMultiplier > 0 {
        body["dry_multiplier"] = loopGuard.dryMultiplier
        body["dry_base"] = loopGuard.dryBase
        body["dry_allowed_length"] = loopGuard.dryAllowedLength
        // The server also feeds the prompt to its samplers: look back over the output's length only.
        body["dry_penalty_last_n"] = loopGuard.dryLastTokens > 0 ? loopGuard.dryLastTokens : request.maxTokens
        body["dry_sequence_breakers"] = loopGuard.sequenceBreakers
      }
    }
    return body
  }

  /// The generated text and token usage of a 200 response body.
  ///
  /// - Throws: `EngineError.transient` when the body has no text where the API puts it.
  public static func parseResult(_ data: Data, api: OpenAIAPI, endpoint: String = "the server") throws
    -> GenerationResult
  {
    let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    let choice = (json?["choices"] as? [[String: Any]])?.first
    let text: String? =
      switch api {
      case .completions: choice?["text"] as? String
      case .chat: (choice?["message"] as? [String: Any])?["content"] as? String
      }
    guard let json, let text else {
      let field = api == .chat ? "choices[0].message.content" : "choices[0].text"
      throw EngineError.transient("\(OpenAIEngineOptions.redacted(endpoint)) sent a response without \(field)")
    }
    let usage = json["usage"] as? [String: Any]
    let details = usage?["prompt_tokens_details"] as? [String: Any]
    let timings = json["timings"] as? [String: Any]
    return GenerationResult(
      text: text, promptTokens: usage?["prompt_tokens"] as? Int ?? 0,
      outputTokens: usage?["completion_tokens"] as? Int ?? 0,
      cachedTokens: details?["cached_tokens"] as? Int ?? timings?["cache_n"] as? Int ?? 0)
  }

  /// How a response is handled.
  enum Outcome {
    case success
    case retry(EngineError, after: Double?)
    case fail(EngineError)
  }

  /// Sorts a response: 2xx succeeds, 408/429/5xx are retried, 401/403 stop the run, other 4xx fail the task.
  static func classify(_ response: HTTPResponse, endpoint: String) -> Outcome {
    let status = response.status
    let place = OpenAIEngineOptions.redacted(endpoint)
    if (200..<300).contains(status) { return .success }
    let message = serverMessage(response.body)
    if status == 408 || status == 429 || status >= 500 || status == 0 {
      let after = response.headers["retry-after"].flatMap(retryAfterSeconds)
      return .retry(.transient("\(place) answered \(status): \(message)", retryAfter: after), after: after)
    }
    if status == 401 || status == 403 {
      return .fail(.unavailable("\(place) refused the API key (\(status): \(message)); check model.api_key_env"))
    }
    return .fail(.permanent("\(place) answered \(status): \(message)"))
  }

  /// Seconds from a Retry-After value: delta-seconds or an HTTP date.
  static func retryAfterSeconds(_ value: String) -> Double? {
    let trimmed = value.trimmingCharacters(in: .whitespaces)
    if let seconds = Double(trimmed) { return max(0, seconds) }
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "GMT")
    formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
    return formatter.date(from: trimmed).map { max(0, $0.timeIntervalSinceNow) }
  }

  /// The server's error message: `error.message`, `error` as a string, or the start of the body.
  static func serverMessage(_ data: Data) -> String {
    if let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
      if let error = json["error"] as? [String: Any], let message = error["message"] as? String { return message }
      if let error = json["error"] as? String { return error }
      if let message = json["message"] as? String { return message }
    }
    let text = String(decoding: data.prefix(300), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    return text.isEmpty ? "no message" : text
  }

  static func url(_ string: String) throws -> URL {
    guard let url = URL(string: string), url.scheme != nil else {
      throw EngineError.unavailable("model.base_url \(OpenAIEngineOptions.redacted(string)) is not a valid URL")
    }
    return url
  }

  static func describe(_ error: Error) -> String {
    if let error = error as? TransportError { return error.errorDescription ?? error.message }
    if let error = error as? URLError { return error.code == .timedOut ? "timed out" : error.localizedDescription }
    return error.localizedDescription
  }

  // MARK: - Endpoints

  /// The next endpoint in rotation that is not benched, or the one whose bench ends first.
  func pickEndpoint() -> String {
    rotation.withLock { state in
      let now = Date()
      let urls = options.baseURLs
      for _ in 0..<urls.count {
        let candidate = urls[state.next % urls.count]
        state.next += 1
        if (state.benchedUntil[candidate] ?? .distantPast) <= now { return candidate }
      }
      return urls.min { (state.benchedUntil[$0] ?? .distantPast) < (state.benchedUntil[$1] ?? .distantPast) } ?? urls[0]
    }
  }

  private func bench(_ endpoint: String, seconds: Double) {
    rotation.withLock { $0.benchedUntil[endpoint] = Date().addingTimeInterval(seconds) }
  }
}

/// A counting semaphore for async code: at most `limit` holders at once, FIFO.
actor AsyncGate {
  let limit: Int
  private var inUse = 0
  private var waiters: [CheckedContinuation<Void, Never>] = []

  init(limit: Int) { self.limit = limit }

  func acquire() async {
    if inUse < limit {
      inUse += 1
      return
    }
    await withCheckedContinuation { waiters.append($0) }
  }

  func release() {
    if waiters.isEmpty { inUse -= 1 } else { waiters.removeFirst().resume() }
  }
}
