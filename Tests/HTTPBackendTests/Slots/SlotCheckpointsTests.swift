import Foundation
import Inference
import Logging
import Pipeline
import Segmenter
import Testing
import _LongctxTestSupport

@testable import HTTPBackend

/// A stand-in for llama.cpp's server slot API, in memory: one character is one token
/// (plus BOS), each slot holds a token list, save/restore write and read real `ggsq`
/// files in the slot directory, and completions report `cache_n` as the server does
/// (the tokens the slot shares with the prompt).
final class FakeSlotServer: @unchecked Sendable {
  let directory: URL
  var saveEnabled = true
  /// Like a sliding-window model without `--swa-full`: a restored slot is not reused.
  var restoredSlotsAreUseless = false
  private var useless: Set<Int> = []
  private let lock = NSLock()
  private var slots: [Int: [Int32]]
  private(set) var actions: [String] = []
  /// Tokens the "server" computed (prompt tokens not reused).
  private(set) var computed = 0

  init(directory: URL, slots: Int) {
    self.directory = directory
    self.slots = Dictionary(uniqueKeysWithValues: (0..<slots).map { ($0, []) })
  }

  static func tokens(_ text: String) -> [Int32] { [2] + text.unicodeScalars.map { Int32($0.value) } }

  /// Empties every slot, as a restart would.
  func restart() { lock.withLock { for k in slots.keys { slots[k] = [] } } }

  func erase(_ slot: Int) { lock.withLock { slots[slot] = [] } }

  func count(_ action: String) -> Int { lock.withLock { actions.filter { $0 == action }.count } }

  var transport: HTTPTransport {
    { request in try self.handle(request) }
  }

  private func handle(_ request: HTTPRequest) throws -> HTTPResponse {
    let body = (request.body.flatMap { try? JSONSerialization.jsonObject(with: $0) } as? [String: Any]) ?? [:]
    let path = request.url.path
    let slot = (body["id_slot"] as? Int) ?? Int(path.split(separator: "/").last.map(String.init) ?? "") ?? 0
    let query = request.url.query ?? ""
    return lock.withLock {
      switch path {
      case "/tokenize":
        return json(200, ["tokens": Self.tokens(body["content"] as? String ?? "").map(Int.init)])
      case "/completion":
        actions.append("prime")
        let prompt = (body["prompt"] as? [Int] ?? []).map { Int32($0) }
        let cached = fill(slot, prompt)
        return json(200, ["content": "", "timings": ["cache_n": cached, "prompt_n": prompt.count - cached]])
      case "/v1/completions":
        actions.append("complete")
        let prompt = Self.tokens(body["prompt"] as? String ?? "")
        let cached = fill(slot, prompt)
        return json(
          200,
          [
            "choices": [["text": "ok"]], "usage": ["prompt_tokens": prompt.count, "completion_tokens": 1],
            "timings": ["cache_n": cached, "prompt_n": prompt.count - cached],
          ])
      case _ where path.hasPrefix("/slots/"):
        guard saveEnabled else {
          return json(
            501, ["error": ["message": "This server does not support slots action. Start it with `--slot-save-path`"]])
        }
        let file = directory.appendingPathComponent(body["filename"] as? String ?? "")
        if query == "action=save" {
          actions.append("save")
          try? Self.stateFile(slots[slot] ?? []).write(to: file)
          return json(200, ["id_slot": slot, "n_saved": slots[slot]?.count ?? 0])
        }
        actions.append("restore")
        guard let data = try? Data(contentsOf: file), let tokens = SlotStateFile.tokens(in: data) else {
          return json(400, ["error": ["message": "Unable to restore slot: invalid slot save file"]])
        }
        slots[slot] = tokens
        if restoredSlotsAreUseless { useless.insert(slot) }
        return json(200, ["id_slot": slot, "n_restored": tokens.count])
      default:
        return json(404, ["error": ["message": "no route"]])
      }
    }
  }

  /// Puts `prompt` in the slot; returns the tokens it already shared.
  private func fill(_ slot: Int, _ prompt: [Int32]) -> Int {
    let held = useless.remove(slot) == nil ? slots[slot] ?? [] : []
    let cached = zip(held, prompt).prefix { $0 == $1 }.count
    slots[slot] = prompt
    computed += prompt.count - cached
    return cached
  }

  /// A slot file in the server's versioned layout, with some state bytes after the tokens.
  static func stateFile(_ tokens: [Int32]) -> Data {
    var data = Data()
    func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
    let packed: [Int32] = [-1, 1, Int32(tokens.count)] + tokens + [0]
    u32(SlotStateFile.magic)
    u32(4)
    u32(UInt32(packed.count))
    for t in packed { u32(UInt32(bitPattern: t)) }
    data.append(Data(repeating: 0xAB, count: 4096))
    return data
  }
}

@Suite struct SlotCheckpointsTests {
  let dir: TemporaryDirectory
  let slotDir: URL
  let store: CheckpointStore

  init() throws {
    dir = try TemporaryDirectory()
    slotDir = dir.url.appendingPathComponent("slots")
    try FileManager.default.createDirectory(at: slotDir, withIntermediateDirectories: true)
    store = CheckpointStore(directory: dir.url.appendingPathComponent("kv"))
  }

  func engine(_ server: FakeSlotServer, slots: Int = 2, minimum: Int = 8, directory: URL? = nil) throws -> OpenAIEngine
  {
    var options = OpenAIEngineOptions(baseURLs: ["http://fake/v1"], model: "m")
    options.slotSaveDirectory = (directory ?? slotDir).path
    options.slotMinimumTokens = minimum
    let info = ServerInfo(
      isLlamaCpp: true, contextTokens: 4096, totalSlots: slots, modelPath: "/m.gguf", modelType: "Q4", buildInfo: "b1")
    return try OpenAIEngine(
      options: options, transport: server.transport, server: info, checkpoints: store,
      logger: Logger(label: "test.slots"))
  }

  let window = "Window text: " + String(repeating: "lorem ipsum ", count: 10)

  @Test func savesThenRestoresAfterARestart() async throws {
    defer { dir.remove() }
    let server = FakeSlotServer(directory: slotDir, slots: 2)
    let first = try engine(server)
    let a = try await first.generate(GenerationRequest(prefix: window, suffix: "\nQ1:", maxTokens: 4))
    #expect(a.cachedTokens == 0)
    #expect(server.count("prime") == 1 && server.count("save") == 1)
    let entries = store.list()
    #expect(entries.count == 1 && entries.first?.tokens == FakeSlotServer.tokens(window).count)
    #expect(entries.first?.model.hasPrefix("llama-server:/m.gguf") == true)
    #expect(try FileManager.default.contentsOfDirectory(atPath: slotDir.path).isEmpty)  // moved, not left behind

    server.restart()
    let second = try engine(server)
    let computedBefore = server.computed
    let b = try await second.generate(GenerationRequest(prefix: window, suffix: "\nQ2 changed:", maxTokens: 4))
    #expect(server.count("restore") == 1 && server.count("prime") == 1)  // no second prime
    #expect(b.cachedTokens == FakeSlotServer.tokens(window).count)
    #expect(server.computed - computedBefore == "\nQ2 changed:".unicodeScalars.count)
  }

  @Test func aSlotThatHoldsThePrefixIsReusedWithoutRestore() async throws {
    defer { dir.remove() }
    let server = FakeSlotServer(directory: slotDir, slots: 2)
    let e = try engine(server)
    _ = try await e.generate(GenerationRequest(prefix: window, suffix: "\nQ1:", maxTokens: 4))
    let b = try await e.generate(GenerationRequest(prefix: window, suffix: "\nQ2:", maxTokens: 4))
    #expect(server.count("restore") == 0 && server.count("prime") == 1 && server.count("save") == 1)
    // The server reuses what the slot shares with the prompt: the prefix and "\nQ".
    #expect(b.cachedTokens == FakeSlotServer.tokens(window + "\nQ").count)
  }

  @Test func aCorruptCheckpointIsDiscardedAndRecomputed() async throws {
    defer { dir.remove() }
    let server = FakeSlotServer(directory: slotDir, slots: 1)
    _ = try await engine(server).generate(GenerationRequest(prefix: window, suffix: "\nQ1:", maxTokens: 4))
    let path = try #require(store.list().first?.path)
    var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
    bytes[bytes.count - 10] ^= 0xFF
    try bytes.write(to: URL(fileURLWithPath: path))

    server.restart()
    let r = try await engine(server).generate(GenerationRequest(prefix: window, suffix: "\nQ2:", maxTokens: 4))
    #expect(r.text == "ok" && r.cachedTokens == 0)
    #expect(server.count("restore") == 0 && server.count("prime") == 2 && server.count("save") == 2)
    #expect(store.verify().intact.count == 1)  // recomputed and stored again
  }

  @Test func aSlotTheServerLostIsRestoredNextTime() async throws {
    defer { dir.remove() }
    let server = FakeSlotServer(directory: slotDir, slots: 1)
    let e = try engine(server)
    _ = try await e.generate(GenerationRequest(prefix: window, suffix: "\nQ1:", maxTokens: 4))
    server.restart()  // the engine still believes slot 0 holds the window
    let lost = try await e.generate(GenerationRequest(prefix: window, suffix: "\nQ2:", maxTokens: 4))
    #expect(lost.text == "ok" && lost.cachedTokens == 0)
    server.erase(0)
    let again = try await e.generate(GenerationRequest(prefix: window, suffix: "\nQ3:", maxTokens: 4))
    #expect(server.count("restore") == 1 && again.cachedTokens == FakeSlotServer.tokens(window).count)
  }

  @Test func aRestoreTheServerDoesNotReuseSwitchesThemOffWithAHint() async throws {
    defer { dir.remove() }
    let server = FakeSlotServer(directory: slotDir, slots: 1)
    _ = try await engine(server).generate(GenerationRequest(prefix: window, suffix: "\nQ1:", maxTokens: 4))
    server.restart()
    server.restoredSlotsAreUseless = true
    let e = try engine(server)
    let r = try await e.generate(GenerationRequest(prefix: window, suffix: "\nQ2:", maxTokens: 4))
    #expect(r.text == "ok" && r.cachedTokens == 0)
    #expect(e.slots?.disabled?.contains("--swa-full") == true)
  }

  @Test func shortPrefixesAreNotCheckpointed() async throws {
    defer { dir.remove() }
    let server = FakeSlotServer(directory: slotDir, slots: 1)
    _ = try await engine(server, minimum: 500).generate(GenerationRequest(prefix: window, suffix: "?", maxTokens: 4))
    #expect(server.count("prime") == 0 && server.count("save") == 0 && store.list().isEmpty)
    #expect(server.count("complete") == 1)
  }

  @Test func aServerWithoutSlotSavePathSwitchesThemOffButStillAnswers() async throws {
    defer { dir.remove() }
    let server = FakeSlotServer(directory: slotDir, slots: 1)
    server.saveEnabled = false
    let e = try engine(server)
    let r = try await e.generate(GenerationRequest(prefix: window, suffix: "?", maxTokens: 4))
    #expect(r.text == "ok" && store.list().isEmpty)
    #expect(e.slots?.disabled?.contains("--slot-save-path") == true)
  }

  @Test func aDirectoryTheServerDoesNotWriteToSwitchesThemOff() async throws {
    defer { dir.remove() }
    let elsewhere = dir.url.appendingPathComponent("server-side")
    try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
    let server = FakeSlotServer(directory: elsewhere, slots: 1)  // saves land where longctx does not look
    let e = try engine(server)
    let r = try await e.generate(GenerationRequest(prefix: window, suffix: "?", maxTokens: 4))
    #expect(r.text == "ok" && store.list().isEmpty)
    #expect(e.slots?.disabled?.contains("does not exist here") == true)
  }

  @Test func aMissingDirectoryIsAConfigurationError() async throws {
    defer { dir.remove() }
    let server = FakeSlotServer(directory: slotDir, slots: 1)
    #expect(throws: EngineError.self) {
      try self.engine(server, directory: dir.url.appendingPathComponent("nope"))
    }
  }
}

@Suite struct SlotStateFileTests {
  @Test func readsVersionedAndPlainTokenLists() {
    #expect(SlotStateFile.tokens(in: FakeSlotServer.stateFile([2, 10, 11])) == [2, 10, 11])
    var plain = Data()
    for v: UInt32 in [SlotStateFile.magic, 4, 2, 7, 8] {
      withUnsafeBytes(of: v.littleEndian) { plain.append(contentsOf: $0) }
    }
    #expect(SlotStateFile.tokens(in: plain) == [7, 8])
  }

  @Test func rejectsOtherBytes() {
    #expect(SlotStateFile.tokens(in: Data("not a slot file".utf8)) == nil)
    var truncated = FakeSlotServer.stateFile([2, 10, 11])
    truncated = truncated.prefix(16)
    #expect(SlotStateFile.tokens(in: truncated) == nil)
  }
}

@Suite struct SlotPoolTests {
  @Test func prefersTheSlotHoldingThePrefix() async {
    let pool = SlotPool(count: 3)
    let a = await pool.acquire(preferring: "x")
    await pool.release(a.slot, holding: "x")
    let b = await pool.acquire(preferring: "y")
    #expect(b.slot != a.slot && !b.holds)  // an empty slot, not the one holding x
    let c = await pool.acquire(preferring: "x")
    #expect(c.slot == a.slot && c.holds)
  }

  @Test func waitsWhenAllSlotsAreBusy() async {
    let pool = SlotPool(count: 1)
    let first = await pool.acquire(preferring: nil)
    let waiter = Task { await pool.acquire(preferring: "k") }
    try? await Task.sleep(nanoseconds: 50_000_000)
    await pool.release(first.slot, holding: "k")
    let got = await waiter.value
    #expect(got.slot == first.slot && got.holds)
  }
}
