import ArgumentParser
import Foundation
import Ingest
import Pipeline
import Storage

/// Reports about the corpus rather than a job.
enum CorpusReport: String {
  case exceptions, duplicates
}

extension Longctx {
  /// `longctx report JOB`, `longctx report exceptions` and `longctx report duplicates`
  struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract:
        "Print a job's report (Markdown, JSON, HTML or CSV), `report exceptions` for ingest failures and skips, or `report duplicates` for exact and near-duplicate files."
    )

    @OptionGroup(title: "Global Options") var global: GlobalOptions

    @Argument(
      help: ArgumentHelp(
        "The job: a job file, or a job's name; or `exceptions` / `duplicates` for the corpus reports.",
        discussion: JobReference.rule
          + " A name gives the report `run` wrote, with the job file it recorded in the workspace (a job run before longctx recorded them: give the file for its coding table and cost).",
        valueName: "job"))
    var target: String?

    @Option(
      name: .customLong("job"),
      help: ArgumentHelp("A job's report by name, whatever it is called (even `exceptions`).", valueName: "name"))
    var jobName: String?

    @Flag(help: "Print JSON instead of Markdown (the same as --format json).") var json = false

    @Option(help: ArgumentHelp("A job report's format: md, json, html or csv (default md).", valueName: "format"))
    var format: ReportFormat?

    @Flag(
      help: ArgumentHelp(
        "Print the job's coding table as CSV (the <job>-coding.csv `run` writes; for a job with coding:)."))
    var coding = false

    @Option(
      name: [.customShort("o"), .long],
      help: ArgumentHelp("Write the report to FILE instead of printing it.", valueName: "file"))
    var output: String?

    func validate() throws {
      if (target == nil) == (jobName == nil) {
        throw ValidationError("give either a job (name or file), `exceptions`, `duplicates`, or --job NAME")
      }
      if json, let format, format != .json {
        throw ValidationError("'--json' and '--format \(format.rawValue)' disagree")
      }
    }

    func run() async throws {
      let workspace = try global.openWorkspace()
      let corpusReport = jobName == nil ? CorpusReport(rawValue: target ?? "") : nil
      if let corpusReport, try TaskStore(workspace: workspace).jobNames().contains(corpusReport.rawValue) {
        printError(
          "longctx: a job is also called \(corpusReport.rawValue); `longctx report --job \(corpusReport.rawValue)` shows its report."
        )
      }
      if corpusReport == .exceptions {
        let list = try Corpus(workspace: workspace).exceptions()
        if json {
          print(try jsonString(list))
          return
        }
        if list.isEmpty { print("no ingest exceptions") }
        for e in list { print("\(e.severity): \(e.path): \(e.reason)") }
        return
      }
      if corpusReport == .duplicates {
        let report = try Corpus(workspace: workspace).duplicates()
        if json {
          print(try jsonString(report))
          return
        }
        if report.exact.isEmpty && report.near.isEmpty { print("no duplicates") }
        for group in report.exact {
          print("exact duplicates (\(group.paths.count) files, stored once):")
          for path in group.paths { print("  \(path)") }
        }
        for group in report.near {
          print("near duplicates (\(group.documents.count) documents):")
          for member in group.documents {
            print("  \(member.paths.joined(separator: ", ")) (\(member.distance) bits apart)")
          }
        }
        return
      }
      let job = jobName ?? target ?? ""
      let reference = jobName.map(JobReference.name) ?? JobReference(job)
      let spec = try reference.spec() ?? recordedSpec(of: job, in: workspace)
      let name = spec?.name ?? job
      let chosen = format ?? (json ? .json : .md)
      var table: CodingTable?
      if coding {
        guard let spec, let computed = try CodingTable.compute(workspace: workspace, spec: spec) else {
          throw ValidationError("'--coding' needs a job with a coding: section (or production select/withhold)")
        }
        table = computed
      }
      // A job with questions: its one Markdown report (other formats: name a question, JOB+QUESTION).
      if let spec, spec.asksQuestions, chosen == .md, table == nil, output == nil {
        print(try ReportWriter(workspace: workspace).questionsMarkdown(spec), terminator: "")
        return
      }
      let text =
        try table?.csv
        ?? (chosen == .json
          ? try jsonString(ReportWriter(workspace: workspace).json(job: name, spec: spec))
          : try ReportWriter(workspace: workspace).render(job: name, format: chosen, spec: spec))
      if let output {
        try AtomicFile.write(Data(text.utf8), to: URL(fileURLWithPath: output))
        if !global.quiet { printError("report: \(output)") }
        return
      }
      print(text, terminator: chosen == .json && !coding ? "\n" : "")
    }

    /// The settings `run` recorded for the job named `name`, so that its report is the one
    /// `run` wrote; nil, with a note on stderr saying what the report lacks, when there are none.
    private func recordedSpec(of name: String, in workspace: Workspace) throws -> JobSpec? {
      let lacks =
        "its report lacks what needs the job file (coding table, cost estimate, the job's own ingest exceptions)"
      switch try JobSpec.recorded(job: name, in: workspace) {
      case .spec(let spec): return spec
      case .none: return nil  // never finished: the tasks so far, or no such job
      case .notRecorded:
        if !global.quiet {
          printError(
            "longctx: this workspace did not record \(name)'s job file (it ran before longctx recorded them); \(lacks): give the job file instead of the name, or run the job again."
          )
        }
      case .unreadable(let reason):
        if !global.quiet {
          printError("longctx: \(name)'s recorded job file no longer reads (\(reason)); \(lacks): give the job file.")
        }
      }
      return nil
    }
  }
}

extension ReportFormat: ExpressibleByArgument {}
