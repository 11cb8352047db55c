import Foundation
import Inference
import Ingest

/// Optional LLM refinement of mined log templates (issue 31, item 4; LogBatcher-style).
///
/// For each template, a handful of its cluster's distinct lines go to the engine in one call
/// asking for the template in loghub's `<*>` convention; the answer replaces the miner's template
/// only when `TemplateRefinement.accepts` it (as a pattern it matches every line sent). The answer
/// is bound by `TemplateRefinement.grammar(for:)` where the engine takes grammars: the miner's
/// template with some constant words turned into `<*>`. Answers are cached by the miner's
/// template (the caller keeps one cache per model and `TemplateRefinement.promptVersion`), so a
/// template is asked about once; a run makes at most `budget` calls (templates past it keep the
/// miner's text). The engine is made on the first call only: a run answered from the cache
/// loads no model.
public struct TemplateRefiner: Sendable {
  /// One template to refine: the miner's text and some of its lines (message parts).
  public struct Cluster: Sendable, Hashable {
    public var template: String
    public var lines: [String]

    public init(template: String, lines: [String]) {
      self.template = template
      self.lines = lines
    }
  }

  /// What became of one template.
  public enum Outcome: Sendable, Equatable {
    /// The model's template, accepted.
    case refined(String)
    /// The model answered, but its template does not match every line (or it gave none).
    case refused(String?)
    /// No call: the budget was spent.
    case skipped
    /// No call: every word of the template is already a variable.
    case nothingToAsk
  }

  /// Makes the engine, on the first call.
  public var makeEngine: @Sendable () async throws -> any Engine
  /// Calls this run may make.
  public var budget: Int
  /// Tokens the model may write per answer, at most.
  public var maxTokens = 256

  public init(engine: any Engine, budget: Int) {
    self.init(makeEngine: { engine }, budget: budget)
  }

  /// - Parameters:
  ///   - makeEngine: Makes the engine; called once, before the first call, if any.
  ///   - budget: Calls this run may make.
  public init(makeEngine: @escaping @Sendable () async throws -> any Engine, budget: Int) {
    self.makeEngine = makeEngine
    self.budget = budget
  }

  /// Refines `clusters` in order (put the most frequent first: they matter most).
  ///
  /// - Parameter cache: Model answers by the miner's template, for this engine and prompt version
  ///   (the model's template, or "" for none); read before calling and added to after.
  /// - Returns: One outcome per cluster, and the number of calls made.
  /// - Throws: `EngineError` other than a permanent rejection of one prompt.
  public func refine(_ clusters: [Cluster], cache: inout [String: String]) async throws -> (
    outcomes: [Outcome], calls: Int
  ) {
    var calls = 0
    var outcomes: [Outcome] = []
    var engine: (any Engine)?
    for cluster in clusters {
      let sample = TemplateRefinement.sample(cluster.lines)
      let key = cluster.template
      guard let grammar = TemplateRefinement.grammar(for: cluster.template) else {
        outcomes.append(.nothingToAsk)
        continue
      }
      var answer: String?
      if let cached = cache[key] {
        answer = cached.isEmpty ? nil : cached
      } else {
        guard calls < budget else {
          outcomes.append(.skipped)
          continue
        }
        calls += 1
        if engine == nil { engine = try await makeEngine() }
        guard let engine else { break }
        let words = cluster.template.split(separator: " ").count
        let request = GenerationRequest(
          prefix: "", suffix: TemplateRefinement.prompt(lines: sample, draft: cluster.template),
          maxTokens: min(maxTokens, 16 + 8 * words),
          stop: ["\n"], grammar: grammar)
        do {
          answer = TemplateRefinement.answer(try await engine.generate(request).text)
        } catch EngineError.permanent {
          answer = nil
        }
        cache[key] = answer ?? ""
      }
      if let answer, TemplateRefinement.accepts(answer, lines: sample) {
        outcomes.append(.refined(answer))
      } else {
        outcomes.append(.refused(answer))
      }
    }
    return (outcomes, calls)
  }
}
