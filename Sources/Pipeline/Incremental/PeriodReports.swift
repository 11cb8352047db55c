import Foundation
import Storage

/// Writes an incremental run's reports: the period's report, at `report.path`
/// (the latest period) and as a copy stamped with the run's time
/// (`<stem>-YYYYMMDD-HHMMSS.md`, UTC), and the rolling summary
/// (`report.rolling_path`, default `<stem>-rolling.md`).
struct PeriodReports {
  let workspace: Workspace
  let spec: JobSpec

  /// Where the reports went.
  struct Paths {
    var period: String
    var latest: String
    var rolling: String?
  }

  /// The rolling summary's path.
  var rollingURL: URL {
    if let path = spec.rollingReportPath { return url(path) }
    let latest = url(spec.reportFile)
    let stem = latest.deletingPathExtension().lastPathComponent
    return latest.deletingLastPathComponent().appendingPathComponent("\(stem)-rolling.md")
  }

  /// Writes the reports of `run`; the rolling one only when the period completed.
  func write(
    run: RunRecord, previous: RunRecord?, sources: [SourceWatermark], complete: Bool, changes: TemplateChanges? = nil
  ) throws -> Paths {
    let latest = url(spec.reportFile)
    let directory = latest.deletingLastPathComponent()
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let stem = latest.deletingPathExtension().lastPathComponent
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "UTC")
    formatter.dateFormat = "yyyyMMdd-HHmmss"
    var stamped = directory.appendingPathComponent(
      "\(stem)-\(formatter.string(from: Date(timeIntervalSince1970: run.startedAt))).md")
    if FileManager.default.fileExists(atPath: stamped.path) {
      stamped = directory.appendingPathComponent(
        stamped.deletingPathExtension().lastPathComponent + "-run\(run.id ?? 0).md")
    }
    let body = Data(
      try periodMarkdown(run: run, previous: previous, sources: sources, complete: complete, changes: changes).utf8)
    try AtomicFile.write(body, to: stamped)
    try AtomicFile.write(body, to: latest)
    var paths = Paths(period: stamped.path, latest: latest.path)
    if complete {
      let rolling = rollingURL
      try FileManager.default.createDirectory(
        at: rolling.deletingLastPathComponent(), withIntermediateDirectories: true)
      try AtomicFile.write(Data(try rollingMarkdown(run: run, previous: previous).utf8), to: rolling)
      paths.rolling = rolling.path
    }
    return paths
  }

  func periodMarkdown(
    run: RunRecord, previous: RunRecord?, sources: [SourceWatermark], complete: Bool, changes: TemplateChanges? = nil
  ) throws -> String {
    let report = try ReportWriter(workspace: workspace).markdown(job: spec.name, prices: spec.prices, spec: spec)
    let rest = report.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).dropFirst().first ?? ""
    let new = sources.compactMap(\.newLocator)
    var md = "# Report: \(spec.name), period of run \(run.id ?? 0)\n\n"
    if let previous, let since = previous.finishedAt {
      md +=
        "Period: what is new since run \(previous.id ?? 0) (finished \(Self.iso(since))) up to run \(run.id ?? 0) (started \(Self.iso(run.startedAt))).\n\n"
    } else {
      md += "Period: the first run (started \(Self.iso(run.startedAt))): all lines.\n\n"
    }
    md += "New: \(run.newLines) lines; sources: " + new.map { "[\($0)]" }.joined(separator: " ") + "\n\n"
    if !complete {
      md +=
        "Some tasks of this period failed: the rolling summary was not updated, and the next run covers these lines again.\n\n"
    }
    // The logs' changes open the report: computed, so a reader checks them first.
    if let changes { md += changes.markdown() }
    return md + rest
  }

  func rollingMarkdown(run: RunRecord, previous: RunRecord?) throws -> String {
    let store = TaskStore(workspace: workspace)
    guard let id = run.rollingTask, let task = try store.task(id: id) else { return "" }
    let runs = try RunStore(workspace: workspace).runs(job: spec.name)
    let periods = runs.filter { $0.status == .done && $0.periodTask != nil }.count + 1
    let first = runs.first?.startedAt ?? run.startedAt
    var md = "# Rolling summary: \(spec.name)\n\n"
    md +=
      "After run \(run.id ?? 0) (started \(Self.iso(run.startedAt))): \(periods) periods with new lines since the first run (started \(Self.iso(first))).\n\n"
    let inputs = run.rollingInputList
    if inputs.count == 2 {
      md +=
        "Made by task `\(id.prefix(12))` from the previous rolling summary (task `\(inputs[0].prefix(12))`, run \(previous?.id ?? 0)) and this period's summary (task `\(inputs[1].prefix(12))`).\n\n"
    } else {
      md += "The first period's summary (task `\(id.prefix(12))`).\n\n"
    }
    md += "## Summary\n\n" + ReportWriter(workspace: workspace).statement(task)
    return md
  }

  private func url(_ path: String) -> URL {
    (path.hasPrefix("/")
      ? URL(fileURLWithPath: path) : URL(fileURLWithPath: spec.baseDirectory).appendingPathComponent(path))
      .standardizedFileURL
  }

  static func iso(_ seconds: Double) -> String {
    ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: seconds))
  }
}
