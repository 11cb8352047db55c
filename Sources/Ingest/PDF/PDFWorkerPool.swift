import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// Long-lived PDF worker children, each extracting many PDFs.
///
/// Starting a child per PDF cost about 60 ms, more than extracting a short
/// PDF. A pooled child is `executable arguments --serve --memory-limit N`:
/// it applies the memory limit once, then reads one `PDFWorkerRequest` per
/// line on its standard input and answers each with one `PDFWorkerReply` per
/// line on its standard output (JSON escapes newlines, so a line is a
/// message). The parent waits for each answer at most the time limit; a
/// child that times out is killed, one that crashes or answers nonsense is
/// reaped, and either is replaced by a fresh child on the next request. A
/// child is also retired after `maxFilesPerChild` files, bounding whatever
/// poppler leaks.
final class PDFWorkerPool: Sendable {
  /// Files one child extracts before it is replaced.
  static let maxFilesPerChild = 500

  private let idle = Mutex<[PooledChild]>([])

  deinit {
    for child in idle.withLock({ $0 }) { child.stop() }
  }

  /// Extracts `path` in a pooled child of `worker`.
  ///
  /// - Throws: The child's `IngestError`, or `.pdfWorkerFailed` when it timed
  ///   out, crashed or answered nonsense.
  func extract(_ worker: PDFWorker, path: String, displayPath: String, password: String?) throws
    -> ExtractedDocument
  {
    let child = try idle.withLock { $0.popLast() } ?? PooledChild.start(worker, path: path)
    let request = PDFWorkerRequest(path: path, displayPath: displayPath, password: password)
    let line: [UInt8]
    switch child.ask(request, timeLimit: worker.timeLimit) {
    case .success(let answer): line = answer
    case .failure(let failure):
      child.stop()
      throw IngestError.pdfWorkerFailed(path: path, reason: failure.reason(memoryLimit: worker.memoryLimit))
    }
    guard let reply = try? JSONDecoder().decode(PDFWorkerReply.self, from: Data(line)) else {
      child.stop()
      throw IngestError.pdfWorkerFailed(path: path, reason: "answered something that is not a result")
    }
    if child.served >= Self.maxFilesPerChild { child.stop() } else { idle.withLock { $0.append(child) } }
    return try reply.result(path: path)
  }

  /// How many children are waiting for work (tests).
  var idleCount: Int { idle.withLock { $0.count } }

  /// The process ids of the waiting children (tests).
  var idlePIDs: [Int32] { idle.withLock { $0.map(\.process.processIdentifier) } }
}

/// One request to a pooled child.
public struct PDFWorkerRequest: Codable, Sendable {
  public var path: String
  public var displayPath: String
  public var password: String?
}

/// A running `--serve` child. Only the caller that took it from the pool
/// touches it, so its mutable state needs no lock.
private final class PooledChild: @unchecked Sendable {
  let process: Process
  private let input: FileHandle
  /// Kept (not just its descriptor) so that the descriptor is closed once, by it.
  private let outputHandle: FileHandle
  private var output: Int32 { outputHandle.fileDescriptor }
  private var lines = LineBuffer()
  private(set) var served = 0

  /// Why a request got no answer.
  enum Failure: Error {
    case timedOut(Double)
    case exited(Process.TerminationReason, Int32, String?)

    func reason(memoryLimit: Int) -> String {
      switch self {
      case .timedOut(let seconds): return "timed out after \(Int(seconds)) s"
      case .exited(.uncaughtSignal, let signal, _):
        var reason = "crashed with signal \(signal)"
        if signal == SIGABRT || signal == SIGSEGV || signal == SIGKILL {
          reason += " (possibly out of memory; limit \(memoryLimit >> 20) MiB)"
        }
        return reason
      case .exited(_, let status, let detail):
        return "exited with status \(status) without a result" + (detail.map { ": \($0)" } ?? "")
      }
    }
  }

  private init(process: Process, input: FileHandle, output: FileHandle) {
    self.process = process
    self.input = input
    self.outputHandle = output
  }

  static func start(_ worker: PDFWorker, path: String) throws -> PooledChild {
    // A child that dies makes writes to its pipe fail with EPIPE instead of
    // killing this process.
    signal(SIGPIPE, SIG_IGN)
    let process = Process()
    process.executableURL = worker.executable
    process.arguments = worker.arguments + ["--serve", "--memory-limit", String(worker.memoryLimit)]
    let stdin = Pipe()
    let stdout = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    process.standardError = FileHandle.nullDevice
    do { try process.run() } catch {
      throw IngestError.pdfWorkerFailed(
        path: path, reason: "cannot start \(worker.executable.path): \(error.localizedDescription)")
    }
    try? stdout.fileHandleForWriting.close()
    try? stdin.fileHandleForReading.close()
    return PooledChild(
      process: process, input: stdin.fileHandleForWriting, output: stdout.fileHandleForReading)
  }

  /// Sends `request` and returns the answer line, waiting at most `timeLimit` seconds.
  func ask(_ request: PDFWorkerRequest, timeLimit: Double) -> Result<[UInt8], Failure> {
    served += 1
    var line = (try? JSONEncoder().encode(request)) ?? Data()
    line.append(0x0A)
    do { try input.write(contentsOf: line) } catch { return .failure(exitFailure()) }
    switch lines.next(from: output, within: timeLimit, killing: process) {
    case .success(let line): return .success(line)
    case .failure(.timedOut): return .failure(.timedOut(timeLimit))
    case .failure(.closed): return .failure(exitFailure())
    }
  }

  /// The child's end of output: wait for it and say how it ended.
  private func exitFailure() -> Failure {
    process.waitUntilExit()
    let partial = String(decoding: lines.pending, as: UTF8.self).split(separator: "\n").last.map(String.init)
    return .exited(process.terminationReason, process.terminationStatus, partial)
  }

  /// Ends the child (closing its input ends a healthy one) and reaps it.
  func stop() {
    try? input.close()
    if process.isRunning {
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
    }
    try? outputHandle.close()
  }
}

extension PDFWorkerReply {
  /// The document, or the error the child reported.
  func result(path: String) throws -> ExtractedDocument {
    if let document { return document }
    switch errorKind {
    case "encrypted": throw IngestError.pdfEncrypted(path: path)
    default: throw IngestError.pdfUnreadable(path: path, reason: errorReason ?? "unknown error")
    }
  }

  /// Runs in a `--serve` child: applies the memory limit, then answers one
  /// request per input line until its input ends.
  ///
  /// - Parameters:
  ///   - memoryLimit: Bytes of address space (`RLIMIT_AS`); 0 for none.
  ///   - readLine: The next request line, `nil` at the end.
  ///   - write: Writes one answer line.
  public static func serve(memoryLimit: Int, readLine: () -> String?, write: (Data) -> Void) {
    limitMemory(memoryLimit)
    while let line = readLine() {
      var answer: Data
      if let request = try? JSONDecoder().decode(PDFWorkerRequest.self, from: Data(line.utf8)) {
        answer = extractInChild(
          path: request.path, displayPath: request.displayPath, password: request.password, memoryLimit: 0)
      } else {
        var reply = PDFWorkerReply()
        reply.errorKind = "unreadable"
        reply.errorReason = "bad request to the PDF worker"
        answer = (try? JSONEncoder().encode(reply)) ?? Data()
      }
      answer.append(0x0A)
      write(answer)
    }
  }

  /// Limits this process's address space to `bytes` (0: no limit).
  static func limitMemory(_ bytes: Int) { setLimit(RLIMIT_AS, bytes) }
}
