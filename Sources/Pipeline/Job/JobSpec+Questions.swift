import Foundation
import Segmenter

extension JobSpec {
  /// One entry of `questions:`: a question asked of every window of the job's one plan.
  public struct QuestionSpec: Sendable, Hashable, Codable {
    /// Names the question in the report and in its tasks' identity (letters, digits, `.`, `_`, `-`).
    public var name: String
    /// The value of `{{question}}` in this question's prompts.
    public var question: String?
    /// This question's own map prompt and schema; nil: the job's `map`. Its text up to
    /// `{{window}}` is the job's, so every question of a window shares that prefix.
    public var map: PromptSpec?
    /// This question's per-document coding (needs a map schema).
    public var coding: CodingSpec?

    public init(name: String, question: String? = nil, map: PromptSpec? = nil, coding: CodingSpec? = nil) {
      self.name = name
      self.question = question
      self.map = map
      self.coding = coding
    }
  }

  /// Tokens `{{question}}` and a question's own map prompt may add to the job's map prompt
  /// without changing the plan: the window budget keeps this much room for them, so adding
  /// a question to a finished job leaves its windows (and the other questions' tasks) as they were.
  public static let questionRoom = 256

  /// The character that joins a job's name and a question's name in the question's task
  /// identity; never in a job name, so no job's tasks can be taken for a question's.
  public static let questionSeparator = "+"

  /// Whether this job asks several questions (`questions:`).
  public var asksQuestions: Bool { !(questions ?? []).isEmpty }

  /// One job per question, as `JobRunner` runs and reports it: the job's settings with the
  /// question's `{{question}}`, map prompt and coding, named `JOB+QUESTION` (the tasks' job),
  /// its report `REPORT-QUESTION.md` (where a question's coding CSV goes).
  public var questionJobs: [JobSpec] {
    (questions ?? []).map { q in
      var job = self
      job.questions = nil
      job.name = name + Self.questionSeparator + q.name
      job.question = q.question
      if let map = q.map { job.map = map }
      job.coding = q.coding
      let report = reportFile
      let stem = report.hasSuffix(".md") ? String(report.dropLast(3)) : report
      job.reportPath = "\(stem)-\(q.name).md"
      return job
    }
  }

  /// The planning options of a job with `questions:`: no question steers relevance (the
  /// plan must not depend on which questions the job has; every question reads every window).
  var questionsPlanOptions: PlanOptions {
    var options = planOptions
    options.question = nil
    return options
  }
}

extension JobSpec {
  /// The job's name as its prompts' `{{job}}` says it: a question's job gives its parent's,
  /// so that the questions of a window share the prompt's prefix.
  public var jobName: String {
    name.split(separator: Character(Self.questionSeparator), maxSplits: 1).first.map(String.init) ?? name
  }
}
