import Foundation
import Inference
import Ingest

/// Per-document map tasks (`map.per: document`).
///
/// The planner never puts two documents in one window, so each map task reads
/// one document, or one part of a document larger than a window. The parts of
/// such a document are reduced per document first (tasks of kind `document`,
/// levels 1…), so every document ends with one output; the reduce tree then
/// combines documents as it combines windows.
enum DocumentReduce {
  /// The document (display path) a task's inputs come from.
  static func document(of task: TaskRecord) -> String {
    task.locators.first?.path ?? ""
  }
}

extension JobRunner {
  /// Reduces the map outputs of each document that spans several windows to one output.
  ///
  /// - Parameter outputs: Done map tasks in window order.
  /// - Returns: One done task per document, in document order (none for a
  ///   document whose tasks all failed).
  func reduceDocuments(_ outputs: [TaskRecord], summary: inout RunSummary) async throws -> [TaskRecord] {
    var order: [String] = []
    var byDocument: [String: [TaskRecord]] = [:]
    for task in outputs {
      let document = DocumentReduce.document(of: task)
      if byDocument[document] == nil { order.append(document) }
      byDocument[document, default: []].append(task)
    }
    var level = 1
    while order.contains(where: { (byDocument[$0]?.count ?? 0) > 1 }) {
      var tasks: [(TaskRecord, GenerationRequest)] = []
      for document in order {
        guard let parts = byDocument[document], parts.count > 1 else { continue }
        for group in try reduceGroups(parts) {
          tasks.append(reduceTask(kind: .document, level: level, ordinal: tasks.count, group: group))
        }
      }
      try store.install(job: spec.name, kind: .document, level: level, tasks: tasks.map(\.0))
      let done = try await execute(level: level, kind: .document, tasks: tasks, summary: &summary)
      // Documents reduced at this level take their new outputs; the others keep theirs.
      let reduced = Set(tasks.map { DocumentReduce.document(of: $0.0) })
      for document in reduced { byDocument[document] = [] }
      for task in done { byDocument[DocumentReduce.document(of: task), default: []].append(task) }
      level += 1
    }
    try store.retireLevels(job: spec.name, kind: .document, above: level - 1)
    return order.flatMap { byDocument[$0] ?? [] }
  }
}
