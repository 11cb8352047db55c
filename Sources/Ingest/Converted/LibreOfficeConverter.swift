import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// LibreOffice headless kept warm: one soffice per process (an extraction
/// worker), driven through Python-UNO, started at the first conversion and
/// reused for the next ones.
///
/// Starting soffice costs about 2 s (3 s with a new profile); a warm instance
/// converts a small file in a tenth of that (BENCHMARKS.md). A conversion that
/// passes its time limit kills soffice and its driver; a soffice that died is
/// started again for the next file. Conversions in one process take turns.
final class LibreOfficeConverter: Sendable {
  /// The converter of this process.
  static let shared = LibreOfficeConverter()

  private struct State {
    var driver: LibreOfficeDriver?
    var profile: URL?
    var version: String?
    /// Why soffice could not start, remembered so that a machine without it fails each file at once.
    var unavailable: String?
    var starts = 0
  }

  private let state = Mutex(State())

  /// Whether soffice is installed (`LibreOfficeEnvironment.soffice`).
  static var isInstalled: Bool { LibreOfficeEnvironment.soffice != nil }

  /// How many times this converter started soffice (the first start and restarts).
  var starts: Int { state.withLock { $0.starts } }

  /// The running driver's process group (the driver and soffice), if one runs.
  var processGroup: Int32? { state.withLock { $0.driver?.processIdentifier } }

  /// The running soffice's version (`LibreOffice 7.4.7.2`), else `soffice --version`'s.
  var version: String? { state.withLock { $0.version } ?? LibreOfficeEnvironment.version }

  /// The time limit for converting a file of `bytes`: a minute, and 4 s more per MiB.
  static func timeLimit(forBytes bytes: Int) -> Double { min(600, 60 + Double(bytes) / 262_144) }

  /// Converts `path` into `directory` (which must exist and be empty).
  ///
  /// - Parameters:
  ///   - path: The file to convert.
  ///   - exports: What to write.
  ///   - passwords: Passwords to try, in order, when the file is encrypted.
  ///   - directory: Where the files are written.
  ///   - timeLimit: Seconds the conversion may take; past them soffice is killed.
  /// - Returns: What LibreOffice loaded and the files it wrote.
  /// - Throws: `LibreOfficeFailure`.
  func convert(
    _ path: String, exports: [LibreOfficeExport], passwords: [String] = [], into directory: URL, timeLimit: Double
  ) throws(LibreOfficeFailure) -> LibreOfficeConversion {
    try state.withLock { (state: inout State) throws(LibreOfficeFailure) -> LibreOfficeConversion in
      let driver = try Self.running(&state)
      do throws(LibreOfficeFailure) {
        return try driver.convert(
          path, exports: exports, passwords: passwords, into: directory, timeLimit: timeLimit)
      } catch {
        switch error {
        case .timedOut, .crashed, .unavailable:
          // The driver was killed or is in doubt: the next file starts a fresh one.
          driver.kill()
          state.driver = nil
        default: break
        }
        throw error
      }
    }
  }

  /// Stops soffice (it starts again at the next conversion).
  func stop() {
    state.withLock { state in
      state.driver?.stop()
      state.driver = nil
    }
  }

  private static func running(_ state: inout State) throws(LibreOfficeFailure) -> LibreOfficeDriver {
    if let driver = state.driver, driver.isRunning { return driver }
    state.driver = nil
    if let unavailable = state.unavailable { throw .unavailable(unavailable) }
    guard let soffice = LibreOfficeEnvironment.soffice else {
      state.unavailable = "LibreOffice is not installed (no soffice on PATH; Debian package libreoffice-nogui)"
      throw .unavailable(state.unavailable ?? "")
    }
    let script: URL
    do {
      script = try LibreOfficeEnvironment.script()
      if state.profile == nil { state.profile = try LibreOfficeEnvironment.profile() }
    } catch {
      throw .unavailable("cannot write LibreOffice's profile or driver: \(error.localizedDescription)")
    }
    guard let profile = state.profile else { throw .unavailable("no LibreOffice profile") }
    func start() throws(LibreOfficeFailure) -> LibreOfficeDriver {
      state.starts += 1
      return try LibreOfficeDriver.start(
        soffice: soffice, python: LibreOfficeEnvironment.python, script: script, profile: profile,
        isolateNetwork: LibreOfficeEnvironment.canIsolateNetwork)
    }
    let driver: LibreOfficeDriver
    do throws(LibreOfficeFailure) {
      driver = try start()
    } catch {
      // A profile left broken by a killed soffice: start once more with a fresh one.
      try? FileManager.default.removeItem(at: profile)
      do throws(LibreOfficeFailure) { driver = try start() } catch {
        if case .unavailable(let reason) = error, reason.contains("python3-uno") || reason.contains("Python-UNO") {
          state.unavailable = reason
        }
        throw error
      }
    }
    state.version = driver.version ?? state.version
    state.driver = driver
    return driver
  }
}

// MARK: - PDF

extension LibreOfficeConverter {
  /// Converts any office file LibreOffice reads to PDF (for a production's page images).
  ///
  /// - Parameters:
  ///   - path: The office file.
  ///   - directory: Where the PDF is written (created if missing).
  ///   - timeout: Seconds the conversion may take.
  ///   - passwords: Passwords to try when the file is encrypted.
  /// - Returns: `directory/<name>.pdf`.
  /// - Throws: `IngestError` naming `path`.
  static func pdf(of path: String, in directory: URL, timeout: Double? = nil, passwords: [String] = []) throws -> URL {
    let name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
    let target = directory.appendingPathComponent(name + ".pdf")
    let work = try ConversionDirectory()
    defer { work.remove() }
    let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    let conversion: LibreOfficeConversion
    do {
      conversion = try shared.convert(
        path, exports: [.pdf], passwords: passwords, into: work.url, timeLimit: timeout ?? timeLimit(forBytes: size))
    } catch {
      throw error.ingestError(path: path)
    }
    guard let pdf = conversion.files.first(where: { $0.format == "pdf" }) else {
      throw IngestError.officeNotConverted(path: path, reason: "LibreOffice wrote no PDF")
    }
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    try? FileManager.default.removeItem(at: target)
    try FileManager.default.moveItem(at: URL(fileURLWithPath: pdf.path), to: target)
    return target
  }
}

/// A fresh private temporary directory for one conversion's files.
struct ConversionDirectory {
  let url: URL

  init() throws {
    var template = Array(
      FileManager.default.temporaryDirectory.appendingPathComponent("longctx-convert-XXXXXX").path.utf8CString)
    let made = template.withUnsafeMutableBufferPointer { $0.baseAddress.flatMap { mkdtemp($0) } }
    guard made != nil else {
      throw IngestError.unreadable(
        path: FileManager.default.temporaryDirectory.path, reason: "cannot make a temporary directory")
    }
    let path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    url = URL(fileURLWithPath: path, isDirectory: true)
  }

  func remove() { try? FileManager.default.removeItem(at: url) }
}

extension LibreOfficeFailure {
  /// The plain sentence for `path`.
  func ingestError(path: String) -> IngestError {
    switch self {
    case .encrypted: .officeEncrypted(path: path)
    case .wrongPassword: .officeWrongPassword(path: path)
    case .unreadable(let reason): .officeNotConverted(path: path, reason: reason)
    case .crashed(let reason): .officeNotConverted(path: path, reason: "LibreOffice crashed on it (\(reason))")
    case .timedOut(let seconds): .officeConversionTimedOut(path: path, seconds: seconds)
    case .unavailable(let reason): .officeConverterUnavailable(path: path, reason: reason)
    }
  }
}
