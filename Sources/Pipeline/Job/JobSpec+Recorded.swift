import Foundation
import GRDB
import Storage

/// What the workspace recorded of a job's settings when `run` finished it.
public enum RecordedJob: Sendable, Equatable {
  /// The job file `run` ran, read again: the settings its report was written with.
  case spec(JobSpec)
  /// The job was run, but its job file was not recorded (a workspace written before
  /// longctx recorded it, or a run from a spec that came from no file).
  case notRecorded
  /// The recorded job file no longer reads (a key this longctx does not know, say).
  case unreadable(reason: String)
  /// No run of the job has finished in this workspace.
  case none
}

extension JobSpec {
  /// The settings `run` recorded for job `name` (its job file's text and directory, in the
  /// `job` table), so that a report asked for by name is the one `run` wrote.
  ///
  /// A question of a `questions:` job (`JOB+NAME`) gets its own spec, made from its job's.
  ///
  /// - Parameters:
  ///   - name: The job's name, as `name:` gives it, or a question's `JOB+NAME`.
  ///   - workspace: The workspace the job ran in.
  /// - Returns: What was recorded; see `RecordedJob`.
  /// - Throws: Database errors.
  public static func recorded(job name: String, in workspace: Workspace) throws -> RecordedJob {
    let row = try workspace.db.read { db in
      try Row.fetchOne(db, sql: "SELECT specText, baseDirectory FROM job WHERE name = ?", arguments: [name])
    }
    guard let row else { return .none }
    guard let text: String = row["specText"], let base: String = row["baseDirectory"] else { return .notRecorded }
    let spec: JobSpec
    do {
      spec = try JobFile.parse(text, path: "\(name) (the job file recorded by run)", baseDirectory: base)
    } catch {
      return .unreadable(reason: error.userDescription)
    }
    if spec.name == name { return .spec(spec) }
    guard let question = spec.questionJobs.first(where: { $0.name == name }) else {
      return .unreadable(reason: "the recorded job file is job \(spec.name), not \(name)")
    }
    return .spec(question)
  }
}
