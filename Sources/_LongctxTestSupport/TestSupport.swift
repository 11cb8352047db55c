import Foundation
import Workspace

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

/// Runs the built `longctx` executable as a user would.
public enum CLI {
  /// The `longctx` binary next to the test bundle (same build products directory).
  public static var executable: URL {
    let bundleDir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for dir in [bundleDir, bundleDir.deletingLastPathComponent()] {
      let candidate = dir.appendingPathComponent("longctx")
      if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
    }
    return RepositoryPaths.root.appendingPathComponent(".build/debug/longctx")
  }

  public struct Result: Sendable {
    public var code: Int32
    public var stdout: String
    public var stderr: String
  }

  /// Runs `longctx ARGS` in `cwd` and waits for it.
  public static func run(_ arguments: [String], cwd: URL, environment: [String: String] = [:]) throws -> Result {
    let process = try start(arguments, cwd: cwd, environment: environment)
    let out = process.standardOutput as! Pipe
    let err = process.standardError as! Pipe
    // Read both pipes fully before waiting, so a chatty child never blocks.
    let group = DispatchGroup()
    nonisolated(unsafe) var outData = Data()
    nonisolated(unsafe) var errData = Data()
    group.enter()
    DispatchQueue.global().async {
      outData = out.fileHandleForReading.readDataToEndOfFile()
      group.leave()
    }
    group.enter()
    DispatchQueue.global().async {
      errData = err.fileHandleForReading.readDataToEndOfFile()
      group.leave()
    }
    group.wait()
    process.waitUntilExit()
    return Result(
      code: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
      stderr: String(decoding: errData, as: UTF8.self))
  }

  /// Starts `longctx ARGS` without waiting; stdout and stderr are pipes.
  public static func start(_ arguments: [String], cwd: URL, environment: [String: String] = [:]) throws -> Process {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    process.currentDirectoryURL = cwd
    var env = ProcessInfo.processInfo.environment
    for (k, v) in environment { env[k] = v }
    process.environment = env
    process.standardOutput = Pipe()
    process.standardError = Pipe()
    process.standardInput = FileHandle.nullDevice
    try process.run()
    return process
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
