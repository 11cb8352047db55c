import Foundation
import Inference

extension Planner {
  /// Each chunk's cosine similarity to the question, when priority ranks chunks (a question
  /// and `max_windows`), semantic relevance is on and the embedding model is there; and the
  /// plan's statement of what ranked the chunks.
  func semanticRelevance(
    _ chunks: [Chunk], options: PlanOptions
  ) -> (semantic: (cosine: [Double], blend: SemanticBlend, weight: Double)?, relevance: String?) {
    guard options.maxWindows != nil else { return (nil, nil) }
    guard let question = options.question, !Scorer.terms(question).isEmpty else {
      return (nil, "no question: severity, recency and centrality only")
    }
    guard options.semantic else { return (nil, "BM25 (semantic relevance off: plan.semantic is false)") }
    switch embedder() {
    case .missing(let why):
      return (nil, "BM25 only: \(why)")
    case .ready(let model):
      do {
        let cosine = try SemanticRelevance(workspace: tokens.workspace, embedder: model, pieceBytes: semanticPieceBytes)
          .similarities(question: question, chunks: chunks).values
        let blend = options.semanticBlend
        let how =
          blend == .semanticOnly
          ? "semantic only"
          : "BM25 + semantic, \(blend.rawValue), semantic weight \(String(format: "%.2f", options.semanticWeight))"
        return ((cosine, blend, options.semanticWeight), "\(how) (\(model.modelID))")
      } catch {
        return (nil, "BM25 only: the embedding model failed (\(error.localizedDescription))")
      }
    }
  }
}
