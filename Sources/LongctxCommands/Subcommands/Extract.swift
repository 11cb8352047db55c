import ArgumentParser
import Foundation
import Ingest
import Logging
import Storage

#if canImport(Glibc)
  import Glibc
#endif

extension Longctx {
  /// `longctx _extract --serve --workspace DIR`: the child process `ingest`
  /// extracts files in (one JSON request per input line, one JSON reply per
  /// output line). Hidden: users never call it.
  struct Extract: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "_extract", abstract: "Extract files into a workspace for a parent ingest (internal).",
      shouldDisplay: false)

    @Option(help: "The workspace directory.")
    var workspace: String

    @Option(help: "Heap limit in bytes; 0 for none.")
    var memoryLimit: Int = 0

    @Flag(help: "Serve requests from standard input (the only mode).")
    var serve = false

    func validate() throws {
      if !serve { throw ValidationError("'_extract' needs '--serve'") }
    }

    func run() throws {
      // Ctrl-C reaches the whole process group: the parent decides what an
      // interrupt means; a child finishes its file, then ends with its input.
      signal(SIGINT, SIG_IGN)
      let ws = try Workspace(root: URL(fileURLWithPath: workspace, isDirectory: true))
      var logger = Logger(label: "longctx.extract", factory: { StreamLogHandler.standardError(label: $0) })
      logger.logLevel = .warning
      // Replies go to a private copy of standard output; whatever else writes
      // to descriptor 1 (a C library, a stray print) lands on standard error
      // instead of corrupting them.
      let replies = FileHandle(fileDescriptor: dup(1), closeOnDealloc: true)
      dup2(2, 1)
      ExtractionWorker.serve(
        workspace: ws, logger: logger, memoryLimit: memoryLimit,
        readLine: { Swift.readLine(strippingNewline: true) },
        write: { replies.write($0) })
    }
  }
}
