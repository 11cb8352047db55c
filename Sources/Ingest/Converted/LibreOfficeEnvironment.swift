import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Where LibreOffice and Python-UNO are on this machine, and the private
/// profiles soffice runs with.
enum LibreOfficeEnvironment {
  /// soffice: `LONGCTX_SOFFICE`, else `soffice` or `libreoffice` on PATH, else `nil`.
  static let soffice: String? = {
    let environment = ProcessInfo.processInfo.environment
    if let named = environment["LONGCTX_SOFFICE"], !named.isEmpty {
      return FileManager.default.isExecutableFile(atPath: named) ? named : nil
    }
    let path = environment["PATH"] ?? "/usr/bin:/bin"
    for name in ["soffice", "libreoffice"] {
      for dir in path.split(separator: ":") where !dir.isEmpty {
        let candidate = "\(dir)/\(name)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
      }
    }
    return nil
  }()

  /// The Python that has `uno` (Debian's python3-uno is built for the system Python):
  /// `LONGCTX_UNO_PYTHON`, else `/usr/bin/python3`.
  static let python: String = {
    let named = ProcessInfo.processInfo.environment["LONGCTX_UNO_PYTHON"] ?? ""
    return named.isEmpty ? "/usr/bin/python3" : named
  }()

  static let unshare = "/usr/bin/unshare"

  /// Whether soffice can be put in a network namespace of its own (`unshare -rn` works here).
  static let canIsolateNetwork: Bool = {
    guard FileManager.default.isExecutableFile(atPath: unshare) else { return false }
    let probe = Process()
    probe.executableURL = URL(fileURLWithPath: unshare)
    probe.arguments = ["-rn", "/bin/true"]
    probe.standardOutput = FileHandle.nullDevice
    probe.standardError = FileHandle.nullDevice
    guard (try? probe.run()) != nil else { return false }
    probe.waitUntilExit()
    return probe.terminationStatus == 0
  }()

  /// `LibreOffice 7.4.7.2` from `soffice --version` (asked once per process), or `nil` without soffice.
  static let version: String? = {
    guard let soffice else { return nil }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: soffice)
    process.arguments = ["--version"]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return nil }
    // A soffice that hangs on `--version` must not hang ingest: 30 s, then it is killed.
    let timer = DispatchWorkItem { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
    DispatchQueue.global().asyncAfter(deadline: .now() + 30, execute: timer)
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    timer.cancel()
    // `LibreOffice 7.4.7.2 40(Build:2)`
    let words = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isWhitespace)
    guard words.count >= 2, words[1].first?.isNumber == true else { return nil }
    return "\(words[0]) \(words[1])"
  }()

  /// The folder of profiles and the driver script: `$TMPDIR/longctx-libreoffice-<uid>`.
  static var root: URL {
    FileManager.default.temporaryDirectory.appendingPathComponent("longctx-libreoffice-\(getuid())")
  }

  /// The driver script, written once (named by its content, so a new version gets a new file).
  static func script() throws -> URL {
    let source = Data(LibreOfficeDriverScript.source.utf8)
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in source { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
    let url = root.appendingPathComponent("driver-\(String(hash, radix: 16)).py")
    if (try? Data(contentsOf: url)) != source {
      try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
      let temporary = root.appendingPathComponent("driver-\(getpid())-\(UUID().uuidString).tmp")
      try source.write(to: temporary)
      _ = rename(temporary.path, url.path)
      // Older versions' scripts: a process still using one writes it again when it restarts soffice.
      for name in (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
      where name.hasPrefix("driver-") && name != url.lastPathComponent {
        try? FileManager.default.removeItem(at: root.appendingPathComponent(name))
      }
    }
    return url
  }

  /// A private soffice profile for this process: the first of `profile-N` no
  /// other process holds (an `flock` held until this process ends), so that a
  /// worker reuses the profile an earlier worker made (its first start costs a
  /// second more) and two instances never share one.
  static func profile() throws -> URL {
    try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    for slot in 0..<256 {
      let lock = root.appendingPathComponent("profile-\(slot).lock").path
      let fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
      guard fd >= 0 else { continue }
      if flock(fd, LOCK_EX | LOCK_NB) == 0 {
        // The descriptor stays open (and locked) for the life of this process.
        return root.appendingPathComponent("profile-\(slot)", isDirectory: true)
      }
      close(fd)
    }
    return root.appendingPathComponent("profile-\(getpid())-\(UUID().uuidString)", isDirectory: true)
  }
}
