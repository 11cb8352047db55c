import Foundation

/// Errors of jobs and their runs. Each message names the problem and the fix.
public enum PipelineError: Error, LocalizedError, Equatable {
  case jobUnreadable(path: String, reason: String)
  case jobInvalid(path: String, problems: [String])
  case noInputs(job: String)
  case windowTooSmall(job: String, reserved: Int, context: Int)
  case unknownJob(String)
  /// A batch output file that does not belong to the job's current map tasks.
  case batchRejected(file: String, reason: String)
  /// `produce` on a job without a `production:` section.
  case noProduction(job: String)
  /// A production directory that holds something other than this job's production.
  case productionDirectoryTaken(path: String, owner: String?)

  public var errorDescription: String? {
    switch self {
    case .jobUnreadable(let path, let reason): "Cannot read job file \(path): \(reason)."
    case .jobInvalid(let path, let problems):
      "Job file \(path) is invalid:\n" + problems.map { "  - \($0)" }.joined(separator: "\n")
    case .noInputs(let job): "Job \(job) found no readable documents in its inputs; check `inputs`."
    case .windowTooSmall(let job, let reserved, let context):
      "Job \(job) reserves \(reserved) tokens for prompts and output, leaving no room in a context of \(context); raise model.context or lower generation.max_tokens."
    case .unknownJob(let name): "No job named \(name) has run in this workspace; run `longctx run JOB.yaml` first."
    case .batchRejected(let file, let reason):
      "\(file) was not imported (nothing recorded): \(reason); export again with `longctx export-batch` if the job changed."
    case .noProduction(let job):
      "Job \(job) has no production: section; add one with at least a Bates prefix (production: {prefix: ACME-})."
    case .productionDirectoryTaken(let path, let owner):
      owner.map {
        "\(path) holds job \($0)'s production; nothing was written. Choose another directory with -o."
      }
        ?? "\(path) is not empty and holds no longctx production; nothing was written. Choose an empty or new directory with -o."
    }
  }
}

extension PipelineError {
  /// Whether `error` is one of Pipeline's failures to write its output for want of a
  /// resource (a production's page image that could not be made, not even as a
  /// placeholder), not a fault of the job's settings: commands exit with their storage code.
  public static func isStorageFailure(_ error: any Error) -> Bool {
    error is ProductionImageError
  }
}
