import Foundation
import Inference
import Storage

/// What `exportBatch` wrote.
public struct BatchExport: Sendable {
  /// The JSONL text: one request per pending map task.
  public var text: String
  /// Map tasks written (not yet done).
  public var pending: Int
  /// Map tasks of the job's current plan.
  public var total: Int
}

/// What `importBatch` recorded.
public struct BatchImport: Sendable {
  /// Results recorded as finished map tasks.
  public var imported: Int
  /// Results for tasks that were already done (left as they were).
  public var alreadyDone: Int
  /// Results that could not be used, each "line N: why"; their tasks stay pending.
  public var unusable: [String]
  /// Map tasks still pending after the import.
  public var stillPending: Int
  /// Map tasks of the job's current plan.
  public var total: Int
}

extension JobRunner {
  /// The job's pending map tasks as batch requests (after ingesting and planning, as `run` does).
  public func exportBatch(format: some BatchFormat) async throws -> BatchExport {
    let prepared = try await prepare()
    let stored = Dictionary(
      uniqueKeysWithValues: try store.tasks(job: spec.name, kind: .map, level: 0).map { ($0.id, $0.state) })
    let pending = prepared.mapTasks.filter { stored[$0.0.id] != .done }
    var text = ""
    for (task, request) in pending {
      let line: [String: Any] = [
        "custom_id": task.id, "method": "POST", "url": format.url, "body": format.body(for: request),
      ]
      text += String(
        decoding: try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys, .withoutEscapingSlashes]),
        as: UTF8.self)
      text += "\n"
    }
    return BatchExport(text: text, pending: pending.count, total: prepared.mapTasks.count)
  }

  /// Records a batch output file's results as the job's finished map tasks, through the
  /// same validation a generated output passes. Partial files are fine; unknown or
  /// repeated ids reject the whole file and record nothing.
  ///
  /// - Throws: `PipelineError.batchRejected`; ingest and plan errors.
  public func importBatch(_ data: Data, file: String, format: some BatchFormat) async throws -> BatchImport {
    let prepared = try await prepare()
    let tasks = Dictionary(uniqueKeysWithValues: prepared.mapTasks.map { ($0.0.id, $0) })
    let state = Dictionary(
      uniqueKeysWithValues: try store.tasks(job: spec.name, kind: .map, level: 0).map { ($0.id, $0.state) })
    let records = try BatchResults.parse(data, file: file, known: Set(tasks.keys), job: spec.name)
    var imported = 0
    var alreadyDone = 0
    var unusable: [String] = []
    for record in records {
      if state[record.id] == .done {
        alreadyDone += 1
        continue
      }
      guard let (task, request) = tasks[record.id] else { continue }
      switch record.outcome {
      case .failure(let failure):
        unusable.append("line \(record.line): \(failure.reason)")
      case .success(let body):
        do {
          let result = try format.result(fromBody: body)
          // An output the schema rejects is left pending: `run` generates it again under the schema.
          if let problem = try accept(
            result, for: task, request: request, engine: "openai-batch", model: format.modelIdentity, durationMs: 0)
          {
            unusable.append("line \(record.line): \(problem)")
          } else {
            imported += 1
          }
        } catch {
          unusable.append("line \(record.line): \(error.userDescription)")
        }
      }
    }
    let done = state.values.filter { $0 == .done }.count + imported
    return BatchImport(
      imported: imported, alreadyDone: alreadyDone, unusable: unusable,
      stillPending: prepared.mapTasks.count - done, total: prepared.mapTasks.count)
  }
}
