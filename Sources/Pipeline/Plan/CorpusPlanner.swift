import Foundation
import Inference
import Ingest
import Segmenter
import Storage

/// The planner over the workspace's corpus: reads the ingested files'
/// sections and hands them to `Planner` as values, with token counts cached
/// in the workspace.
public struct CorpusPlanner: Sendable {
  let corpus: Corpus
  let planner: Planner

  public init(workspace: Workspace, counter: any TokenCounter) {
    corpus = Corpus(workspace: workspace)
    planner = Planner(tokens: TokenCache(workspace: workspace, counter: counter))
  }

  /// Plans `files` (in source order) into windows of at most `budget` tokens.
  public func plan(files: [IngestedFile], budget: Int, options: PlanOptions = PlanOptions()) throws -> Plan {
    try planner.plan(documents(files), budget: budget, options: options)
  }

  /// The planner's view of `files`: kind and sections, cited by display path.
  public func documents(_ files: [IngestedFile]) throws -> [PlanDocument] {
    try files.map { file in
      let kind = try corpus.kind(ofDocument: file.documentHash)
      return PlanDocument(
        documentHash: file.documentHash, displayPath: file.displayPath, kind: kind,
        sections: try corpus.sections(ofDocument: file.documentHash, displayPath: file.displayPath),
        templates: kind == .log
          ? try LogTemplateStore.documentLines(corpus.workspace, documentHash: file.documentHash) : nil)
    }
  }
}
