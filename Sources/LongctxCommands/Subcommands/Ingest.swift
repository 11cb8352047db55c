import ArgumentParser
import Foundation
import Ingest

extension Longctx {
  /// `longctx ingest PATH...`
  /// Named `IngestCommand` so that it does not shadow the `Ingest` module inside `Longctx`.
  struct IngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "ingest",
      abstract: "Extract text from PDFs, logs, source trees and mail into the workspace, incrementally.")

    @OptionGroup(title: "Global Options") var global: GlobalOptions

    @Argument(help: ArgumentHelp("Files or directories to ingest.", valueName: "path"))
    var paths: [String]

    @Option(
      help:
        "Extract every file as this kind: auto, pdf, log, code, email, text, image, html, office, office-converted, outlook, pst, archive."
    )
    var kind: String = "auto"

    @Option(help: ArgumentHelp("Whose files these are (a discovery production's CUSTODIAN).", valueName: "name"))
    var custodian: String?

    @Option(
      help: ArgumentHelp(
        "A file of passwords, one per line: the first opens encrypted PDFs; each is tried on encrypted archives and Office files.",
        valueName: "file"))
    var passwordFile: String?

    @Option(
      help: ArgumentHelp(
        "A known-file list (NSRL RDS SQLite, NSRLFile.txt, or one SHA-1 or MD5 per line): files on it are skipped as known files.",
        valueName: "file"))
    var denist: String?

    @Flag(help: "Print the summary as one JSON object.")
    var json = false

    @Option(
      name: [.customLong("timeout"), .customLong("pdf-timeout")],
      help: ArgumentHelp(
        "Seconds one file may take (plus one per 2 MiB of it) before its worker is stopped.", valueName: "seconds"))
    var pdfTimeout: Double = 120

    @Option(
      name: [.customLong("worker-memory"), .customLong("pdf-memory")],
      help: ArgumentHelp("Heap limit of one extraction worker, in MiB.", valueName: "MiB"))
    var pdfMemory: Int = 8192

    @Option(
      help: ArgumentHelp(
        "Replace secrets in the extracted text: on (default) or off (keep the text faithful, e.g. for productions).",
        valueName: "on|off"))
    var redact: String = "on"

    @OptionGroup(title: "OCR") var ocr: OCROptions

    @Flag(
      name: [.customLong("in-process"), .customLong("pdf-in-process")],
      help: ArgumentHelp("Extract files inside this process instead of isolated workers.", visibility: .hidden))
    var pdfInProcess = false

    @Flag(
      inversion: .prefixedNo,
      help: "On a shared workspace (postgres://…), also extract files in this process; else only hand them out.")
    var work = true

    @Flag(
      help:
        "On a shared workspace (postgres://…), let the workers claim the files to extract (their children write the store's corpus database: keep them on one host, see README)."
    )
    var shareExtraction = false

    func validate() throws {
      if pdfTimeout <= 0 { throw ValidationError("'--timeout' must be greater than 0") }
      if !["on", "off"].contains(redact) { throw ValidationError("'--redact' must be 'on' or 'off', not '\(redact)'") }
      if pdfMemory < 256 { throw ValidationError("'--worker-memory' must be at least 256") }
      if kind != "auto" && DocumentKind(rawValue: kind) == nil {
        throw ValidationError(
          "'--kind' must be one of auto, \(DocumentKind.allCases.map(\.rawValue).joined(separator: ", "))")
      }
    }

    func run() async throws {
      let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
      for path in paths where !FileManager.default.fileExists(atPath: path) {
        throw IngestError.pathNotFound(path)
      }
      var password: String?
      var passwords: [String] = []
      if let passwordFile {
        guard let text = try? String(contentsOfFile: passwordFile, encoding: .utf8) else {
          throw CommandFailure(
            code: ExitCodes.usage, message: "longctx: cannot read the password file \(passwordFile).")
        }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
          .map { String($0.hasSuffix("\r") ? $0.dropLast() : $0) }
        password = lines.first
        passwords = lines.filter { !$0.isEmpty }
      }
      let workspace = try global.openWorkspace()
      var options = IngestOptions(kind: DocumentKind(rawValue: kind), password: password, base: cwd)
      options.passwords = passwords
      options.redact = redact == "on"
      options.ocr = ocr.apply(to: OCRSettings())
      options.denist = denist.map { URL(fileURLWithPath: $0, relativeTo: cwd).standardizedFileURL.path }
      if !pdfInProcess {
        options.worker = ExtractionWorker.thisExecutable(timeLimit: pdfTimeout, memoryLimit: pdfMemory << 20)
      }
      // On a shared workspace the files to extract are claimed by the workers (and this process).
      let shared =
        pdfInProcess || !shareExtraction
        ? nil : try await SharedIngest.start(global: global, extraction: options.worker, work: work)
      options.shared = shared?.extraction
      var summary: IngestSummary
      do {
        summary = try await Ingestor(workspace: workspace, logger: global.logger("longctx.ingest")).ingest(
          inputs: paths, options: options)
        try await shared?.finish(status: "done")
      } catch {
        try? await shared?.finish(status: "failed")
        throw error
      }
      if let custodian, !custodian.trimmingCharacters(in: .whitespaces).isEmpty {
        let roots = paths.map { URL(fileURLWithPath: $0, relativeTo: cwd).standardizedFileURL.path }
        for w in try Custodians.assign(workspace, roots: roots, custodian: custodian) {
          summary.exceptions.append(IngestException(path: "custodian \(custodian)", severity: .warning, reason: w))
        }
      }
      if json {
        print(try jsonString(summary))
      } else if !global.quiet {
        print(Self.describe(summary))
      }
    }

    static func describe(_ s: IngestSummary) -> String {
      var lines = [
        "files: \(s.seen) seen, \(s.new) new, \(s.changed) changed, \(s.unchanged) unchanged, \(s.failed) failed, \(s.skipped) skipped\(s.knownFiles > 0 ? " (\(s.knownFiles) known files, NSRL)" : ""), \(s.gone) gone",
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
