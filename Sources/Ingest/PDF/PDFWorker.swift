import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// Extracts PDFs in a child process so that a PDF that hangs poppler, crashes
/// it or eats all memory costs one recorded exception, not the batch.
///
/// The child is `executable` run with `arguments`, then `--memory-limit N` and
/// the PDF's path; it reads the password (if any) from its standard input and
/// writes one `PDFWorkerReply` as JSON to its standard output. The longctx
/// executable provides such a child as its hidden `_extract-pdf` subcommand.
public struct PDFWorker: Sendable {
  /// The program to run.
  public var executable: URL
  /// Arguments before `--memory-limit`, e.g. `["_extract-pdf"]`.
  public var arguments: [String]
  /// Wall-clock seconds a PDF may take before the child is killed.
  public var timeLimit: Double
  /// The child's address-space limit in bytes (`RLIMIT_AS`).
  public var memoryLimit: Int
  /// Keep children alive and send them many PDFs each (`--serve`), instead
  /// of starting one child per PDF.
  public var pooled: Bool
  /// The pooled children (shared by copies of this worker).
  let pool = PDFWorkerPool()

  /// - Parameters:
  ///   - executable: The program to run, normally the running longctx binary.
  ///   - arguments: Arguments placed before the worker's own.
  ///   - timeLimit: Seconds per PDF.
  ///   - memoryLimit: Bytes of address space per child.
  ///   - pooled: Long-lived children that extract many PDFs each.
  public init(
    executable: URL, arguments: [String] = ["_extract-pdf"], timeLimit: Double = 120,
    memoryLimit: Int = 4 << 30, pooled: Bool = false
  ) {
    self.pooled = pooled
    self.executable = executable
    self.arguments = arguments
    self.timeLimit = timeLimit
    self.memoryLimit = memoryLimit
  }

  /// Extracts `path` in a child process.
  ///
  /// - Throws: The child's `IngestError`, or `.pdfWorkerFailed` when it timed
  ///   out, crashed or answered nonsense.
  func extract(path: String, displayPath: String, password: String?) throws -> ExtractedDocument {
    if pooled { return try pool.extract(self, path: path, displayPath: displayPath, password: password) }
    let tmp = FileManager.default.temporaryDirectory
    let outURL = tmp.appendingPathComponent("longctx-pdf-\(UUID().uuidString).json")
    let errURL = tmp.appendingPathComponent("longctx-pdf-\(UUID().uuidString).err")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    defer {
      try? FileManager.default.removeItem(at: outURL)
      try? FileManager.default.removeItem(at: errURL)
    }
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments + ["--memory-limit", String(memoryLimit), "--display-path", displayPath, path]
    let stdin = Pipe()
    process.standardInput = stdin
    process.standardOutput = try FileHandle(forWritingTo: outURL)
    process.standardError = try FileHandle(forWritingTo: errURL)
    do { try process.run() } catch {
      throw IngestError.pdfWorkerFailed(path: path, reason: "cannot start \(executable.path): \(error.localizedDescription)")
    }
    let pid = process.processIdentifier
    let state = WorkerState()
    DispatchQueue.global().asyncAfter(deadline: .now() + timeLimit) {
      state.killIfRunning(pid)
    }
    if let password { stdin.fileHandleForWriting.write(Data((password + "\n").utf8)) }
    try? stdin.fileHandleForWriting.close()
    process.waitUntilExit()
    let timedOut = state.finish()

    if timedOut {
      throw IngestError.pdfWorkerFailed(path: path, reason: "timed out after \(Int(timeLimit)) s")
    }
    let stderrText = (try? String(contentsOf: errURL, encoding: .utf8))?
      .trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").last.map(String.init)
    if process.terminationReason == .uncaughtSignal {
      let signal = process.terminationStatus
      var reason = "crashed with signal \(signal)"
      if signal == SIGABRT || signal == SIGSEGV || signal == SIGKILL {
        reason += " (possibly out of memory; limit \(memoryLimit >> 20) MiB)"
      }
      throw IngestError.pdfWorkerFailed(path: path, reason: reason)
    }
    let data = (try? Data(contentsOf: outURL)) ?? Data()
    guard let reply = try? JSONDecoder().decode(PDFWorkerReply.self, from: data) else {
      let detail = stderrText.map { ": \($0)" } ?? ""
      throw IngestError.pdfWorkerFailed(
        path: path, reason: "exited with status \(process.terminationStatus) without a result\(detail)")
    }
    if let document = reply.document { return document }
    switch reply.errorKind {
    case "encrypted": throw IngestError.pdfEncrypted(path: path)
    default: throw IngestError.pdfUnreadable(path: path, reason: reply.errorReason ?? "unknown error")
    }
  }
}

/// Whether the child finished or was killed for taking too long.
private final class WorkerState: Sendable {
  private let state = Mutex<(finished: Bool, killed: Bool)>((false, false))

  func killIfRunning(_ pid: Int32) {
    state.withLock { s in
      guard !s.finished else { return }
      s.killed = true
      kill(pid, SIGKILL)
    }
  }

  /// Marks the child finished; returns whether it was killed.
  func finish() -> Bool {
    state.withLock { s in
      s.finished = true
      return s.killed
    }
  }
}

/// What the `_extract-pdf` child writes to its standard output.
public struct PDFWorkerReply: Codable, Sendable {
  /// The extracted document, when extraction worked.
  public var document: ExtractedDocument?
  /// `encrypted` or `unreadable` when it did not.
  public var errorKind: String?
  /// Poppler's message.
  public var errorReason: String?

  /// Runs in the child: limits its own address space, extracts `path`, and
  /// returns the reply to print.
  ///
  /// - Parameters:
  ///   - path: The PDF.
  ///   - displayPath: The path to cite in locators.
  ///   - password: The password for encrypted PDFs.
  ///   - memoryLimit: Bytes of address space, applied with `setrlimit(RLIMIT_AS)`; 0 for none.
  /// - Returns: The JSON to write to standard output.
  public static func extractInChild(path: String, displayPath: String, password: String?, memoryLimit: Int) -> Data {
    limitMemory(memoryLimit)
    var reply = PDFWorkerReply()
    do {
      reply.document = try PDFExtractor(password: password).extract(path: path, displayPath: displayPath)
    } catch IngestError.pdfEncrypted {
      reply.errorKind = "encrypted"
    } catch IngestError.pdfUnreadable(_, let reason) {
      reply.errorKind = "unreadable"
      reply.errorReason = reason
    } catch {
      reply.errorKind = "unreadable"
      reply.errorReason = Ingestor.describe(error)
    }
    return (try? JSONEncoder().encode(reply)) ?? Data()
  }
}
