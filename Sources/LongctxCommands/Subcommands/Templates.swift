import ArgumentParser
import Foundation
import Ingest
import Pipeline
import Workspace

extension Longctx {
  /// `longctx templates [PATH…] [--job JOB] [--json] [--lines]`
  struct Templates: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Show the log templates ingest mined, by count, or the template of every line.",
      discussion: """
        Templates are mined when a log is ingested (`longctx ingest` or `run`); this command reads them \
        from the workspace. With no PATH and no --job, every ingested log counts.
        --lines prints, for one log, each line's number, template id and template (CSV with a header, \
        the shape of loghub's *_structured.csv), so that the parser can be scored against ground truth.
        """)

    @OptionGroup(title: "Global Options") var global: GlobalOptions

    @Argument(help: ArgumentHelp("Log files or directories, as ingested.", valueName: "path"))
    var paths: [String] = []

    @Option(help: ArgumentHelp("The templates of a job's inputs (a job file).", valueName: "job.yaml"))
    var job: String?

    @Flag(help: "Print JSON.") var json = false

    @Flag(help: "Per line of one log: line number, template id, template.") var lines = false

    @Option(help: "Show at most this many templates (0: all).") var limit = 50

    func run() async throws {
      let workspace = try global.openWorkspace()
      var wanted = paths
      if let job { wanted += try JobFile.load(path: job).inputs }
      let cwd = FileManager.default.currentDirectoryPath
      let resolved: [String]? =
        wanted.isEmpty
        ? nil
        : wanted.flatMap { p in
          [p, URL(fileURLWithPath: p, relativeTo: URL(fileURLWithPath: cwd)).standardizedFileURL.path]
        }
      let files = try LogTemplateStore.logFiles(workspace, paths: resolved)
      if files.isEmpty {
        throw ValidationError(
          wanted.isEmpty
            ? "No log has been ingested into this workspace yet; run `longctx ingest PATH` first."
            : "No ingested log matches \(wanted.joined(separator: ", ")); run `longctx ingest` on it first.")
      }
      if lines {
        guard files.count == 1, let file = files.first else {
          throw ValidationError("--lines needs exactly one log file; \(files.count) match.")
        }
        try printLines(workspace: workspace, file: file)
        return
      }
      let all = try LogTemplateStore.templates(workspace, paths: resolved)
      let shown = limit > 0 ? Array(all.prefix(limit)) : all
      if json {
        struct Out: Encodable {
          var files: [String]
          var templates: Int
          var events: Int
          var shown: [StoredLogTemplate]
        }
        print(
          try jsonString(Out(files: files, templates: all.count, events: all.reduce(0) { $0 + $1.count }, shown: shown))
        )
        return
      }
      let events = all.reduce(0) { $0 + $1.count }
      print("\(all.count) templates over \(events) events in \(files.count) log file\(files.count == 1 ? "" : "s")")
      let iso = ISO8601DateFormatter()
      func time(_ t: Double?) -> String { t.map { iso.string(from: Date(timeIntervalSince1970: $0)) } ?? "-" }
      for t in shown {
        print("")
        print("\(t.count)\t#\(t.id)\t\(t.text)")
        print("\tfirst \(time(t.firstTime))  last \(time(t.lastTime))  at [\(t.firstLocator)]")
      }
      if shown.count < all.count { print("\n… \(all.count - shown.count) more (--limit 0 shows all)") }
    }

    private func printLines(workspace: Workspace, file: String) throws {
      guard let rows = try LogTemplateStore.lines(workspace, displayPath: file) else {
        throw ValidationError("\(file) has no stored templates; ingest it again.")
      }
      if json {
        struct Line: Encodable {
          var line: Int
          var id: Int64?
          var template: String?
        }
        print(try jsonString(rows.map { Line(line: $0.line, id: $0.id, template: $0.text) }))
        return
      }
      var out = "LineId,EventId,EventTemplate\n"
      for row in rows {
        // A continuation line belongs to the event above it: no template of its own.
        out += "\(row.line),\(row.id.map { "T\($0)" } ?? ""),\(Self.csvField(row.text ?? ""))\n"
        if out.utf8.count > 1 << 16 {
          FileHandle.standardOutput.write(Data(out.utf8))
          out = ""
        }
      }
      FileHandle.standardOutput.write(Data(out.utf8))
    }

    /// A CSV field, quoted when it holds a comma, quote or newline.
    static func csvField(_ s: String) -> String {
      guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) else { return s }
      return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
  }
}
