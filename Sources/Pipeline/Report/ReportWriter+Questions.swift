import Foundation
import Storage

/// The one report of a job with `questions:`: what the job read once, then a section per
/// question (its summary, coding table, windows and tasks, as a one-question report has them).
extension ReportWriter {
  /// The JSON report of a job with questions: each question's report under its name.
  public struct QuestionsJSONReport: Encodable, Sendable {
    public var job: String
    public var questions: [Question]

    public struct Question: Encodable, Sendable {
      public var name: String
      public var question: String?
      public var report: JSONReport
    }
  }

  /// The Markdown report of a job with questions.
  ///
  /// - Throws: `PipelineError.unknownJob` when a question has no tasks.
  public func questionsMarkdown(_ spec: JobSpec) throws -> String {
    try questionsMarkdown(spec, data: questionData(spec))
  }

  func questionData(_ spec: JobSpec) throws -> [(JobSpec, ReportData)] {
    try spec.questionJobs.map { ($0, try ReportData(workspace: workspace, job: $0.name, spec: $0)) }
  }

  func questionsMarkdown(_ spec: JobSpec, data: [(JobSpec, ReportData)]) -> String {
    let names = (spec.questions ?? []).map(\.name)
    let windows = data.first.map { $0.1.tasks.filter { $0.kind == .map }.count } ?? 0
    var md = "# Report: \(spec.name)\n\n"
    md += "\(names.count) questions over \(windows) windows: \(names.joined(separator: ", ")).\n\n"
    if let first = data.first?.1 { md += first.facts.markdown }
    for ((job, one), question) in zip(data, spec.questions ?? []) {
      // The computed facts are the same for every question: shown once, above.
      var body = markdown(one, prices: job.prices).replacingOccurrences(of: one.facts.markdown, with: "")
      // The question's own report, its title dropped and its headings one level down.
      if let end = body.range(of: "\n\n") { body = String(body[end.upperBound...]) }
      body = body.split(separator: "\n", omittingEmptySubsequences: false).map {
        $0.hasPrefix("#") ? "#" + $0 : String($0)
      }.joined(separator: "\n")
      md += "## Question: \(question.name)\n\n"
      if let text = question.question { md += "> " + text.replacingOccurrences(of: "\n", with: "\n> ") + "\n\n" }
      md += body
      if !md.hasSuffix("\n\n") { md += "\n" }
    }
    return md
  }

  /// Writes the report of a job with questions: Markdown and JSON in one file each, at the
  /// job's report path; HTML and CSV one file per question beside it (`REPORT-QUESTION.html`);
  /// each question's coding table as `JOB+QUESTION-coding.csv`.
  ///
  /// - Returns: The Markdown report's path (or the first format's).
  public func write(questionsOf spec: JobSpec) throws -> String {
    let rel = spec.reportFile
    let url =
      (rel.hasPrefix("/")
      ? URL(fileURLWithPath: rel) : URL(fileURLWithPath: spec.baseDirectory).appendingPathComponent(rel))
      .standardizedFileURL
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    let data = try questionData(spec)
    var written: [String] = []
    for format in spec.reportFormats {
      let target =
        format == .md && url.pathExtension == "md"
        ? url : url.deletingPathExtension().appendingPathExtension(format.fileExtension)
      switch format {
      case .md:
        try AtomicFile.write(Data(questionsMarkdown(spec, data: data).utf8), to: target)
      case .json:
        let report = QuestionsJSONReport(
          job: spec.name,
          questions: zip(spec.questions ?? [], data).map {
            .init(name: $0.name, question: $0.question, report: json($1.1))
          })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(report), to: target)
      case .html, .csv:
        for (job, one) in data {
          let file = url.deletingLastPathComponent().appendingPathComponent(
            URL(fileURLWithPath: job.reportFile).deletingPathExtension().lastPathComponent + "." + format.fileExtension)
          try AtomicFile.write(Data(try render(one, format: format, prices: job.prices).utf8), to: file)
        }
      }
      written.append(target.path)
    }
    for (job, one) in data {
      if let coding = one.coding { try AtomicFile.write(Data(coding.csv.utf8), to: CodingTable.csvURL(for: job)) }
    }
    return written.first ?? url.path
  }
}
