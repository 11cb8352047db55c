import Foundation
import Storage

/// A fresh temporary directory per test, removed by the caller with `remove()`.
public struct TemporaryDirectory: Sendable {
  public let url: URL

  public init() throws {
    url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("longctx-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  }

  public func remove() { try? FileManager.default.removeItem(at: url) }

  /// Writes `text` to `name` inside the directory and returns its URL.
  @discardableResult
  public func write(_ name: String, _ text: String) throws -> URL {
    let file = url.appendingPathComponent(name)
    try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
    try Data(text.utf8).write(to: file)
    return file
  }
}

/// The repository's root (for Samples/), found from this file's path.
public enum RepositoryPaths {
  public static var root: URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
  }
  public static var samples: URL { root.appendingPathComponent("Samples") }

  /// The shared real-world corpus (`../shared/corpus`, or `LONGCTX_SHARED_CORPUS`),
  /// nil when this machine has none: tests that need it skip with a message.
  public static var sharedCorpus: URL? {
    let env = ProcessInfo.processInfo.environment["LONGCTX_SHARED_CORPUS"].map { URL(fileURLWithPath: $0) }
    let dir = env ?? root.deletingLastPathComponent().appendingPathComponent("shared/corpus")
    return FileManager.default.fileExists(atPath: dir.appendingPathComponent("manifest.tsv").path) ? dir : nil
  }

  /// Every file under `dir` (recursively) whose name ends with one of `suffixes`, sorted.
  public static func files(under dir: URL, suffixes: [String]) -> [URL] {
    let e = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: [.isRegularFileKey])
    var out: [URL] = []
    while let url = e?.nextObject() as? URL {
      if suffixes.contains(where: { url.lastPathComponent.hasSuffix($0) }) { out.append(url) }
    }
    return out.sorted { $0.path < $1.path }
  }
}

/// Runs the built `longctx` executable as a user would: the one runner every test target uses.
///
/// `run` waits and returns what it printed; `launch` returns at once with a `Running` handle
/// (output collected as it comes, optionally seen line by line); `start` gives the bare
/// process with its pipes, for tests that signal it.
public enum CLI {
  /// The built `longctx`: next to the test bundle (the same build products directory), else
  /// under `.build/debug` or `.build/release`; nil when it has not been built.
  public static var binary: URL? {
    let bundleDir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    let candidates =
      [bundleDir, bundleDir.deletingLastPathComponent()].map { $0.appendingPathComponent("longctx") }
      + ["debug", "release"].map { RepositoryPaths.root.appendingPathComponent(".build/\($0)/longctx") }
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
  }

  /// `binary`, else where a debug build puts it (running it then fails, naming the path).
  public static var executable: URL {
    binary ?? RepositoryPaths.root.appendingPathComponent(".build/debug/longctx")
  }

  /// What a finished `longctx` printed, and its exit code.
  public struct Result: Sendable {
    public var code: Int32
    public var stdout: String
    public var stderr: String
  }

  /// Runs `longctx ARGS` in `cwd` (nil: this process's directory) and waits for it.
  ///
  /// - Parameter environment: Variables set over this process's environment.
  public static func run(_ arguments: [String], cwd: URL? = nil, environment: [String: String] = [:]) throws
    -> Result
  {
    try launch(arguments, cwd: cwd, environment: environment).wait()
  }

  /// Starts `longctx ARGS` and collects its output as it comes.
  ///
  /// - Parameter onStderr: Sees standard error as it arrives (e.g. to wait for a progress line).
  public static func launch(
    _ arguments: [String], cwd: URL? = nil, environment: [String: String] = [:],
    onStderr: (@Sendable (String) -> Void)? = nil
  ) throws -> Running {
    try Running(process(arguments, cwd: cwd, environment: environment), onStderr: onStderr)
  }

  /// Starts `longctx ARGS` without waiting; stdout and stderr are pipes the caller reads.
  public static func start(_ arguments: [String], cwd: URL? = nil, environment: [String: String] = [:]) throws
    -> Process
  {
    let process = process(arguments, cwd: cwd, environment: environment)
    try process.run()
    return process
  }

  private static func process(_ arguments: [String], cwd: URL?, environment: [String: String]) -> Process {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    if let cwd { process.currentDirectoryURL = cwd }
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    process.standardOutput = Pipe()
    process.standardError = Pipe()
    process.standardInput = FileHandle.nullDevice
    return process
  }

  /// A started `longctx` whose output is read as it comes, to its end, so that a chatty
  /// child never blocks on a full pipe.
  public final class Running: @unchecked Sendable {
    public let process: Process
    private let out = Buffer()
    private let err = Buffer()
    private let readers = DispatchGroup()

    init(_ process: Process, onStderr: (@Sendable (String) -> Void)?) throws {
      self.process = process
      try process.run()
      let streams: [(Any?, Buffer, (@Sendable (String) -> Void)?)] = [
        (process.standardOutput, out, nil), (process.standardError, err, onStderr),
      ]
      for (pipe, buffer, seen) in streams {
        guard let handle = (pipe as? Pipe)?.fileHandleForReading else { continue }
        readers.enter()
        DispatchQueue.global().async { [readers] in
          var data = handle.availableData
          while !data.isEmpty {
            buffer.append(data)
            seen?(String(decoding: data, as: UTF8.self))
            data = handle.availableData
          }
          readers.leave()
        }
      }
    }

    /// Waits for the process and its output (blocking this thread); what it printed.
    public func wait() -> Result {
      readers.wait()
      process.waitUntilExit()
      return Result(code: process.terminationStatus, stdout: out.text, stderr: err.text)
    }

    /// Waits as `wait()` does, off the caller's executor.
    public func finish() async -> Result {
      await Task.detached { self.wait() }.value
    }
  }

  /// Bytes appended by a pipe's reader.
  final class Buffer: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func append(_ d: Data) { lock.withLock { data.append(d) } }
    var text: String { lock.withLock { String(decoding: data, as: UTF8.self) } }
  }
}

/// Fixtures copied from Samples/ into a temporary directory.
public enum SampleCopy {
  /// Copies `Samples/` (without generated reports) into `dir`/Samples.
  @discardableResult
  public static func make(in dir: TemporaryDirectory) throws -> URL {
    let target = dir.url.appendingPathComponent("Samples")
    try FileManager.default.copyItem(at: RepositoryPaths.samples, to: target)
    try? FileManager.default.removeItem(at: target.appendingPathComponent("reports"))
    return target
  }
}

/// Paths the set-up script provides, or a failure naming what is missing.
public enum SetupPaths {
  public struct Missing: Error, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
  }

  /// `$LONGCTX_MODEL`, checked to exist.
  public static func model() throws -> String {
    guard let path = ProcessInfo.processInfo.environment["LONGCTX_MODEL"],
      FileManager.default.fileExists(atPath: path)
    else {
      throw Missing(
        description: "LONGCTX_MODEL is unset or missing; run the tests through scripts/test.sh, which sets up the model"
      )
    }
    return path
  }
}

/// Python as an independent reader in tests (`csv`, `mailbox`, `sqlite3`…).
public enum Python {
  /// Runs `python3 -c script args…` in `cwd`; its standard output and exit status.
  public static func run(_ script: String, _ args: [String] = [], cwd: URL? = nil) throws -> (
    output: Data, status: Int32
  ) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-c", script] + args
    if let cwd { p.currentDirectoryURL = cwd }
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (data, p.terminationStatus)
  }
}
