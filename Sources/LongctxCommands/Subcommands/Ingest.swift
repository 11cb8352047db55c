import ArgumentParser
import Foundation
import Ingest

extension Longctx {
  /// `longctx ingest PATH...`
  struct Ingest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Extract text from PDFs, logs, source trees and mail into the workspace, incrementally.")

    @OptionGroup(title: "Global Options") var global: GlobalOptions

    @Argument(help: ArgumentHelp("Files or directories to ingest.", valueName: "path"))
    var paths: [String]

    @Option(help: "Extract every file as this kind: auto, pdf, log, code, email, text.")
    var kind: String = "auto"

    @Option(help: ArgumentHelp("A file whose first line is the password for encrypted PDFs.", valueName: "file"))
    var passwordFile: String?

    @Flag(help: "Print the summary as one JSON object.")
    var json = false

    @Option(help: ArgumentHelp("Seconds one PDF may take before its worker is killed.", valueName: "seconds"))
    var pdfTimeout: Double = 120

    @Option(help: ArgumentHelp("Memory limit of one PDF worker, in MiB.", valueName: "MiB"))
    var pdfMemory: Int = 4096

    @Flag(help: ArgumentHelp("Extract PDFs inside this process instead of child processes.", visibility: .hidden))
    var pdfInProcess = false

    func validate() throws {
      if pdfTimeout <= 0 { throw ValidationError("'--pdf-timeout' must be greater than 0") }
      if pdfMemory < 256 { throw ValidationError("'--pdf-memory' must be at least 256") }
      if kind != "auto" && DocumentKind(rawValue: kind) == nil {
        throw ValidationError("'--kind' must be one of auto, \(DocumentKind.allCases.map(\.rawValue).joined(separator: ", "))")
      }
    }

    func run() async throws {
      let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
      for path in paths where !FileManager.default.fileExists(atPath: path) {
        throw IngestError.pathNotFound(path)
      }
      var password: String?
      if let passwordFile {
        guard let text = try? String(contentsOfFile: passwordFile, encoding: .utf8) else {
          throw CommandFailure(code: ExitCodes.usage, message: "longctx: cannot read the password file \(passwordFile).")
        }
        password = text.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init)
      }
      let workspace = try global.openWorkspace()
      var options = IngestOptions(kind: DocumentKind(rawValue: kind), password: password, base: cwd)
      if !pdfInProcess {
        options.pdfWorker = PDFWorker.thisExecutable(timeLimit: pdfTimeout, memoryLimit: pdfMemory << 20)
      }
      let summary = try await Ingestor(workspace: workspace, logger: global.logger("longctx.ingest")).ingest(
        inputs: paths, options: options)
      if json {
        print(try jsonString(summary))
      } else if !global.quiet {
        print(Self.describe(summary))
      }
    }

    static func describe(_ s: IngestSummary) -> String {
      var lines = [
        "files: \(s.seen) seen, \(s.new) new, \(s.changed) changed, \(s.unchanged) unchanged, \(s.failed) failed, \(s.skipped) skipped, \(s.gone) gone",
        "extracted: \(s.pages) pages, \(s.bytes) bytes in \(String(format: "%.2f", s.seconds)) s",
      ]
      if s.reextracted > 0 {
        lines.append("re-extracted: \(s.reextracted) unchanged files, made by an older extractor version")
      }
      for e in s.exceptions { lines.append("  \(e.severity): \(e.path): \(e.reason)") }
      return lines.joined(separator: "\n")
    }
  }
}
