import Foundation
import Testing
import _LongctxTestSupport

#if canImport(Glibc)
  import Glibc
#endif
#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// The real `llama-server` on a free loopback port, for end-to-end tests.
final class LlamaServer: @unchecked Sendable {
  let port: Int
  let apiKey: String?
  let slots: Int
  private var process: Process?
  private let log: URL

  var baseURL: String { "http://127.0.0.1:\(port)/v1" }

  /// The binary and model from scripts/setup.sh; a missing one fails the test with the fix.
  static func paths() throws -> (server: String, model: String) {
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
  var model: String?
  /// More llama-server arguments, e.g. `--slot-save-path DIR`.
  var extraArguments: [String] = []

  init(apiKey: String? = nil, slots: Int = 2, port: Int? = nil, model: String? = nil, logDirectory: URL) throws {
    self.model = model
    self.port = try port ?? Self.freePort()
    self.apiKey = apiKey
    self.slots = slots
    log = logDirectory.appendingPathComponent("llama-server-\(self.port).log")
  }

  /// Starts the server and waits until `/health` answers 200.
  func start() async throws {
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
  func kill() {
    guard let p = process, p.isRunning else { return }
    Glibc.kill(p.processIdentifier, SIGKILL)
    p.waitUntilExit()
  }

  deinit { kill() }

  /// A port nobody listens on: bind port 0 and read what the kernel chose.
  static func freePort() throws -> Int {
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

struct HarnessError: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}

/// The built `longctx` next to the test bundle, run as a child process.
enum CLI {
  static var binary: URL {
    get throws {
      let candidates = [
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("longctx"),
        RepositoryPaths.root.appendingPathComponent(".build/debug/longctx"),
      ]
      guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
        throw HarnessError("the longctx binary was not found next to the tests; run `swift build --build-tests` first")
      }
      return found
    }
  }

  struct Output {
    var code: Int32
    var stdout: String
    var stderr: String
  }

  /// Starts `longctx args…`; `onStderr` sees stderr as it arrives.
  static func start(_ args: [String], env: [String: String] = [:], onStderr: (@Sendable (String) -> Void)? = nil)
    throws -> (Process, @Sendable () -> Output)
  {
    let p = Process()
    p.executableURL = try binary
    p.arguments = args
    p.environment = ProcessInfo.processInfo.environment.merging(env) { _, new in new }
    let out = Pipe()
    let err = Pipe()
    p.standardOutput = out
    p.standardError = err
    let errBuffer = Buffer()
    let outBuffer = Buffer()
    err.fileHandleForReading.readabilityHandler = { h in
      let d = h.availableData
      errBuffer.append(d)
      if let onStderr, !d.isEmpty { onStderr(String(decoding: d, as: UTF8.self)) }
    }
    out.fileHandleForReading.readabilityHandler = { h in outBuffer.append(h.availableData) }
    try p.run()
    return (
      p,
      {
        p.waitUntilExit()
        err.fileHandleForReading.readabilityHandler = nil
        out.fileHandleForReading.readabilityHandler = nil
        outBuffer.append(out.fileHandleForReading.readDataToEndOfFile())
        errBuffer.append(err.fileHandleForReading.readDataToEndOfFile())
        return Output(code: p.terminationStatus, stdout: outBuffer.text, stderr: errBuffer.text)
      }
    )
  }

  static func run(_ args: [String], env: [String: String] = [:]) async throws -> Output {
    let (_, wait) = try start(args, env: env)
    return await Task.detached { wait() }.value
  }

  final class Buffer: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func append(_ d: Data) { lock.withLock { data.append(d) } }
    var text: String { lock.withLock { String(decoding: data, as: UTF8.self) } }
  }
}
