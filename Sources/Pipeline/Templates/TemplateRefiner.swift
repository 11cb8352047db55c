import Foundation
import Inference
import Ingest

/// Optional LLM refinement of mined log templates (issue 31, item 4; LogBatcher-style).
///
/// For each template, a handful of its cluster's distinct lines go to the engine in one call
/// asking for the template in loghub's `<*>` convention; the answer replaces the miner's template
/// only when `TemplateRefinement.accepts` it (as a pattern it matches every line sent). Answers
/// are cached by the miner's template and the model, so a template is asked about once; a run
/// makes at most `budget` calls (templates past it keep the miner's text).
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
  }

  public var engine: any Engine
  /// Calls this run may make.
  public var budget: Int
  /// Tokens the model may write per answer.
  public var maxTokens = 96

  public init(engine: any Engine, budget: Int) {
    self.engine = engine
    self.budget = budget
  }

  /// The cache key of a template's answer: the template and the model that answers.
  public func cacheKey(_ template: String) -> String { engine.modelIdentity + "\u{1F}" + template }

  /// Refines `clusters` in order (put the most frequent first: they matter most).
  ///
  /// - Parameter cache: Model answers by `cacheKey(_:)` (the model's raw template, or "" for
  ///   none); read before calling and added to after.
  /// - Returns: One outcome per cluster, and the number of calls made.
  /// - Throws: `EngineError` other than a permanent rejection of one prompt.
  public func refine(_ clusters: [Cluster], cache: inout [String: String]) async throws -> (
    outcomes: [Outcome], calls: Int
  ) {
    var calls = 0
    var outcomes: [Outcome] = []
    for cluster in clusters {
      let sample = TemplateRefinement.sample(cluster.lines)
      let key = cacheKey(cluster.template)
      var answer: String?
      if let cached = cache[key] {
        answer = cached.isEmpty ? nil : cached
      } else {
        guard calls < budget else {
          outcomes.append(.skipped)
          continue
        }
        calls += 1
        let request = GenerationRequest(
          prefix: "", suffix: TemplateRefinement.prompt(lines: sample), maxTokens: maxTokens, stop: ["\n\n"])
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
