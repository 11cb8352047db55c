import Foundation

/// Which backend runs a job's generations.
public enum EngineKind: String, Sendable, Hashable, Codable, CaseIterable {
  /// llama.cpp in process (LlamaBackend).
  case llama
  /// An OpenAI-compatible server (HTTPBackend).
  case openai
}

/// Which OpenAI endpoint generations go to.
public enum CompletionAPI: String, Sendable, Hashable, Codable, CaseIterable {
  /// `POST /v1/completions` with a raw prompt: right for base models.
  case completions
  /// `POST /v1/chat/completions` with the prompt as one user message: right for chat models.
  case chat

  /// The path below the base URL, e.g. `/completions`.
  public var path: String { self == .chat ? "/chat/completions" : "/completions" }
}

/// How the in-process engine turns a request into prompt tokens.
public enum PromptFormat: String, Sendable, Hashable, Codable, CaseIterable {
  /// BOS, then the prefix and the suffix as written: for base models.
  case raw
  /// The prefix and suffix as one user turn in the model's own chat template,
  /// ending where the assistant's answer starts: for instruct models.
  case chat
}

/// The element type of the in-process engine's KV cache (`model.kv_cache`),
/// for both K and V.
public enum KVCacheType: String, Sendable, Hashable, CaseIterable, Codable {
  /// 16-bit floats: llama.cpp's default, and longctx's (see README: q8_0's
  /// divergence from f16 is small, but its prefill is slower on CPU).
  case f16
  /// 8-bit blocks: about half the memory and checkpoint size (llama.cpp
  /// turns flash attention on for it: a quantized V cache needs it).
  case q8_0
}

/// A job's `model` section: which engine, which model, and how to reach it.
/// Each backend reads the part that concerns it.
public struct ModelSettings: Sendable, Hashable, Codable {
  public var engine: EngineKind
  /// GGUF path for `llama`; default: `$LONGCTX_MODEL`.
  public var path: String?
  /// The model's context window in tokens.
  public var context: Int
  /// CPU threads for `llama`; default: all cores.
  public var threads: Int?
  /// For `openai`: the servers' base URLs, e.g. `http://127.0.0.1:8080/v1`; requests rotate over them.
  public var baseURLs: [String]
  /// For `openai`: the model name to request.
  public var name: String?
  /// For `openai`: the environment variable holding the API key.
  public var apiKeyEnv: String?
  /// Named vocabulary family for exact counts against a remote model (e.g. `llama-bpe`).
  public var vocabulary: String?
  /// For `openai`: completions (default) or chat.
  public var api: CompletionAPI
  /// Requests in flight at once (for `llama`: sequences decoded together);
  /// also the runner's default task concurrency.
  public var concurrency: Int?
  /// For `openai`: seconds before one request times out (default 600).
  public var timeout: Double?
  /// For `llama`: raw (default) or chat.
  public var promptFormat: PromptFormat
  /// For `openai` against llama.cpp's server: the server's `--slot-save-path` directory as
  /// this machine sees it; enables slot save/restore into the workspace's KV checkpoint store.
  public var slotSavePath: String?
  /// `loop_guard`: DRY and a stop on repeated sentences (`LoopGuard`), on by default; nil: off.
  public var loopGuard: LoopGuard?
  /// For `llama`: `kv_cache`, the KV cache's element type; nil: f16.
  public var kvCache: KVCacheType?

  public init(
    engine: EngineKind = .llama, path: String? = nil, context: Int = 8192, threads: Int? = nil,
    baseURLs: [String] = [], name: String? = nil, apiKeyEnv: String? = nil, vocabulary: String? = nil,
    api: CompletionAPI = .completions, concurrency: Int? = nil, timeout: Double? = nil,
    promptFormat: PromptFormat = .raw, slotSavePath: String? = nil, loopGuard: LoopGuard? = .standard,
    kvCache: KVCacheType? = nil
  ) {
    self.kvCache = kvCache
    self.engine = engine
    self.path = path
    self.context = context
    self.threads = threads
    self.baseURLs = baseURLs
    self.name = name
    self.apiKeyEnv = apiKeyEnv
    self.vocabulary = vocabulary
    self.api = api
    self.concurrency = concurrency
    self.timeout = timeout
    self.promptFormat = promptFormat
    self.slotSavePath = slotSavePath
    self.loopGuard = loopGuard
  }

  /// Tokens a prompt format adds around every prompt (a chat template's turn markers).
  public var promptOverheadTokens: Int { promptFormat == .chat ? 32 : 0 }
}

/// What a backend gives for a job: its token counter, the model key that
/// finished tasks are stored under (what outputs depend on), and the engine,
/// made on first use (loading a model or reaching a server is not free).
public struct EngineChoice: Sendable {
  public let counter: any TokenCounter
  public let modelKey: String
  public let makeEngine: @Sendable () async throws -> any Engine

  public init(
    counter: any TokenCounter, modelKey: String, makeEngine: @escaping @Sendable () async throws -> any Engine
  ) {
    self.counter = counter
    self.modelKey = modelKey
    self.makeEngine = makeEngine
  }
}
