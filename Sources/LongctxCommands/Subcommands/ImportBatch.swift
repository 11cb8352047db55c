import ArgumentParser
import Foundation
import HTTPBackend
import Pipeline

extension Longctx {
  /// `longctx import-batch JOB.yaml results.jsonl`
  struct ImportBatch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "import-batch",
      abstract: "Record OpenAI Batch API results (JSONL) as the job's finished map tasks.",
      discussion: """
        Partial files are fine: tasks without a successful result stay pending and `longctx run` \
        runs them. Unknown or repeated custom_ids reject the whole file and record nothing.
        """)

    @OptionGroup(title: "Global Options") var global: GlobalOptions

    @Argument(help: ArgumentHelp("The job file the requests were exported from.", valueName: "job.yaml")) var job: String

    @Argument(help: ArgumentHelp("The batch output file.", valueName: "results.jsonl")) var results: String

    func run() async throws {
      let context = try BatchContext(job: job, global: global, command: "import-batch")
      guard let data = FileManager.default.contents(atPath: results) else {
        throw CommandFailure(code: ExitCodes.usage, message: "longctx: cannot read \(results).")
      }
      let prepared = try await context.runner.prepare()
      let state = Dictionary(
        uniqueKeysWithValues: try context.store.tasks(job: context.spec.name, kind: "map", level: 0).map { ($0.id, $0.state) })
      let records = try BatchResults.parse(data, file: results, known: Set(prepared.mapTasks.map(\.0.id)), job: context.spec.name)

      var imported = 0, alreadyDone = 0
      var unusable: [String] = []
      for record in records {
        if state[record.id] == .done { alreadyDone += 1; continue }
        switch record.outcome {
        case .failure(let reason):
          unusable.append("line \(record.line): \(reason)")
        case .success(let body):
          do {
            let result = try OpenAIEngine.parseResult(body, api: context.options.api, endpoint: "the batch result")
            if let problem = OutputValidation.problem(in: result.text, schema: context.spec.map.jsonSchema, kind: "map") {
              // Left pending: `run` generates it again under the schema.
              unusable.append("line \(record.line): \(problem)")
              continue
            }
            try context.store.complete(
              record.id, output: result.text, promptTokens: result.promptTokens, outputTokens: result.outputTokens,
              engine: "openai-batch", model: OpenAIEngine.identity(context.options), durationMs: 0)
            imported += 1
          } catch {
            unusable.append("line \(record.line): \((error as? LocalizedError)?.errorDescription ?? "\(error)")")
          }
        }
      }
      let stillPending = prepared.mapTasks.count - (state.values.filter { $0 == .done }.count + imported)
      for problem in unusable.prefix(10) { printError("longctx: not imported, \(problem)") }
      if !global.quiet {
        print("imported \(imported) results (\(alreadyDone) already done, \(unusable.count) unusable); \(stillPending) of \(prepared.mapTasks.count) map tasks still pending; run `longctx run \(job)` to finish")
      }
    }
  }
}

/// One line of an OpenAI Batch output file.
struct BatchResult {
  var id: String
  var line: Int
  /// The response body on status 200, else why the request failed.
  var outcome: Result<Data, BatchResultFailure>
}

/// Why a batch request has no usable result.
struct BatchResultFailure: Error {
  var reason: String
}

enum BatchResults {
  /// Parses and validates a batch output file against the job's current map task ids.
  ///
  /// - Throws: `CommandFailure` (exit 2) naming malformed lines, unknown ids and duplicates.
  static func parse(_ data: Data, file: String, known: Set<String>, job: String) throws -> [BatchResult] {
    var out: [BatchResult] = []
    var seen: [String: Int] = [:]
    var problems: [String] = []
    let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
    for (index, raw) in lines.enumerated() {
      let number = index + 1
      let text = raw.trimmingCharacters(in: .whitespacesAndNewlines)
      if text.isEmpty { continue }
      guard let json = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
        let id = json["custom_id"] as? String
      else {
        problems.append("line \(number) is not a batch result with a custom_id")
        continue
      }
      if let first = seen[id] {
        problems.append("line \(number) repeats custom_id \(id) from line \(first)")
        continue
      }
      seen[id] = number
      guard known.contains(id) else {
        problems.append("line \(number) has custom_id \(id), which is not a pending or done map task of job \(job)")
        continue
      }
      let response = json["response"] as? [String: Any]
      let status = response?["status_code"] as? Int
      if let error = json["error"] as? [String: Any] {
        out.append(.init(id: id, line: number, outcome: .failure(.init(reason: "error \(error["code"] ?? ""): \(error["message"] ?? "")"))))
      } else if status == 200, let body = response?["body"],
        let bodyData = try? JSONSerialization.data(withJSONObject: body)
      {
        out.append(.init(id: id, line: number, outcome: .success(bodyData)))
      } else {
        out.append(.init(id: id, line: number, outcome: .failure(.init(reason: "status \(status.map(String.init) ?? "missing")"))))
      }
    }
    if !problems.isEmpty {
      let shown = problems.prefix(5).joined(separator: "; ") + (problems.count > 5 ? "; and \(problems.count - 5) more" : "")
      throw CommandFailure(
        code: ExitCodes.usage,
        message: "longctx: \(file) was not imported (nothing recorded): \(shown); export again with `longctx export-batch` if the job changed.")
    }
    return out
  }
}
