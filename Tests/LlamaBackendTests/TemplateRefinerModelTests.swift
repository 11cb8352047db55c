import Foundation
import Inference
import Ingest
import Pipeline
import Testing
import _LongctxTestSupport

@testable import LlamaBackend

/// Issue 31, item 4 with the real model (Gemma 3 270M): the mechanics of template refinement, not
/// the quality of its answers (BENCHMARKS.md measures that).
@Suite(.serialized) struct TemplateRefinerModelTests {
  static let clusters = [
    TemplateRefiner.Cluster(
      template: "Accepted password for root from <*> port <*> ssh2",
      lines: [
        "Accepted password for root from 10.0.0.1 port 5122 ssh2",
        "Accepted password for root from 10.0.0.7 port 40022 ssh2",
      ]),
    TemplateRefiner.Cluster(
      template: "Receiving block blk_<*> src: <*> dest: <*>",
      lines: [
        "Receiving block blk_1 src: /10.0.0.1:50010 dest: /10.0.0.2:50010",
        "Receiving block blk_22 src: /10.0.0.3:50010 dest: /10.0.0.2:50010",
      ]),
    TemplateRefiner.Cluster(template: "Connection closed by user mary", lines: ["Connection closed by user mary"]),
    // The miner's template does not match its lines here, so no answer the grammar allows can
    // pass the check: refused, and the statistical template stays.
    TemplateRefiner.Cluster(template: "Fan speed normal", lines: ["Disk 3 failed", "Disk 4 failed"]),
  ]

  static func engine() throws -> LlamaEngine {
    try LlamaEngine(
      modelPath: try LlamaEngineCheckpointTests.modelPath(), options: LlamaEngineOptions(contextTokens: 2048))
  }

  @Test func everyTemplatesGrammarIsOneLlamaCppAccepts() throws {
    let model = try LlamaModel(path: try LlamaEngineCheckpointTests.modelPath(), vocabOnly: true)
    for cluster in Self.clusters {
      guard let grammar = TemplateRefinement.grammar(for: cluster.template) else { continue }
      try LlamaGrammar.check(vocab: model.vocab, grammar: grammar)
    }
  }

  @Test func greedyIsDeterministicWithinBudgetAndCachedAfter() async throws {
    let engine = try Self.engine()
    var cache: [String: String] = [:]
    let first = try await TemplateRefiner(engine: engine, budget: 3).refine(Self.clusters, cache: &cache)
    #expect(first.calls == 3)
    #expect(first.outcomes.last == .skipped)
    // Accepted answers are the miner's template or more general: they match every line.
    for (cluster, outcome) in zip(Self.clusters, first.outcomes) {
      if case .refined(let text) = outcome {
        #expect(cluster.lines.allSatisfy { TemplateRefinement.matches(text, $0) })
      }
    }
    // Again with a fresh cache: the same answers (temperature 0).
    var fresh: [String: String] = [:]
    let again = try await TemplateRefiner(engine: engine, budget: 3).refine(Self.clusters, cache: &fresh)
    #expect(again.outcomes == first.outcomes)
    #expect(fresh == cache)
    // With the cache: no call for what was answered; the last template takes the one call left.
    let cached = try await TemplateRefiner(engine: engine, budget: 1).refine(Self.clusters, cache: &cache)
    #expect(cached.calls == 1)
    #expect(Array(cached.outcomes.prefix(3)) == Array(first.outcomes.prefix(3)))
    #expect(cached.outcomes.last == .refused(cache["Fan speed normal"].flatMap { $0.isEmpty ? nil : $0 }))
    let none = try await TemplateRefiner(engine: engine, budget: 0).refine(Self.clusters, cache: &cache)
    #expect(none.calls == 0)
  }
}
