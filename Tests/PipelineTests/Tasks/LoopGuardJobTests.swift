import Foundation
import Inference
import Logging
import Pipeline
import Storage
import Testing
import _LongctxTestSupport

/// `model.loop_guard` in job files, in requests, and in what task outputs are stored under.
@Suite struct LoopGuardJobTests {
  static func job(_ dir: URL, loopGuard: String?) throws -> JobSpec {
    let yaml = """
      name: guarded
      inputs: [docs]
      model: {engine: llama, context: 400\(loopGuard.map { ", loop_guard: \($0)" } ?? "")}
      generation: {max_tokens: 16}
      map: {prompt: "{{window}}\\nSummary:"}
      reduce: {prompt: "{{outputs}}\\nCombined:"}
      """
    return try JobFile.parse(yaml, path: "guarded.yaml", baseDirectory: dir.path)
  }

  @Test func onByDefaultOffOrSetKeyByKey() throws {
    let dir = URL(fileURLWithPath: "/tmp")
    #expect(try Self.job(dir, loopGuard: nil).model.loopGuard == .standard)
    #expect(try Self.job(dir, loopGuard: "on").model.loopGuard == .standard)
    #expect(try Self.job(dir, loopGuard: "off").model.loopGuard == nil)
    #expect(try Self.job(dir, loopGuard: "false").model.loopGuard == nil)
    let set = try Self.job(dir, loopGuard: "{dry_multiplier: 0, max_repeats: 3, dry_last_n: 64}").model.loopGuard
    #expect(set?.dryMultiplier == 0 && set?.maxRepeats == 3 && set?.dryLastTokens == 64 && set?.dryBase == 1.75)
    // Wrong values name the key.
    #expect {
      try Self.job(dir, loopGuard: "sometimes")
    } throws: { error in
      "\(error.userDescription)".contains("model.loop_guard (line 3): must be on, off or a mapping of DRY settings")
    }
    #expect {
      try Self.job(dir, loopGuard: "{dry_base: 0.5, repeats: 2}")
    } throws: { error in
      let text = error.userDescription
      return text.contains("model.loop_guard.dry_base") && text.contains("model.loop_guard.repeats")
    }
  }

  /// Each numeric setting below its minimum gets its own problem, in the order the keys are read.
  @Test func eachSettingBelowItsMinimumSaysWhy() throws {
    let bad = "{dry_multiplier: -1, dry_base: 0.5, dry_allowed_length: 0, dry_last_n: -2, max_repeats: 0}"
    #expect {
      try Self.job(URL(fileURLWithPath: "/tmp"), loopGuard: bad)
    } throws: { error in
      let lines = error.userDescription.split(separator: "\n").filter { $0.contains("model.loop_guard.") }
      return lines == [
        "  - model.loop_guard.dry_multiplier (line 3): must not be negative (0 turns DRY off)",
        "  - model.loop_guard.dry_base (line 3): must be at least 1",
        "  - model.loop_guard.dry_allowed_length (line 3): must be at least 1",
        "  - model.loop_guard.dry_last_n (line 3): must be 0 (the whole output) or more",
        "  - model.loop_guard.max_repeats (line 3): must be at least 1",
      ]
    }
  }

  /// The guard is in the job's hash and in every task's identity: outputs made without it
  /// (or with other settings) are made again, not reused.
  @Test func theGuardIsPartOfTheJobHashAndOfTaskIdentity() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try tmp.write("docs/a.txt", (1...40).map { "Line \($0) of a plain document." }.joined(separator: "\n"))
    let on = try Self.job(tmp.url, loopGuard: nil)
    let off = try Self.job(tmp.url, loopGuard: "off")
    let other = try Self.job(tmp.url, loopGuard: "{max_repeats: 3}")
    #expect(Set([on.canonicalHash, off.canonicalHash, other.canonicalHash]).count == 3)

    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    let engine = FakeEngine()
    func run(_ spec: JobSpec) async throws -> RunSummary {
      try await JobRunner(
        workspace: ws, spec: spec, counter: EstimatedTokenCounter(), modelKey: "fake", logger: Logger(label: "test"),
        settings: RunSettings(retryBaseDelay: 0.001), engineFactory: { engine }
      ).run()
    }
    let first = try await run(on)
    #expect(first.executed == first.tasks && first.failed == 0)
    #expect(try await run(on).executed == 0, "the same settings reuse every output")
    let withoutGuard = try await run(off)
    #expect(withoutGuard.executed == withoutGuard.tasks, "outputs made with the guard are not reused without it")
    let otherGuard = try await run(other)
    #expect(otherGuard.executed == otherGuard.tasks)
  }

  /// Requests carry the job's guard to the engine.
  @Test func requestsCarryTheGuard() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try tmp.write("docs/a.txt", "One short document.\n")
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    let prepared = try await JobRunner(
      workspace: ws, spec: try Self.job(tmp.url, loopGuard: "{max_repeats: 4}"), counter: EstimatedTokenCounter(),
      modelKey: "fake", logger: Logger(label: "test"), engineFactory: { FakeEngine() }
    ).prepare()
    #expect(prepared.mapTasks.first?.1.loopGuard?.maxRepeats == 4)
  }
}
