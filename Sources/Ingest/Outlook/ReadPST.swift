import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Runs libpst's `readpst` (Debian package pst-utils) on a `.pst`/`.ost`
/// store: one `.eml` (mail), `.ics` (appointments) or `.vcf` (contacts) file
/// per item, in one directory per folder, attachments inline as MIME parts.
///
/// Flags: `-e` (one file per item, with extensions), `-8` (UTF-8 bodies where
/// the store has them), `-j 0` (no forked jobs: the machine is shared and the
/// order stays fixed). Not `-D`: deleted items are left out, as readpst does by
/// default, so counts match readpst's own. Not `-b`: the RTF body comes as
/// `rtf-body.rtf`, which `PSTExtractor` reads when a message has no other body.
enum ReadPST {
  /// What readpst wrote and said.
  struct Output {
    /// The directory readpst wrote into (it holds the store's root folder).
    var directory: URL
    /// Its standard output and error.
    var log: String
    /// `Processing Folder` lines: the folders below the root it visited.
    var folders: Int
    /// The sum of its `N items skipped`.
    var skipped: Int
  }

  /// Seconds readpst may take on a store of `bytes` bytes: a minute plus a second a megabyte.
  static func timeLimit(forBytes bytes: Int) -> Double { 60 + Double(bytes) / 1_048_576 }

  /// Runs readpst on `path`, writing into `directory/out`.
  ///
  /// - Throws: `IngestError.outlookStoreUnreadable` (quoting readpst's own
  ///   message) when readpst cannot be started, fails, crashes or runs past `timeLimit`.
  static func run(path: String, displayPath: String, directory: URL, timeLimit: Double) throws -> Output {
    let out = directory.appendingPathComponent("out")
    let logURL = directory.appendingPathComponent("readpst.log")
    try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
    _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
    let log = try FileHandle(forWritingTo: logURL)
    defer { try? log.close() }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    // A relative path starting with "-" would read as an option.
    let store = path.hasPrefix("/") ? path : "./" + path
    process.arguments = ["readpst", "-e", "-8", "-j", "0", "-o", out.path, store]
    process.standardOutput = log
    process.standardError = log
    process.standardInput = FileHandle.nullDevice
    let done = DispatchSemaphore(value: 0)
    process.terminationHandler = { _ in done.signal() }
    do { try process.run() } catch {
      throw IngestError.outlookStoreUnreadable(
        path: displayPath, reason: "readpst (Debian package pst-utils) cannot be started: \(error)")
    }
    if done.wait(timeout: .now() + timeLimit) == .timedOut {
      process.terminate()
      if done.wait(timeout: .now() + 2) == .timedOut {
        kill(process.processIdentifier, SIGKILL)
        done.wait()
      }
      throw IngestError.outlookStoreUnreadable(
        path: displayPath, reason: "readpst did not finish within \(Int(timeLimit)) s and was stopped")
    }
    let text = (try? String(contentsOf: logURL, encoding: .utf8)) ?? ""
    // env exits 127 when it cannot find readpst.
    if process.terminationReason == .exit && process.terminationStatus == 127 {
      throw IngestError.outlookStoreUnreadable(
        path: displayPath, reason: "readpst is not installed (Debian package pst-utils)")
    }
    if process.terminationReason == .uncaughtSignal {
      throw IngestError.outlookStoreUnreadable(
        path: displayPath, reason: "readpst crashed (signal \(process.terminationStatus))\(quoted(text))")
    }
    guard process.terminationStatus == 0 else {
      throw IngestError.outlookStoreUnreadable(
        path: displayPath, reason: "readpst failed (exit \(process.terminationStatus))\(quoted(text))")
    }
    var folders = 0
    var skipped = 0
    for line in text.split(whereSeparator: \.isNewline) {
      if line.hasPrefix("Processing Folder ") { folders += 1 }
      if let r = line.range(of: #"(\d+) items skipped"#, options: .regularExpression) {
        skipped += Int(line[r].prefix { $0.isNumber }) ?? 0
      }
    }
    return Output(directory: out, log: text, folders: folders, skipped: skipped)
  }

  /// readpst's own message: its last lines that are not progress, as `: "…"`.
  private static func quoted(_ log: String) -> String {
    let lines = log.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
      .filter {
        !$0.isEmpty && !$0.hasPrefix("Opening PST file") && !$0.hasPrefix("Processing Folder")
          && !$0.hasSuffix("items skipped.")
      }
    guard !lines.isEmpty else { return "" }
    return ": \"" + lines.suffix(2).joined(separator: " ").prefix(300) + "\""
  }
}
