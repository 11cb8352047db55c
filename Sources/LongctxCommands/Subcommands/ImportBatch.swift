import ArgumentParser
import Foundation
import Pipeline

extension Longctx {
  /// `longctx import-batch JOB.yaml results.jsonl`
  struct ImportBatch: BatchJobCommand {
    static let configuration = CommandConfiguration(
      commandName: "import-batch",
      abstract: "Record OpenAI Batch API results (JSONL) as the job's finished map tasks.",
      discussion: """
        Partial files are fine: tasks without a successful result stay pending and `longctx run` \
        runs them. Unknown or repeated custom_ids reject the whole file and record nothing.
        """)

    @OptionGroup(title: "Global Options") var global: GlobalOptions

    @Argument(help: JobReference.help("The job the requests were exported from: a job file, or a job's name."))
    var job: String

    @Argument(help: ArgumentHelp("The batch output file.", valueName: "results.jsonl")) var results: String

    var jobArgument: String? { job }

    func run(_ opened: JobContext) async throws {
      guard let data = FileManager.default.contents(atPath: results) else {
        throw CommandFailure(code: ExitCodes.usage, message: "longctx: cannot read \(results).")
      }
      let outcome = try await opened.runner().importBatch(data, file: results, format: try Self.format(opened.spec))
      for problem in outcome.unusable.prefix(10) { printError("longctx: not imported, \(problem)") }
      if !global.quiet {
        print(
          "imported \(outcome.imported) results (\(outcome.alreadyDone) already done, \(outcome.unusable.count) unusable); \(outcome.stillPending) of \(outcome.total) map tasks still pending; run `longctx run \(job)` to finish"
        )
      }
    }
  }
}
