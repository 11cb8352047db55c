import Foundation
import Inference
import Ingest
import Storage

/// The task graph: the map level's requests, the per-document and reduce levels over it,
/// and what a task is (its request and the hash that names it).
extension JobRunner {
  /// Runs the map level, the per-document reduce when the job asks for it, and
  /// the reduce tree.
  ///
  /// - Returns: The done tasks of the last level: one task when all went well.
  func mapAndReduce(_ mapTasks: [(TaskRecord, GenerationRequest)], summary: inout RunSummary) async throws
    -> [TaskRecord]
  {
    let outputs = try await execute(level: 0, kind: .map, tasks: mapTasks, summary: &summary)
    return try await reduce(outputs, summary: &summary)
  }

  /// The per-document reduce when the job asks for it, and the reduce tree over the map level's `outputs`.
  ///
  /// - Returns: The done tasks of the last level: one task when all went well.
  func reduce(_ mapOutputs: [TaskRecord], summary: inout RunSummary) async throws -> [TaskRecord] {
    var outputs = mapOutputs
    if spec.mapPer == .document {
      outputs = try await reduceDocuments(outputs, summary: &summary)
    } else {
      try store.retireLevels(job: spec.name, kind: .document, above: 0)
    }

    // Reduce tree: each level groups the previous outputs so every prompt fits.
    var level = 1
    while outputs.count > 1 {
      let groups = try reduceGroups(outputs)
      let reduceTasks = groups.enumerated().map { (i, group) in
        reduceTask(kind: .reduce, level: level, ordinal: i, group: group)
      }
      try store.install(job: spec.name, kind: .reduce, level: level, tasks: reduceTasks.map(\.0))
      outputs = try await execute(level: level, kind: .reduce, tasks: reduceTasks, summary: &summary)
      level += 1
    }
    try store.retireLevels(job: spec.name, above: level - 1)
    return outputs
  }

  /// A reduce-prompt task over `group`'s outputs, citing their locators.
  func reduceTask(kind: TaskKind, level: Int, ordinal: Int, group: [TaskRecord]) -> (TaskRecord, GenerationRequest) {
    let values = budget.reduceValues(group)
    let (prefix, suffix) = PromptTemplate.render(spec.reduce.prompt, values: values, splitAfter: "outputs")
    let locators = group.flatMap(\.locators).uniqued()
    let request = makeRequest(prefix: prefix, suffix: suffix, jsonSchema: spec.reduce.jsonSchema, locators: locators)
    return (makeTask(kind: kind, level: level, ordinal: ordinal, request: request, locators: locators), request)
  }

  /// A request under the job's settings; `x-longctx: locator` fields of `jsonSchema`
  /// are restricted to `locators`, the task's own (in the grammar, in what servers get
  /// and in validation alike, since all three read the request's schema), as the model writes them.
  func makeRequest(prefix: String, suffix: String, jsonSchema: String?, locators: [Locator]) -> GenerationRequest {
    let jsonSchema = jsonSchema.map { JSONSchema.restrictingLocators($0, to: locators.citations) }
    return GenerationRequest(
      prefix: prefix, suffix: suffix, maxTokens: spec.generation.maxTokens,
      temperature: spec.generation.temperature, seed: spec.generation.seed, stop: spec.generation.stop,
      jsonSchema: jsonSchema, schemaGrammar: jsonSchema.flatMap { try? JSONSchema(text: $0).gbnf },
      loopGuard: spec.model.loopGuard)
  }

  func makeTask(kind: TaskKind, level: Int, ordinal: Int, request: GenerationRequest, locators: [Locator]) -> TaskRecord
  {
    let inputHash = Hashing.sha256(
      parts: [
        modelKey, request.prefix, request.suffix, String(request.maxTokens), String(request.temperature),
        String(request.seed), request.stop.joined(separator: "\u{1}"), request.grammar ?? "",
      ] + (request.jsonSchema.map { ["json_schema", $0] } ?? [])  // absent: ids of older tasks unchanged
        + (request.loopGuard.map { ["loop_guard", $0.hashKey] } ?? []))  // outputs made without it are not reused
    return TaskRecord(
      id: TaskStore.taskID(job: spec.name, kind: kind, level: level, inputHash: inputHash), job: spec.name,
      kind: kind, level: level, ordinal: ordinal, inputHash: inputHash, locators: locators)
  }

  /// Groups outputs so each reduce prompt fits the context (fan-in ≥ 2).
  func reduceGroups(_ outputs: [TaskRecord]) throws -> [[TaskRecord]] {
    let budget = self.budget
    var groups: [[TaskRecord]] = []
    var current: [TaskRecord] = []
    for output in outputs {
      let candidate = current + [output]
      if current.count >= 2, try !budget.reduceFits(candidate) {
        groups.append(current)
        current = [output]
      } else {
        current = candidate
      }
    }
    if !current.isEmpty { groups.append(current) }
    // A level that would not shrink the list (one input per group) cannot make progress.
    if groups.count == outputs.count && outputs.count > 1 {
      groups = stride(from: 0, to: outputs.count, by: 2).map { Array(outputs[$0..<min($0 + 2, outputs.count)]) }
    }
    return groups
  }
}
