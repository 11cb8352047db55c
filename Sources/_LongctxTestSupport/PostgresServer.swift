import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A real PostgreSQL server for one test (or benchmark): `initdb` in a temporary
/// directory, listening on a free loopback port and on a unix socket in that
/// directory, with trust authentication for the user `longctx`. Debian's server
/// binaries (`/usr/lib/postgresql/N/bin`, or `LONGCTX_PG_BIN`) are required:
/// `PostgresServer.unavailable` says why when they are absent, for tests to skip.
///
/// PostgreSQL refuses to run as root; as root the server runs as the `postgres`
/// user Debian's package creates (else `nobody`), through `runuser`.
public final class PostgresServer: @unchecked Sendable {
  /// The temporary directory holding the cluster, its log and its socket.
  public let directory: URL
  /// The loopback TCP port.
  public let port: Int
  /// The directory of the server's binaries.
  public let binaries: URL
  /// The one address the server listens on (`127.0.0.1`, or a test host's address).
  public let address: String
  /// The network namespace the server runs in (`ip netns exec`), or nil for this process's.
  public let namespace: String?
  private let runAs: String?
  private var stopped = false

  /// The connection URL, e.g. `postgres://longctx@127.0.0.1:5433/postgres`.
  public var url: String { "postgres://longctx@\(address):\(port)/postgres" }
  /// The data directory.
  public var dataDirectory: URL { directory.appendingPathComponent("data") }

  /// Why no server can be started here, or nil when one can.
  public static var unavailable: String? {
    binaryDirectory() == nil
      ? "PostgreSQL server binaries are absent (install Debian's postgresql, or set LONGCTX_PG_BIN)" : nil
  }

  /// The newest `/usr/lib/postgresql/N/bin` holding `initdb`, or `LONGCTX_PG_BIN`.
  public static func binaryDirectory() -> URL? {
    if let env = ProcessInfo.processInfo.environment["LONGCTX_PG_BIN"], !env.isEmpty {
      return URL(fileURLWithPath: env)
    }
    let base = "/usr/lib/postgresql"
    let versions = ((try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []).compactMap(Int.init).sorted()
    for version in versions.reversed() {
      let bin = URL(fileURLWithPath: "\(base)/\(version)/bin")
      if FileManager.default.isExecutableFile(atPath: bin.appendingPathComponent("initdb").path) { return bin }
    }
    return nil
  }

  /// Makes a cluster and starts it.
  ///
  /// - Parameters:
  ///   - settings: Extra `-c name=value` server settings.
  ///   - address: The one address to listen on.
  ///   - namespace: A network namespace to run the server in (see `NetworkHosts`), whose
  ///     address `address` is; nil: this process's.
  /// - Throws: `PostgresServerError` when the binaries are absent or a step fails.
  public init(settings: [String: String] = [:], address: String = "127.0.0.1", namespace: String? = nil) throws {
    guard let bin = Self.binaryDirectory() else { throw PostgresServerError.absent }
    binaries = bin
    directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("longctx-pg-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    port = try Self.freePort()
    self.address = address
    self.namespace = namespace
    runAs = getuid() == 0 ? (getpwnam("postgres") != nil ? "postgres" : "nobody") : nil
    var options = [
      "-p \(port)", "-k \(directory.path)", "-c listen_addresses=\(address)", "-c fsync=off",
      "-c synchronous_commit=off", "-c full_page_writes=off", "-c max_connections=200",
    ]
    for (name, value) in settings.sorted(by: { $0.key < $1.key }) { options.append("-c \(name)=\(value)") }
    self.options = options.joined(separator: " ")
    if let runAs {
      try Self.run("/bin/chown", [runAs, directory.path], as: nil)
    }
    try Self.run(
      bin.appendingPathComponent("initdb").path,
      ["-D", dataDirectory.path, "-U", "longctx", "--auth=trust", "-E", "UTF8", "--no-sync"], as: runAs)
    if address != "127.0.0.1" {
      // initdb trusts loopback only; this server listens on a test host's address alone.
      let hba = try FileHandle(forWritingTo: dataDirectory.appendingPathComponent("pg_hba.conf"))
      try hba.seekToEnd()
      try hba.write(contentsOf: Data("host all all \(address)/24 trust\n".utf8))
      try hba.close()
    }
    try start()
  }

  private let options: String

  /// Starts the (stopped) server and waits until it accepts connections.
  public func start() throws {
    try Self.run(
      binaries.appendingPathComponent("pg_ctl").path,
      ["-D", dataDirectory.path, "-o", options, "-l", directory.appendingPathComponent("log").path, "-w", "start"],
      as: runAs, in: namespace)
    stopped = false
  }

  /// Stops the server (fast shutdown: open sessions are cut).
  public func stop() throws {
    guard !stopped else { return }
    try Self.run(
      binaries.appendingPathComponent("pg_ctl").path, ["-D", dataDirectory.path, "-m", "fast", "-w", "stop"],
      as: runAs)
    stopped = true
  }

  /// Stops the server and removes its directory.
  public func remove() {
    try? stop()
    try? FileManager.default.removeItem(at: directory)
  }

  deinit {
    if !stopped { try? stop() }
  }

  static func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw PostgresServerError.step("socket", "errno \(errno)") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
        bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
      }
    }
    guard bound else { throw PostgresServerError.step("bind", "errno \(errno)") }
    return Int(UInt16(bigEndian: address.sin_port))
  }

  static func run(_ executable: String, _ arguments: [String], as user: String?, in namespace: String? = nil) throws {
    let process = Process()
    // Through a shell that closes every descriptor above 2 first: the server pg_ctl starts
    // would otherwise inherit the one Foundation watches for the child's exit, and
    // `waitUntilExit` would wait for the server instead.
    process.executableURL = URL(fileURLWithPath: "/bin/bash")
    process.arguments =
      [
        "-c",
        "for fd in $(ls /proc/$$/fd); do [ \"$fd\" -gt 2 ] && eval \"exec $fd>&-\"; done 2>/dev/null; exec \"$@\"",
        "bash",
      ] + (namespace.map { [NetworkHosts.ip, "netns", "exec", $0] } ?? [])
      + (user.map { ["/usr/sbin/runuser", "-u", $0, "--"] } ?? []) + [executable] + arguments
    // Output to a file, not a pipe: the server pg_ctl starts must not hold our pipe open.
    let log = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("longctx-pg-\(UUID().uuidString).out")
    FileManager.default.createFile(atPath: log.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: log) }
    let handle = try FileHandle(forWritingTo: log)
    process.standardOutput = handle
    process.standardError = handle
    process.standardInput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    try? handle.close()
    let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
    guard process.terminationStatus == 0 else {
      throw PostgresServerError.step(URL(fileURLWithPath: executable).lastPathComponent, text)
    }
  }
}

/// Why a test server could not be made.
public enum PostgresServerError: Error, CustomStringConvertible {
  case absent
  case step(String, String)

  public var description: String {
    switch self {
    case .absent: return "PostgreSQL server binaries are absent"
    case .step(let step, let output): return "\(step) failed: \(output)"
    }
  }
}
