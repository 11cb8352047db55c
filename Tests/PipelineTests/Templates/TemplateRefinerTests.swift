import Foundation
import Inference
import Ingest
import Testing

@testable import Pipeline

/// Issue 31, item 4: one call per template, the call budget, the cache, and what a refused answer
/// leaves, with an engine that answers from a script (no model).
@Suite struct TemplateRefinerTests {
  /// Answers each prompt with the next scripted text; counts calls and records requests.
  final class ScriptedEngine: Engine, @unchecked Sendable {
    let name = "scripted"
    let modelIdentity = "scripted-model"
    private let lock = NSLock()
    private var answers: [String]
    private(set) var requests: [GenerationRequest] = []

    init(_ answers: [String]) { self.answers = answers }

    var calls: Int { lock.withLock { requests.count } }

    func generate(_ request: GenerationRequest) async throws -> GenerationResult {
      let text = lock.withLock {
        requests.append(request)
        return answers.isEmpty ? "" : answers.removeFirst()
      }
      return GenerationResult(text: text, promptTokens: 10, outputTokens: 5)
    }
  }

  static let clusters = [
    TemplateRefiner.Cluster(
      template: "Accepted password for root from <*>",
      lines: ["Accepted password for root from 10.0.0.1", "Accepted password for root from 10.0.0.2"]),
    TemplateRefiner.Cluster(template: "disk <*> full", lines: ["disk sda1 full", "disk sdb full"]),
    TemplateRefiner.Cluster(template: "<*> <*>", lines: ["a b"]),
    TemplateRefiner.Cluster(template: "Session closed", lines: ["Session closed"]),
  ]

  @Test func oneCallPerTemplateAndRefusedAnswersKeepTheMinersTemplate() async throws {
    // The second answer drops a constant word the lines have: refused.
    let engine = ScriptedEngine([" Accepted password for <*> from <*>", " disk <*> is full"])
    let refiner = TemplateRefiner(engine: engine, budget: 10)
    var cache: [String: String] = [:]
    let (outcomes, calls) = try await refiner.refine(Self.clusters, cache: &cache)
    #expect(calls == 3)
    #expect(
      outcomes == [
        .refined("Accepted password for <*> from <*>"), .refused("disk <*> is full"), .nothingToAsk, .refused(nil),
      ])
    // Every call is bound by the grammar of its template.
    #expect(
      engine.requests.map(\.grammar)
        == [Self.clusters[0], Self.clusters[1], Self.clusters[3]].map {
          TemplateRefinement.grammar(for: $0.template)
        })
    #expect(
      cache == [
        "Accepted password for root from <*>": "Accepted password for <*> from <*>",
        "disk <*> full": "disk <*> is full",
        "Session closed": "",
      ])
  }

  @Test func theBudgetBoundsCallsAndTheCacheAnswersAgainWithoutAModel() async throws {
    let engine = ScriptedEngine([" Accepted password for <*> from <*>"])
    var cache: [String: String] = [:]
    let first = try await TemplateRefiner(engine: engine, budget: 1).refine(Self.clusters, cache: &cache)
    #expect(first.calls == 1)
    #expect(first.outcomes == [.refined("Accepted password for <*> from <*>"), .skipped, .nothingToAsk, .skipped])
    // From the cache: no engine is even made.
    let again = TemplateRefiner(
      makeEngine: { throw EngineError.unavailable("no model in this test") }, budget: 0)
    let second = try await again.refine(Array(Self.clusters.prefix(1)), cache: &cache)
    #expect(second.calls == 0)
    #expect(second.outcomes == [.refined("Accepted password for <*> from <*>")])
  }
}
