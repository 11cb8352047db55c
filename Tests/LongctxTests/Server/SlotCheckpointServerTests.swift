import Foundation
import Testing
import _LongctxTestSupport

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// End to end: llama-server slot save/restore through the workspace's checkpoint store,
/// with the real CLI, the real server (`--slot-save-path`, `--swa-full`: Gemma 3 uses
/// sliding-window attention, and without it the server cannot reuse a restored slot)
/// and the default model. One window of about 380 tokens, 8 output tokens.
@Suite(.serialized) struct SlotCheckpointServerTests {
  struct Summary: Decodable {
    var tasks: Int
    var executed: Int
    var failed: Int
    var windows: Int
    var cachedTokens: Int
  }
  struct Entry: Decodable {
    var model: String
    var tokens: Int
    var path: String
  }
  struct Report: Decodable {
    var tasks: [Task]
    struct Task: Decodable {
      var kind: String
      var output: String?
    }
  }

  let dir: TemporaryDirectory
  let slotDir: URL

  init() throws {
    dir = try TemporaryDirectory()
    slotDir = dir.url.appendingPathComponent("server-slots")
    try FileManager.default.createDirectory(at: slotDir, withIntermediateDirectories: true)
    // 14 log lines (of one template, so the job keeps repeats): one window whose prefix is
    // well above the 256-token minimum.
    let lines = (1...14).map { n in
      "2026-02-0\(n % 9 + 1) 11:\(String(format: "%02d", n)):07 \(n % 7 == 0 ? "ERROR" : "INFO") billing-\(n % 4) invoice \(1000 + n * 37) for account \(n * 13) took \(n * 11) ms"
    }
    try dir.write("inputs/billing.log", lines.joined(separator: "\n") + "\n")
  }

  func server() async throws -> LlamaServer {
    try await LlamaServer.started(
      slots: 1, extraArguments: ["--slot-save-path", slotDir.path, "--swa-full"], logDirectory: dir.url)
  }

  /// Writes the job for `server` with the map prompt's text after the window set to `question`.
  func job(_ server: LlamaServer, question: String, slots: Bool = true) throws -> String {
    let yaml = """
      name: slots-e2e
      inputs: [inputs]
      # The lines are one template: kept whole, so the prefix stays above the checkpoint minimum.
      plan: {collapse_repeats: false}
      model:
        engine: openai
        base_url: \(server.baseURL)
        name: gemma
        context: 1024
        timeout: 300
      \(slots ? "  slot_save_path: server-slots" : "")
      generation:
        max_tokens: 8
        temperature: 0
        seed: 1
      map:
        prompt: |
          Log excerpt:
          {{window}}
          \(question)
      reduce:
        prompt: "{{outputs}}\\nOverall:"
      """
    return try dir.write("job.yaml", yaml).path
  }

  func longctx(_ args: [String], workspace: String) async throws -> CLI.Result {
    try await ServerJob.longctx(args, workspace: dir.url.appendingPathComponent(workspace).path)
  }

  func run(_ job: String, workspace: String) async throws -> (Summary, CLI.Result) {
    let o = try await longctx(["run", job, "--json"], workspace: workspace)
    #expect(o.code == 0, "stderr: \(o.stderr)")
    return (try ServerJob.summary(Summary.self, of: o), o)
  }

  func mapOutput(_ job: String, workspace: String) async throws -> String? {
    let o = try await longctx(["report", job, "--json"], workspace: workspace)
    return try JSONDecoder().decode(Report.self, from: Data(o.stdout.utf8)).tasks.first { $0.kind == "map" }?.output
  }

  func entries(workspace: String) async throws -> [Entry] {
    let o = try await longctx(["checkpoints", "ls", "--json"], workspace: workspace)
    return try JSONDecoder().decode([Entry].self, from: Data(o.stdout.utf8))
  }

  @Test func storesRestoresAfterARestartAndRecomputesACorruptEntry() async throws {
    defer { dir.remove() }
    // 1. A run stores the window's slot in the workspace's checkpoint store.
    var s = try await server()
    let (first, _) = try await run(try job(s, question: "One-line summary:"), workspace: "ws")
    #expect(first.windows == 1 && first.failed == 0 && first.executed == first.tasks)
    let stored = try await entries(workspace: "ws")
    #expect(stored.count == 1)
    let entry = try #require(stored.first)
    #expect(entry.model.hasPrefix("llama-server:") && entry.tokens >= 256)
    #expect(first.cachedTokens < entry.tokens)  // nothing to restore yet: the prefix was computed
    #expect(try FileManager.default.contentsOfDirectory(atPath: slotDir.path).isEmpty)  // moved into the store

    // 2. After a restart (empty server cache), a changed-suffix task restores the prefix.
    s.kill()
    s = try await server()
    let changed = try job(s, question: "Main problem:")
    let (restored, _) = try await run(changed, workspace: "ws")
    #expect(restored.executed == 1 && restored.failed == 0)
    #expect(restored.cachedTokens >= entry.tokens, "the prefix was computed again instead of restored")
    let withRestore = try await mapOutput(changed, workspace: "ws")

    // 3. The same task without a restore (fresh workspace, fresh server) gives the same text at temperature 0.
    s.kill()
    s = try await server()
    let fresh = try job(s, question: "Main problem:")
    let (computed, _) = try await run(fresh, workspace: "ws-fresh")
    #expect(computed.cachedTokens < entry.tokens)
    let withoutRestore = try await mapOutput(fresh, workspace: "ws-fresh")
    #expect(withRestore != nil && withRestore == withoutRestore)

    // 4. A corrupt entry is discarded with a warning and the prefix recomputed (slot erased first).
    var bytes = try Data(contentsOf: URL(fileURLWithPath: entry.path))
    bytes[bytes.count - 100] ^= 0x5A
    try bytes.write(to: URL(fileURLWithPath: entry.path))
    var erase = URLRequest(url: URL(string: "http://127.0.0.1:\(s.port)/slots/0?action=erase")!)
    erase.httpMethod = "POST"
    erase.httpBody = Data("{}".utf8)
    _ = try await URLSession.shared.data(for: erase)
    let (recomputed, o) = try await run(try job(s, question: "Key facts:"), workspace: "ws")
    #expect(recomputed.failed == 0 && recomputed.cachedTokens < entry.tokens)
    #expect(o.stderr.contains("discarding corrupt KV checkpoint"), "stderr: \(o.stderr)")
    let verify = try await longctx(["checkpoints", "verify"], workspace: "ws")
    #expect(verify.code == 0)
    #expect(try await entries(workspace: "ws").count == 1)  // stored again, intact
    s.kill()
  }
}
