import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A running `--serve` extraction child. Only the lane that started it
/// touches it, so its mutable state needs no lock.
final class ExtractionChild: @unchecked Sendable {
  let process: Process
  private let input: FileHandle
  private let outputHandle: FileHandle
  private var output: Int32 { outputHandle.fileDescriptor }
  /// The child's standard error (the runtime's last words when it traps).
  private let errorURL: URL
  private var lines = LineBuffer()
  private(set) var served = 0

  /// Why a file got no answer.
  enum Failure: Error {
    case timedOut(Double)
    case exited(Process.TerminationReason, Int32, String?)

    /// One plain sentence for the exceptions table.
    func reason(memoryLimit: Int) -> String {
      switch self {
      case .timedOut(let seconds):
        return "extractor timed out on this file after \(Int(seconds.rounded())) s and was stopped"
      case .exited(.uncaughtSignal, let signal, let lastWords):
        var reason = "extractor crashed on this file: signal \(signal) (\(signalName(signal)))"
        if let lastWords { reason += ": \(lastWords)" }
        if signal == SIGKILL || (lastWords == nil && (signal == SIGABRT || signal == SIGSEGV)) {
          reason += " (possibly out of memory; limit \(memoryLimit >> 20) MiB)"
        }
        return reason
      case .exited(_, let status, let lastWords):
        return "extractor exited with status \(status) on this file without a result"
          + (lastWords.map { ": \($0)" } ?? "")
      }
    }
  }

  private init(process: Process, input: FileHandle, output: FileHandle, errorURL: URL) {
    self.process = process
    self.input = input
    self.outputHandle = output
    self.errorURL = errorURL
  }

  deinit { try? FileManager.default.removeItem(at: errorURL) }

  static func start(_ worker: ExtractionWorker, workspaceRoot: URL) throws -> ExtractionChild {
    // A child that dies makes writes to its pipe fail with EPIPE instead of killing this process.
    signal(SIGPIPE, SIG_IGN)
    let process = Process()
    process.executableURL = worker.executable
    process.arguments =
      worker.arguments + ["--serve", "--workspace", workspaceRoot.path, "--memory-limit", String(worker.memoryLimit)]
    var environment = ProcessInfo.processInfo.environment
    // A trap ends the child at once: the runtime's backtracer would take seconds per crash.
    environment["SWIFT_BACKTRACE"] = "enable=no"
    // Tesseract's OpenMP threads would fight the other lanes for the cores
    // (a page took 7 times longer): one thread per child, one child per core.
    // libgomp reads this when it loads, so it must be set before the child starts.
    if environment["OMP_THREAD_LIMIT"] == nil { environment["OMP_THREAD_LIMIT"] = "1" }
    environment.merge(worker.environment) { $1 }
    process.environment = environment
    let stdin = Pipe()
    let stdout = Pipe()
    let errorURL = FileManager.default.temporaryDirectory.appendingPathComponent(
      "longctx-extract-\(UUID().uuidString).err")
    _ = FileManager.default.createFile(atPath: errorURL.path, contents: nil)
    process.standardInput = stdin
    process.standardOutput = stdout
    process.standardError = try FileHandle(forWritingTo: errorURL)
    do { try process.run() } catch {
      try? FileManager.default.removeItem(at: errorURL)
      throw IngestError.workerUnavailable(executable: worker.executable.path, reason: error.localizedDescription)
    }
    try? stdout.fileHandleForWriting.close()
    try? stdin.fileHandleForReading.close()
    let child = ExtractionChild(
      process: process, input: stdin.fileHandleForWriting, output: stdout.fileHandleForReading, errorURL: errorURL)
    // The child says when it is ready (loaded, workspace open), so that a slow
    // start on a loaded machine does not count against the first file's time.
    switch child.readLine(timeLimit: startupLimit) {
    case .success(let line) where line == Array(readyLine.utf8):
      return child
    case .success:
      child.stop()
      throw IngestError.workerUnavailable(
        executable: worker.executable.path, reason: "it answered something else than that it was ready")
    case .failure(let failure):
      child.stop()
      throw IngestError.workerUnavailable(
        executable: worker.executable.path, reason: failure.reason(memoryLimit: worker.memoryLimit))
    }
  }

  /// The line a child writes once it is ready for requests.
  static let readyLine = "ready"
  /// The line a child writes, with a page number, when OCR of a page starts (`ExtractionProgress`).
  static let progressLine = "progress"
  /// The line a child writes once the documents of its held answers are stored.
  static let committedLine = "committed"
  /// The line a child writes, with the reason, when it could not store them (the held files failed).
  static let notCommittedLine = "not-committed"
  /// Seconds a child may take to start.
  static let startupLimit: Double = 120

  /// What one round of requests came to.
  struct Answers {
    /// The answers that hold (their documents stored), in order.
    var stored: [ExtractionReply] = []
    /// How many files after those were answered as held but never committed
    /// (the child died first): they must be extracted again.
    var held = 0
    /// Why the answers stop short, if they do.
    var failure: Failure?
    /// The page the first unanswered file was being read with OCR when the child died.
    var page: Int?
  }

  /// Sends `requests` (a few at a time, so neither side's pipe fills) and
  /// collects the answers in order, waiting at most `timeLimits[i]` seconds
  /// for the i-th, and `commitLimit` seconds for the commit line that
  /// releases held answers.
  func ask(_ requests: [ExtractionRequest], timeLimits: [Double], commitLimit: Double = 120) -> Answers {
    let encoder = JSONEncoder()
    let lines: [Data] = requests.map {
      var line = (try? encoder.encode($0)) ?? Data()
      line.append(0x0A)
      return line
    }
    var replies: [ExtractionReply] = []
    // Where the answers not yet committed begin.
    var heldFrom: Int?
    func result(_ failure: Failure?, page: Int? = nil) -> Answers {
      let stored = heldFrom ?? replies.count
      return Answers(
        stored: Array(replies[..<stored]), held: replies.count - stored, failure: failure, page: page)
    }
    var sent = 0
    var outstanding = 0
    while replies.count < requests.count || heldFrom != nil {
      // Keep under 32 KiB of requests unread: the pipe holds 64 KiB.
      while sent < lines.count && (sent == replies.count || outstanding + lines[sent].count < 32 << 10) {
        do { try input.write(contentsOf: lines[sent]) } catch { return result(exitFailure()) }
        outstanding += lines[sent].count
        sent += 1
      }
      let index = replies.count
      let limit = index < requests.count ? timeLimits[index] : commitLimit
      var answer = readLine(timeLimit: limit)
      var page: Int?
      // A progress line (a scan's page about to be read) starts the file's time limit again.
      while case .success(let line) = answer, line.starts(with: Array(Self.progressLine.utf8)) {
        page = Int(String(decoding: line.dropFirst(Self.progressLine.utf8.count + 1), as: UTF8.self))
        answer = readLine(timeLimit: limit)
      }
      switch answer {
      case .failure(let failure): return result(failure, page: index < requests.count ? page : nil)
      case .success(let line) where line == Array(Self.committedLine.utf8):
        heldFrom = nil
      case .success(let line) where line.starts(with: Array((Self.notCommittedLine + " ").utf8)):
        let reason = String(decoding: line.dropFirst(Self.notCommittedLine.utf8.count + 1), as: UTF8.self)
        for i in (heldFrom ?? replies.count)..<replies.count {
          replies[i].outcome = Ingestor.failedIfStored(replies[i].outcome, reason)
        }
        heldFrom = nil
      case .success(let line):
        guard index < requests.count else {
          return result(.exited(.exit, 0, "answered something that is not a result"))
        }
        outstanding -= lines[index].count
        served += 1
        guard let reply = try? JSONDecoder().decode(ExtractionReply.self, from: Data(line)),
          reply.path == requests[index].file.path
        else {
          return result(.exited(.exit, 0, "answered something that is not a result"))
        }
        if reply.held == true && heldFrom == nil { heldFrom = replies.count }
        replies.append(reply)
      }
    }
    return result(nil)
  }

  /// One answer line, waiting at most `timeLimit` seconds (a child that takes longer is killed).
  private func readLine(timeLimit: Double) -> Result<[UInt8], Failure> {
    switch lines.next(from: output, within: timeLimit, killing: process) {
    case .success(let line): return .success(line)
    case .failure(.timedOut): return .failure(.timedOut(timeLimit))
    case .failure(.closed): return .failure(exitFailure())
    }
  }

  /// The child's end: wait for it and say how it ended, with the last
  /// runtime message it wrote (`Fatal error: …`), if any.
  private func exitFailure() -> Failure {
    process.waitUntilExit()
    return .exited(process.terminationReason, process.terminationStatus, lastWords())
  }

  private func lastWords() -> String? {
    guard let handle = try? FileHandle(forReadingFrom: errorURL) else { return nil }
    defer { try? handle.close() }
    let size = (try? handle.seekToEnd()) ?? 0
    try? handle.seek(toOffset: size > 4096 ? size - 4096 : 0)
    let text = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
    let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    let fatal = lines.last { $0.contains("Fatal error") || $0.contains("fatal error") || $0.contains("Assertion") }
    guard var line = fatal ?? lines.last else { return nil }
    // `Ingest/Declarations.swift:101: Fatal error: …` → `Fatal error: …`, the file and line kept after it.
    if let range = line.range(of: "Fatal error: ") {
      let place = line[..<range.lowerBound].trimmingCharacters(in: CharacterSet(charactersIn: ": "))
      line = String(line[range.lowerBound...]) + (place.isEmpty ? "" : " (at \(place))")
    }
    return line.count > 300 ? String(line.prefix(299)) + "…" : line
  }

  /// Ends the child (closing its input ends a healthy one) and reaps it.
  func stop() {
    try? input.close()
    if process.isRunning {
      // A healthy child exits when its input ends; give it a moment to close the database.
      let deadline = Date().addingTimeInterval(2)
      while process.isRunning && Date() < deadline { usleep(2000) }
      if process.isRunning {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
      }
    }
    try? outputHandle.close()
  }
}

/// `SIGSEGV` for 11 and so on.
func signalName(_ signal: Int32) -> String {
  switch signal {
  case SIGILL: "SIGILL"
  case SIGTRAP: "SIGTRAP"
  case SIGABRT: "SIGABRT"
  case SIGBUS: "SIGBUS"
  case SIGFPE: "SIGFPE"
  case SIGKILL: "SIGKILL"
  case SIGSEGV: "SIGSEGV"
  case SIGTERM: "SIGTERM"
  case SIGXCPU: "SIGXCPU"
  default: "signal \(signal)"
  }
}
