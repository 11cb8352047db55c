import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// What LibreOffice is asked to write for one file.
enum LibreOfficeExport: String, Codable, Sendable {
  /// Office Open XML: a text document as DOCX, a spreadsheet as XLSX, a presentation as PPTX (drawings have none).
  case ooxml
  /// Plain text: a text document as UTF-8 text, each sheet as tab-separated values, a presentation or drawing as PDF.
  case plain
  /// PDF, hidden slides included.
  case pdf
}

/// One file converted by LibreOffice: what it is and what was written.
struct LibreOfficeConversion: Decodable, Sendable {
  /// A written file.
  struct File: Decodable, Sendable {
    var path: String
    /// `docx`, `xlsx`, `pptx`, `txt`, `csv` or `pdf`.
    var format: String
    /// The sheet a CSV file holds.
    var sheet: String?
  }

  /// `text`, `sheet`, `slides` or `drawing`, by the document LibreOffice loaded the file as.
  var family: String
  /// The import filter LibreOffice chose (`MS Word 97`, `calc8`…).
  var filter: String
  /// The original file's properties (author, created…), under the ingest keys.
  var metadata: [String: String]
  var files: [File]
  /// Whether a password opened it.
  var password: Bool
  /// A presentation's speaker notes, one entry per slide (plain export only).
  var notes: [String]?
}

/// Why LibreOffice converted nothing.
enum LibreOfficeFailure: Error, Equatable {
  /// soffice or Python-UNO cannot be started.
  case unavailable(String)
  /// The file needs a password and none was given.
  case encrypted
  /// The file needs a password and none given opens it.
  case wrongPassword
  /// LibreOffice cannot open it (corrupt, unknown format).
  case unreadable(String)
  /// soffice crashed on it.
  case crashed(String)
  /// It took longer than its time limit; soffice was killed.
  case timedOut(Double)
}

/// One running driver (`LibreOfficeDriverScript`) and its soffice: a Python
/// process in its own process group, answering one JSON line per request.
/// Used under `LibreOfficeConverter`'s lock only.
final class LibreOfficeDriver: @unchecked Sendable {
  private let process: Process
  private let input: FileHandle
  private let output: FileHandle
  private var lines = LineBuffer()
  /// `LibreOffice 7.4.7.2`, as the running soffice says.
  private(set) var version: String?

  private init(process: Process, input: FileHandle, output: FileHandle) {
    self.process = process
    self.input = input
    self.output = output
  }

  /// The driver's pid, which is also its process group (soffice's too).
  var processIdentifier: Int32 { process.processIdentifier }

  /// Whether the driver is still running.
  var isRunning: Bool { process.isRunning }

  /// Starts a driver and its soffice, waiting at most `startLimit` seconds for soffice to answer.
  static func start(
    soffice: String, python: String, script: URL, profile: URL, isolateNetwork: Bool, startLimit: Double = 120
  ) throws(LibreOfficeFailure) -> LibreOfficeDriver {
    signal(SIGPIPE, SIG_IGN)
    let process = Process()
    let pipeName = "longctx-\(getpid())-\(UUID().uuidString.prefix(8))"
    let arguments = [script.path, soffice, profile.absoluteString, pipeName]
    // A network namespace of its own keeps soffice off the network (linked images, update checks).
    if isolateNetwork {
      process.executableURL = URL(fileURLWithPath: LibreOfficeEnvironment.unshare)
      process.arguments = ["-rn", python] + arguments
    } else {
      process.executableURL = URL(fileURLWithPath: python)
      process.arguments = arguments
    }
    var environment = ProcessInfo.processInfo.environment
    // soffice writes below HOME; a read-only or missing HOME stops it starting.
    if let home = environment["HOME"], !FileManager.default.isWritableFile(atPath: home) {
      environment["HOME"] = profile.deletingLastPathComponent().path
    }
    // The system Python must find its own python3-uno, not a virtualenv's modules.
    environment.removeValue(forKey: "PYTHONPATH")
    environment.removeValue(forKey: "PYTHONHOME")
    process.environment = environment
    let stdin = Pipe()
    let stdout = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    process.standardError = FileHandle.nullDevice
    do { try process.run() } catch {
      throw .unavailable("cannot run \(python): \(error.localizedDescription)")
    }
    try? stdout.fileHandleForWriting.close()
    try? stdin.fileHandleForReading.close()
    let driver = LibreOfficeDriver(
      process: process, input: stdin.fileHandleForWriting, output: stdout.fileHandleForReading)
    struct Ready: Decodable {
      var ready: Bool
      var version: String?
      var error: String?
    }
    switch driver.readLine(timeLimit: startLimit) {
    case .success(let line):
      guard let ready = try? JSONDecoder().decode(Ready.self, from: Data(line)) else {
        driver.kill()
        throw .unavailable("the LibreOffice driver answered something else than that it was ready")
      }
      guard ready.ready else {
        driver.kill()
        throw .unavailable(ready.error ?? "soffice did not start")
      }
      driver.version = ready.version.flatMap { $0.isEmpty ? nil : $0 }
      return driver
    case .failure(.timedOut):
      throw .unavailable("soffice did not answer within \(Int(startLimit)) s of starting")
    case .failure(.closed):
      driver.kill()
      throw .unavailable(
        "the LibreOffice driver exited as it started (is python3-uno installed for \(python)?)")
    }
  }

  /// Converts `path` into `directory`, waiting at most `timeLimit` seconds
  /// (past them the driver and soffice are killed).
  func convert(
    _ path: String, exports: [LibreOfficeExport], passwords: [String], into directory: URL, timeLimit: Double
  ) throws(LibreOfficeFailure) -> LibreOfficeConversion {
    struct Request: Encodable {
      var input: String
      var outdir: String
      var exports: [LibreOfficeExport]
      var passwords: [String]
    }
    var line =
      (try? JSONEncoder().encode(
        Request(input: path, outdir: directory.path, exports: exports, passwords: passwords))) ?? Data()
    line.append(0x0A)
    do { try input.write(contentsOf: line) } catch {
      kill()
      throw .crashed("the LibreOffice driver had exited")
    }
    struct Reply: Decodable {
      var ok: Bool
      var reason: String?
      var detail: String?
    }
    switch readLine(timeLimit: timeLimit) {
    case .failure(.timedOut): throw .timedOut(timeLimit)
    case .failure(.closed):
      kill()
      throw .crashed("the LibreOffice driver exited")
    case .success(let answer):
      let data = Data(answer)
      guard let reply = try? JSONDecoder().decode(Reply.self, from: data) else {
        throw .crashed("the LibreOffice driver answered something that is not a result")
      }
      if reply.ok, let conversion = try? JSONDecoder().decode(LibreOfficeConversion.self, from: data) {
        return conversion
      }
      let detail = reply.detail ?? "no reason given"
      switch reply.reason {
      case "encrypted": throw .encrypted
      case "wrong-password": throw .wrongPassword
      case "crashed": throw .crashed(detail)
      case "unavailable": throw .unavailable(detail)
      default: throw .unreadable(detail)
      }
    }
  }

  private func readLine(timeLimit: Double) -> Result<[UInt8], LineBuffer.End> {
    lines.next(from: output.fileDescriptor, within: timeLimit) { kill() }
  }

  /// Ends the driver: closing its input makes it close soffice; past `grace` seconds the group is killed.
  func stop(grace: Double = 10) {
    try? input.close()
    let deadline = Date().addingTimeInterval(grace)
    while process.isRunning && Date() < deadline { usleep(10_000) }
    kill()
  }

  /// Kills the driver's process group (the driver, soffice and its children) and reaps the driver.
  func kill() {
    let pid = process.processIdentifier
    if pid > 0 {
      // The driver made its pid its group as it started; the pid alone covers a driver killed before that.
      _ = Glibc.kill(-pid, SIGKILL)
      _ = Glibc.kill(pid, SIGKILL)
    }
    if process.isRunning || pid > 0 { process.waitUntilExit() }
    try? input.close()
    try? output.close()
  }
}
