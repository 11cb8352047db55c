import ArgumentParser
import Foundation
import Inference
import Ingest
import Pipeline
import Storage

extension Longctx {
  /// `longctx produce JOB.yaml -o DIR`, `longctx produce --check DIR`
  struct Produce: JobCommand {
    static let configuration = CommandConfiguration(
      abstract: "Write a discovery production of a job's documents: Bates numbers, a DAT load file, text and natives.",
      discussion: """
        Reads the job's production: section (prefix, start, digits; select and withhold, which use the \
        job's coding from its last run) and ingests its inputs. Documents are \
        produced in order: families together, then by custodian, date and path. Bates numbers are kept in \
        the workspace: producing again gives the same numbers, documents added later get numbers after \
        the last. --check DIR re-reads a production and lists what is wrong with it (exit 1 if anything).
        """)

    @OptionGroup(title: "Global Options") var global: GlobalOptions

    @Argument(help: JobReference.help("The job: a job file, or a job's name (with a production: section)."))
    var job: String?

    @Option(name: [.customShort("o"), .long], help: ArgumentHelp("The production directory.", valueName: "dir"))
    var output: String?

    @Option(help: ArgumentHelp("Check the production in DIR instead of writing one.", valueName: "dir"))
    var check: String?

    @Option(
      help: ArgumentHelp(
        "A known-file list (NSRL RDS SQLite, NSRLFile.txt, or one SHA-1 or MD5 per line): matching files are skipped at ingest and not produced.",
        valueName: "file"))
    var denist: String?

    @Flag(
      help:
        "Write IMAGES/ (one stamped 300-dpi Group 4 TIFF per page) and the Opticon DATA/<job>.opt (production.images)."
    )
    var images = false

    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
      if check == nil && (job == nil || output == nil) {
        throw ValidationError("Give a job file and -o DIR, or --check DIR.")
      }
    }

    func run() async throws {
      if let check {
        let problems = Production.check(directory: URL(fileURLWithPath: check))
        if json {
          print(try jsonString(["problems": problems]))
        } else if problems.isEmpty {
          print("\(check): the production is sound")
        } else {
          for p in problems { print(p) }
        }
        if !problems.isEmpty { throw ExitCode(1) }
        return
      }
      try await runJob()
    }

    var jobArgument: String? { job }

    func prepare(_ spec: inout JobSpec) throws {
      if let denist {
        // The command line wins over the job's ingest.denist and production.denist.
        spec.denist = URL(fileURLWithPath: denist).standardizedFileURL.path
      }
      if images { spec.production?.images = true }
    }

    /// Producing ingests the inputs and runs no engine: no model is loaded or hashed.
    func engine(for spec: JobSpec) throws -> EngineChoice {
      EngineChoice(counter: EstimatedTokenCounter(), modelKey: "none") {
        throw EngineError.unavailable("producing runs no engine")
      }
    }

    /// Ingests the job's inputs and numbers its documents, under the job's lock.
    func run(_ opened: JobContext) async throws {
      guard let output else { return }
      var production = try Production(workspace: opened.workspace, spec: opened.spec)
      production.imageWorker = ExtractionWorker.thisExecutable()
      let runner = opened.runner()
      let ingest = try await runner.ingestInputs()
      var summary = try production.produce(
        files: ingest.files, failed: ingest.exceptions, into: URL(fileURLWithPath: output).standardizedFileURL)
      // De-NIST is applied at ingest: its known files never reach the production.
      summary.knownFilesRemoved += ingest.knownFiles
      if json {
        print(try jsonString(summary))
        return
      }
      print(
        "\(summary.directory): \(summary.documents) documents, \(summary.pages) pages, \(summary.firstBates)–\(summary.lastBates) (\(summary.newlyNumbered) numbered now; \(summary.duplicatesRemoved) duplicates and \(summary.knownFilesRemoved) known files (NSRL) left out; \(summary.withheld) withheld\(summary.images > 0 ? "; \(summary.images) page images, \(summary.placeholderImages) placeholders" : ""))"
      )
      for w in summary.warnings { printError("warning: \(w)") }
    }
  }
}
