import Foundation
import Inference
import Logging
import Storage

/// llama.cpp server slot save/restore through longctx's KV checkpoint store.
///
/// For a request whose prefix (instructions + window) is long enough, on a slot of
/// its own:
/// 1. if the slot already holds the prefix (the last request on it had the same one),
///    nothing is done: the server's `cache_prompt` reuses it;
/// 2. else the longest stored checkpoint of the prefix is written into the server's
///    `--slot-save-path` and restored into the slot (`/slots/{id}?action=restore`);
/// 3. what the checkpoint did not cover is prefilled by a prefix-only request
///    (`n_predict: 0`), the slot is saved (`?action=save`) and the file moved into the
///    store, zstd-compressed and checksummed;
/// 4. the request goes to the slot with `cache_prompt`, so only the suffix is computed.
///
/// A checkpoint that fails its checksums is deleted by the store with a warning and the
/// prefix is recomputed; a restore the server refuses is a miss. The server decides
/// which tokens to reuse by comparing its token list with the prompt, so a stale or
/// wrong guess about a slot's content costs time, never correctness.
final class SlotCheckpoints: @unchecked Sendable {
  let store: CheckpointStore
  /// The server's `--slot-save-path` as this machine sees it.
  let directory: URL
  /// The store's model key: the server's model file, quantization and build.
  let identity: String
  let minimumTokens: Int
  let pool: SlotPool
  private let root: String
  private let options: OpenAIEngineOptions
  private let transport: HTTPTransport
  private let logger: Logger
  private let lock = NSLock()
  private var disabledReason: String?

  /// What one prepared slot holds before the request is sent.
  struct Preparation {
    var slot: Int
    /// Tokens reused without computing them for this request (slot cache or restore).
    var reusedTokens: Int
    /// Whether a prefix-only request computed part of the prefix (so the request's own
    /// `cache_n` counts work done for it, not reuse).
    var primed: Bool
    /// The prefix key the slot holds afterwards.
    var key: String?
    /// Tokens restored from a checkpoint (0: none).
    var restored = 0
  }

  init(
    store: CheckpointStore, directory: URL, identity: String, slots: Int, options: OpenAIEngineOptions,
    transport: @escaping HTTPTransport, logger: Logger
  ) {
    self.store = store
    self.directory = directory
    self.identity = identity
    self.minimumTokens = options.slotMinimumTokens
    self.pool = SlotPool(count: slots)
    self.root = OpenAIEngineOptions.root(of: options.baseURLs[0])
    self.options = options
    self.transport = transport
    self.logger = logger
  }

  /// Nil while slot checkpoints work; the reason once they were switched off.
  var disabled: String? { lock.withLock { disabledReason } }

  private func disable(_ reason: String) {
    let first = lock.withLock {
      defer { disabledReason = disabledReason ?? reason }
      return disabledReason == nil
    }
    if first { logger.warning("slot checkpoints are off for this run: \(reason)") }
  }

  // MARK: - The request path

  /// Runs `send` on a slot prepared with the request's prefix.
  ///
  /// - Parameter send: Sends the request with the extra body fields given (`id_slot`).
  /// - Returns: The result, with `cachedTokens` = prompt tokens not computed for it.
  func run(
    _ request: GenerationRequest, send: ([String: Any]) async throws -> GenerationResult
  ) async throws -> GenerationResult {
    let prompt = try await tokenize(request.prefix + request.suffix)
    let prefixAlone = try await tokenize(request.prefix)
    // BPE may merge across the boundary: keep the tokens the whole prompt shares.
    let shared = zip(prompt, prefixAlone).prefix { $0 == $1 }.count
    let prefix = Array(prompt.prefix(shared))
    let key = prefix.count >= minimumTokens ? Hashing.sha256(tokens: prefix) : nil
    let (slot, holds) = await pool.acquire(preferring: key)
    do {
      var prepared = Preparation(slot: slot, reusedTokens: 0, primed: false, key: holds ? key : nil)
      if let key, !holds, disabled == nil {
        prepared = try await prepare(slot: slot, prefix: prefix, key: key)
      }
      var result = try await send(["id_slot": slot])
      // After a prefix-only request, the request's own cache_n counts work done for it.
      if prepared.primed { result.cachedTokens = prepared.reusedTokens }
      // Reused less than the prefix although the slot held it: the server lost it (a restart).
      let lost = !prepared.primed && prepared.key != nil && result.cachedTokens < prefix.count - 1
      if prepared.restored > 0 && result.cachedTokens < prepared.restored - 1 {
        disable(
          "the server restored \(prepared.restored) tokens into slot \(slot) but reused only \(result.cachedTokens); "
            + "for sliding-window models (Gemma 2/3) start llama-server with --swa-full")
      }
      await pool.release(slot, holding: lost ? nil : prepared.key)
      return result
    } catch {
      await pool.release(slot, holding: nil)  // unknown state
      throw error
    }
  }

  /// Restores the longest stored checkpoint of `prefix` into `slot`, then prefills and
  /// saves the rest.
  func prepare(slot: Int, prefix: [Int32], key: String) async throws -> Preparation {
    var result = Preparation(slot: slot, reusedTokens: 0, primed: false, key: nil)
    let clock = Date()
    if let checkpoint = store.longestPrefix(model: identity, of: prefix, minimum: minimumTokens) {
      let loaded = Date().timeIntervalSince(clock)
      if try await restore(checkpoint, into: slot) {
        result.restored = checkpoint.tokens.count
        logger.info(
          "restored a slot checkpoint",
          metadata: [
            "slot.id": "\(slot)", "kv.tokens": "\(checkpoint.tokens.count)",
            "kv.bytes": "\(checkpoint.entry.compressedBytes)",
            "kv.load_s": "\(String(format: "%.3f", loaded))",
            "kv.total_s": "\(String(format: "%.3f", Date().timeIntervalSince(clock)))",
          ])
        result.reusedTokens = checkpoint.tokens.count
        result.key = checkpoint.tokens.count == prefix.count ? key : nil
      }
    }
    guard result.reusedTokens < prefix.count else { return result }
    result.reusedTokens = try await prime(slot: slot, tokens: prefix)
    result.primed = true
    result.key = key
    if disabled == nil, !store.contains(model: identity, tokens: prefix) {
      try await save(slot: slot, tokens: prefix)
    }
    return result
  }

  // MARK: - Server calls

  /// The server's tokens for `text` as a completion prompt (with BOS).
  func tokenize(_ text: String) async throws -> [Int32] {
    let body: [String: Any] = ["content": text, "add_special": true, "parse_special": true]
    let json = try await post("/tokenize", body) ?? [:]
    guard let tokens = json["tokens"] as? [Int] else {
      throw EngineError.transient("\(place) /tokenize answered without tokens")
    }
    return tokens.map { Int32(truncatingIfNeeded: $0) }
  }

  /// Computes `tokens` into `slot` without generating; returns the tokens the server reused.
  /// The prefill's progress goes to `PrefillProgress.receiver` (the answer is then streamed).
  func prime(slot: Int, tokens: [Int32]) async throws -> Int {
    var body: [String: Any] = [
      "prompt": tokens.map(Int.init), "n_predict": 0, "id_slot": slot, "cache_prompt": true, "temperature": 0,
    ]
    let receiver = PrefillProgress.receiver
    if receiver != nil { body.merge(OpenAIEngine.progressFields(api: .completions)) { _, new in new } }
    let json = try await post("/completion", body, observer: receiver.map(StreamedCompletion.observer(sending:))) ?? [:]
    return (json["timings"] as? [String: Any])?["cache_n"] as? Int ?? 0
  }

  /// Saves `slot` and moves the file into the store as the checkpoint of `tokens`.
  func save(slot: Int, tokens: [Int32]) async throws {
    let name = Self.fileName()
    let file = directory.appendingPathComponent(name)
    defer { try? FileManager.default.removeItem(at: file) }
    let answer = try await post("/slots/\(slot)?action=save", ["filename": name], optional: true)
    guard answer != nil else { return }
    guard let data = try? Data(contentsOf: file) else {
      disable(
        "the server saved its slot, but \(file.path) does not exist here; model.slot_save_path must be the "
          + "server's --slot-save-path as this machine sees it")
      return
    }
    guard let saved = SlotStateFile.tokens(in: data), saved == tokens else {
      logger.warning(
        "the server's slot held other tokens than the prefix; not stored", metadata: ["slot.id": "\(slot)"])
      return
    }
    do {
      let clock = Date()
      let entry = try store.save(model: identity, tokens: tokens, state: data)
      logger.info(
        "stored a slot checkpoint",
        metadata: [
          "slot.id": "\(slot)", "kv.tokens": "\(tokens.count)", "kv.raw": "\(data.count)",
          "kv.bytes": "\(entry.compressedBytes)",
          "kv.server_save_ms": "\((answer?["timings"] as? [String: Any])?["save_ms"] ?? "?")",
          "kv.store_s": "\(String(format: "%.3f", Date().timeIntervalSince(clock)))",
        ])
    } catch {
      logger.warning("cannot store a slot checkpoint: \(error.localizedDescription)")
    }
  }

  /// Writes a checkpoint into the slot directory and restores it into `slot`.
  ///
  /// - Returns: Whether the server restored it.
  func restore(_ checkpoint: Checkpoint, into slot: Int) async throws -> Bool {
    guard SlotStateFile.tokens(in: checkpoint.state) == checkpoint.tokens else {
      logger.warning(
        "a stored slot checkpoint is not a llama.cpp slot file; ignored",
        metadata: ["kv.path": "\(checkpoint.entry.path)"])
      return false
    }
    let name = Self.fileName()
    let file = directory.appendingPathComponent(name)
    defer { try? FileManager.default.removeItem(at: file) }
    do {
      try checkpoint.state.write(to: file, options: .atomic)
    } catch {
      disable("cannot write into model.slot_save_path \(directory.path): \(error.localizedDescription)")
      return false
    }
    guard let answer = try await post("/slots/\(slot)?action=restore", ["filename": name], optional: true) else {
      return false
    }
    let restored = answer["n_restored"] as? Int ?? 0
    if restored != checkpoint.tokens.count {
      logger.warning("the server restored \(restored) of \(checkpoint.tokens.count) tokens; recomputing the prefix")
    }
    return restored == checkpoint.tokens.count
  }

  private var place: String { OpenAIEngineOptions.redacted(root) }

  /// POSTs JSON to the server root.
  ///
  /// - Parameter optional: For slot actions: a refusal is logged (and, when the server has
  ///   no `--slot-save-path`, switches slot checkpoints off) and returns nil.
  /// - Throws: `EngineError.transient` when the server cannot be reached or fails (5xx).
  @discardableResult
  private func post(
    _ path: String, _ body: [String: Any], optional: Bool = false, observer: HTTPBodyObserver? = nil
  ) async throws -> [String: Any]? {
    let request = HTTPRequest(
      method: "POST", url: try OpenAIEngine.url(root + path), headers: options.headers,
      body: try JSONSerialization.data(withJSONObject: body), timeout: options.timeout, observer: observer)
    let response: HTTPResponse
    do {
      response = try await transport(request)
    } catch is CancellationError {
      throw EngineError.interrupted
    } catch {
      throw EngineError.transient("cannot reach \(place): \(OpenAIEngine.describe(error))")
    }
    if response.status == 200, StreamedCompletion.isStream(response.body) {
      // A streamed answer: its last event with timings stands for the whole.
      let events = StreamedCompletion.events(String(decoding: response.body, as: UTF8.self)[...])
      if let last = events.last(where: { $0["timings"] != nil }) { return last }
    }
    let json = (try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any]
    if response.status == 200, let json { return json }
    let message = OpenAIEngine.serverMessage(response.body)
    if optional && (response.status < 500 || response.status == 501) {
      if message.contains("--slot-save-path") {
        disable("the server was started without --slot-save-path (\(message))")
      } else {
        logger.warning("slot action refused: \(response.status): \(message)", metadata: ["slot.path": "\(path)"])
      }
      return nil
    }
    switch OpenAIEngine.classify(response, endpoint: root) {
    case .retry(let error, _), .fail(let error): throw error
    case .success: throw EngineError.transient("\(place)\(path) answered \(response.status) without JSON")
    }
  }

  private static func fileName() -> String {
    "longctx-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8).lowercased()).bin"
  }
}
