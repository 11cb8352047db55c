import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Several "hosts" on one machine for a test: one network namespace each (`ip netns add`),
/// joined by a veth pair to a bridge in this process's namespace, with addresses on a private
/// /24. This process reaches every host through the bridge's address (`hostAddress`), and the
/// hosts reach one another and it; a host's only link is its `eth0`, so setting it down cuts
/// that host off. Names are unique per instance; `remove()` (also run by `deinit`) kills what
/// still runs inside, deletes the namespaces and the bridge.
///
/// Needs root (or CAP_NET_ADMIN and CAP_SYS_ADMIN) and iproute2's `ip`: `unavailable` says
/// why not, for tests to skip.
public final class NetworkHosts: @unchecked Sendable {
  /// One namespace: its name (for `ip netns exec`) and its address on the bridge.
  public struct Host: Sendable {
    /// The namespace's name, e.g. `longctx-3fa9c-db`.
    public let namespace: String
    /// Its IPv4 address, e.g. `10.213.77.2`.
    public let address: String
  }

  /// The path of `ip`.
  public static let ip = "/usr/sbin/ip"
  /// The bridge's address: this process, as the hosts see it.
  public let hostAddress: String
  /// The hosts, by the names given to `init`.
  public let hosts: [String: Host]
  private let bridge: String
  private let namespaces: [String]
  private let links: [String]
  private let lock = NSLock()
  private var removed = false

  /// Why no namespaces can be made here (no `ip`, not permitted), or nil when they can.
  public static let unavailable: String? = {
    guard FileManager.default.isExecutableFile(atPath: ip) else { return "iproute2's ip is absent (\(ip))" }
    let probe = "longctx-probe-\(getpid())"
    do {
      try run(["netns", "add", probe])
      try? run(["netns", "del", probe])
      return nil
    } catch {
      return "network namespaces cannot be made here (needs root or CAP_NET_ADMIN): \(error)"
    }
  }()

  /// Makes one namespace per name, each linked to a new bridge.
  ///
  /// - Parameter names: Short names (e.g. `db`, `w1`); the namespaces are `longctx-<id>-<name>`.
  /// - Throws: `NetworkHostsError` when an `ip` step fails (what was made is removed).
  public init(_ names: [String]) throws {
    let id = String(UInt32.random(in: 0..<0xF_FFFF), radix: 16)
    bridge = "lcb\(id)"
    namespaces = names.map { "longctx-\(id)-\($0)" }
    links = names.indices.map { "lc\(id)h\($0)" }
    let subnet = try Self.freeSubnet()
    hostAddress = "\(subnet).1"
    var hosts: [String: Host] = [:]
    for (index, name) in names.enumerated() {
      hosts[name] = Host(namespace: namespaces[index], address: "\(subnet).\(index + 2)")
    }
    self.hosts = hosts
    do {
      try Self.run(["link", "add", bridge, "type", "bridge"])
      try Self.run(["addr", "add", "\(hostAddress)/24", "dev", bridge])
      try Self.run(["link", "set", bridge, "up"])
      for (index, name) in names.enumerated() {
        let namespace = namespaces[index]
        let outside = links[index]
        try Self.run(["netns", "add", namespace])
        try Self.run(["link", "add", outside, "type", "veth", "peer", "name", "eth0", "netns", namespace])
        try Self.run(["link", "set", outside, "master", bridge, "up"])
        try Self.run(["-n", namespace, "addr", "add", "\(hosts[name]?.address ?? "")/24", "dev", "eth0"])
        try Self.run(["-n", namespace, "link", "set", "eth0", "up"])
        try Self.run(["-n", namespace, "link", "set", "lo", "up"])
      }
    } catch {
      remove()
      throw error
    }
  }

  /// The host called `name`.
  public subscript(name: String) -> Host {
    guard let host = hosts[name] else { preconditionFailure("no host \(name) was made") }
    return host
  }

  /// The command line that runs `command` inside `host`'s namespace.
  public func command(_ command: [String], in host: Host) -> [String] {
    [Self.ip, "netns", "exec", host.namespace] + command
  }

  /// Starts `longctx ARGS` inside `host` and collects its output as it comes (`ip netns exec`
  /// execs it in place: the process's pid is longctx's).
  public func launch(_ arguments: [String], in host: Host, cwd: URL? = nil) throws -> CLI.Running {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: Self.ip)
    process.arguments = ["netns", "exec", host.namespace, CLI.executable.path] + arguments
    if let cwd { process.currentDirectoryURL = cwd }
    process.standardOutput = Pipe()
    process.standardError = Pipe()
    process.standardInput = FileHandle.nullDevice
    return try CLI.Running(process, onStderr: nil)
  }

  /// Sets `host`'s link up or down (down: the host is cut off from the others, as a pulled cable).
  public func setLink(of host: Host, up: Bool) throws {
    try Self.run(["-n", host.namespace, "link", "set", "eth0", up ? "up" : "down"])
  }

  /// Kills whatever still runs in the namespaces, deletes them and the bridge. Safe to call twice.
  public func remove() {
    let already = lock.withLock {
      defer { removed = true }
      return removed
    }
    guard !already else { return }
    for namespace in namespaces {
      // A link left down keeps the kernel's orphaned connections to it (and so the
      // namespace and its veth) alive for minutes: up again, they close at once.
      try? Self.run(["-n", namespace, "link", "set", "eth0", "up"])
      for pid in Self.processes(in: namespace) { kill(pid, SIGKILL) }
      try? Self.run(["netns", "del", namespace])
    }
    // A namespace the kernel still holds (orphaned connections time out in minutes) keeps
    // its veth pair: delete this end, which deletes both.
    for link in links { try? Self.run(["link", "del", link]) }
    try? Self.run(["link", "del", bridge])
  }

  deinit { remove() }

  /// The processes whose network namespace is `namespace`'s (read from `/proc`, as `ip netns
  /// pids` found none on this machine's kernel).
  static func processes(in namespace: String) -> [Int32] {
    var info = stat()
    guard stat("/run/netns/\(namespace)", &info) == 0 else { return [] }
    let link = "net:[\(info.st_ino)]"
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap(Int32.init).filter { pid in
      pid != getpid() && (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/net")) == link
    }
  }

  /// A `10.213.N` (N random) that no route of this machine already uses.
  static func freeSubnet() throws -> String {
    let routes = try run(["-4", "route", "show", "table", "all"])
    for _ in 0..<50 {
      let subnet = "10.213.\(Int.random(in: 1..<255))"
      if !routes.contains("\(subnet).") { return subnet }
    }
    throw NetworkHostsError.step("route", "no free 10.213.N.0/24")
  }

  /// Runs `ip ARGS`; its standard output.
  @discardableResult
  static func run(_ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: ip)
    process.arguments = arguments
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let output = out.fileHandleForReading.readDataToEndOfFile()
    let error = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
      throw NetworkHostsError.step(
        "ip " + arguments.joined(separator: " "), String(decoding: error, as: UTF8.self))
    }
    return String(decoding: output, as: UTF8.self)
  }
}

/// Why a test's hosts could not be made.
public enum NetworkHostsError: Error, CustomStringConvertible {
  case step(String, String)

  public var description: String {
    switch self {
    case .step(let step, let output): return "\(step) failed: \(output)"
    }
  }
}
