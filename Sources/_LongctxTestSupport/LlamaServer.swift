import Foundation

#if canImport(Glibc)
  import Glibc
#endif
#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// The real `llama-server` on a free loopback port, for end-to-end tests.
public final class LlamaServer: @unchecked Sendable {
  public let port: Int
  public let apiKey: String?
  public let slots: Int
  private var process: Process?
  private let log: URL

  public var baseURL: String { "http://127.0.0.1:\(port)/v1" }

  /// The binary and model from scripts/setup.sh; a missing one fails the test with the fix.
  public static func paths() throws -> (server: String, model: String) {
    let env = ProcessInfo.processInfo.environment
    guard let server = env["LONGCTX_LLAMA_SERVER"], FileManager.default.isExecutableFile(atPath: server),
      let model = env["LONGCTX_MODEL"], FileManager.default.fileExists(atPath: model)
    else {
      throw HarnessError(
        "LONGCTX_LLAMA_SERVER and LONGCTX_MODEL must name the llama-server binary and a GGUF model; run `eval \"$(bash scripts/setup.sh --env)\"` before `swift test`"
      )
    }
    return (server, model)
  }

  /// A GGUF other than `$LONGCTX_MODEL`, e.g. the chat model.
  public var model: String?
  /// More llama-server arguments, e.g. `--slot-save-path DIR`.
  public var extraArguments: [String] = []

  public init(apiKey: String? = nil, slots: Int = 2, port: Int? = nil, model: String? = nil, logDirectory: URL) throws {
    self.model = model
    self.port = try port ?? Self.freePort()
    self.apiKey = apiKey
    self.slots = slots
    log = logDirectory.appendingPathComponent("llama-server-\(self.port).log")
  }

  /// A server started with these settings, answering on `/health`.
  ///
  /// - Parameters:
  ///   - extraArguments: More llama-server arguments, e.g. `--slot-save-path DIR`.
  /// - Returns: The running server; it is killed when released.
  /// - Throws: `HarnessError` when the binary or model is missing or the server does not start.
  public static func started(
    apiKey: String? = nil, slots: Int = 2, port: Int? = nil, model: String? = nil, extraArguments: [String] = [],
    logDirectory: URL
  ) async throws -> LlamaServer {
    let server = try LlamaServer(apiKey: apiKey, slots: slots, port: port, model: model, logDirectory: logDirectory)
    server.extraArguments = extraArguments
    try await server.start()
    return server
  }

  /// Starts the server and waits until `/health` answers 200.
  public func start() async throws {
    let (binary, defaultModel) = try Self.paths()
    let model = self.model ?? defaultModel
    let p = Process()
    p.executableURL = URL(fileURLWithPath: binary)
    var args = [
      "--host", "127.0.0.1", "--port", String(port), "-m", model, "-c", String(1024 * slots), "-np", String(slots),
      "-t", "1", "--no-webui",
    ]
    if let apiKey { args += ["--api-key", apiKey] }
    p.arguments = args + extraArguments
    _ = FileManager.default.createFile(atPath: log.path, contents: nil)
    let handle = try FileHandle(forWritingTo: log)
    p.standardOutput = handle
    p.standardError = handle
    try p.run()
    process = p
    // Generous: on 2 busy cores loading the model can take a while.
    let deadline = Date().addingTimeInterval(180)
    while Date() < deadline {
      if !p.isRunning { throw HarnessError("llama-server exited at start; see \(log.path)") }
      if let (_, response) = try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/health")!),
        (response as? HTTPURLResponse)?.statusCode == 200
      {
        return
      }
      try await Task.sleep(nanoseconds: 200_000_000)
    }
    throw HarnessError("llama-server did not become healthy within 180 s; see \(log.path)")
  }

  /// Kills the server at once (SIGKILL), as a crash would.
  public func kill() {
    guard let p = process, p.isRunning else { return }
    Glibc.kill(p.processIdentifier, SIGKILL)
    p.waitUntilExit()
  }

  deinit { kill() }

  /// A port nobody listens on: bind port 0 and read what the kernel chose.
  public static func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw HarnessError("socket() failed") }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = 0
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
    }
    guard bound else { throw HarnessError("cannot bind a loopback port") }
    return Int(UInt16(bigEndian: addr.sin_port))
  }
}

/// A test harness that cannot do what it was asked, and why.
public struct HarnessError: Error, CustomStringConvertible {
  public var description: String
  public init(_ description: String) { self.description = description }
}
