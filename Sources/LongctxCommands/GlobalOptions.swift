import ArgumentParser
import Foundation
import Ingest
import Logging
import SharedWorkspace
import Storage

/// Flags every subcommand takes.
struct GlobalOptions: ParsableArguments {
  @Option(
    name: .long,
    help: ArgumentHelp(
      "The workspace directory (default: $LONGCTX_WORKSPACE or ./.longctx), or a shared workspace: postgres://user@host[:port]/db?store=/shared/dir.",
      valueName: "dir|url"))
  var workspace: String?

  @Option(name: .long, help: "Log level on stderr: trace, debug, info, warning, error.")
  var logLevel: Logger.Level = .warning

  @Flag(name: .shortAndLong, help: "Print nothing but errors and the final result.")
  var quiet = false

  func openWorkspace() throws -> Workspace {
    try Workspace(root: workspaceRoot)
  }

  /// The workspace flag, else `$LONGCTX_WORKSPACE`.
  var workspaceText: String? {
    workspace ?? ProcessInfo.processInfo.environment["LONGCTX_WORKSPACE"].flatMap { $0.isEmpty ? nil : $0 }
  }

  /// The shared workspace named by `--workspace postgres://…`; nil for a directory.
  var sharedLocation: SharedLocation? {
    get throws {
      guard let text = workspaceText, SharedLocation.isDatabase(text) else { return nil }
      do {
        return try SharedLocation(text)
      } catch {
        throw CommandFailure(code: ExitCodes.usage, message: "longctx: \(error.userDescription)")
      }
    }
  }

  /// The workspace directory: the given one, or a shared workspace's store.
  var workspaceRoot: URL {
    if let text = workspaceText, SharedLocation.isDatabase(text), let location = try? SharedLocation(text) {
      return location.store
    }
    return Workspace.resolve(workspace)
  }

  func logger(_ label: String) -> Logger {
    LoggingBootstrap.once
    var logger = Logger(label: label)
    logger.logLevel = logLevel
    return logger
  }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// Bootstraps swift-log to stderr, once per process.
enum LoggingBootstrap {
  static let once: Void = { LoggingSystem.bootstrap(StreamLogHandler.standardError) }()
}

/// Writes a line to stderr.
func printError(_ text: String) {
  FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// JSON for `--json` output: sorted keys, pretty-printed.
func jsonString<T: Encodable>(_ value: T) throws -> String {
  let encoder = JSONEncoder()
  encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
  return String(decoding: try encoder.encode(value), as: UTF8.self)
}

extension ExtractionWorker {
  /// This very binary re-run as the isolated extraction worker (`longctx _extract`).
  static func thisExecutable(timeLimit: Double = 120, memoryLimit: Int = 8192 << 20) -> ExtractionWorker {
    ExtractionWorker(
      executable: URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath(), timeLimit: timeLimit,
      memoryLimit: memoryLimit)
  }
}
