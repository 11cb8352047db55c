import Foundation
import Testing

@testable import HTTPBackend

/// The libcurl transport against a loopback socket this test controls: a real answer with
/// its headers and body, a refused connection, a server that never answers (timeout), a
/// cancelled task, and no CPU spent while waiting.
@Suite struct CurlTransportTests {
  /// A one-connection-at-a-time TCP server on 127.0.0.1 (or `address`); `answer` gets the request bytes.
  ///
  /// Only the accept thread closes the listening socket: closing it in `deinit` let its
  /// number be reused by another test's listener while this thread, started late on a
  /// busy machine, was about to accept on it, and steal that test's connection.
  final class LoopbackServer: @unchecked Sendable {
    let port: UInt16
    private let socket: Int32

    init(address host: String = "127.0.0.1", answer: @escaping @Sendable (String) -> String?) throws {
      let listener = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
      var address = sockaddr_in()
      address.sin_family = sa_family_t(AF_INET)
      address.sin_addr.s_addr = inet_addr(host)
      address.sin_port = 0
      var length = socklen_t(MemoryLayout<sockaddr_in>.size)
      let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
          bind(listener, pointer, length) == 0 && listen(listener, 8) == 0
            && getsockname(listener, pointer, &length) == 0
        }
      }
      guard bound else {
        close(listener)
        throw POSIXError(.EADDRINUSE)
      }
      socket = listener
      port = UInt16(bigEndian: address.sin_port)
      Thread.detachNewThread {
        while true {
          let client = accept(listener, nil, nil)
          if client < 0 {
            close(listener)
            return
          }
          var buffer = [UInt8](repeating: 0, count: 65536)
          var request = ""
          while !request.contains("\r\n\r\n") || !Self.bodyComplete(request) {
            let n = recv(client, &buffer, buffer.count, 0)
            if n <= 0 { break }
            request += String(decoding: buffer[..<n], as: UTF8.self)
          }
          if let reply = answer(request) {
            _ = reply.withCString { send(client, $0, strlen($0), 0) }
            close(client)
          }  // else: hold the connection open, never answering
        }
      }
    }

    static func bodyComplete(_ request: String) -> Bool {
      guard let split = request.range(of: "\r\n\r\n") else { return false }
      let head = request[..<split.lowerBound].lowercased()
      guard let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
        let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces))
      else { return true }
      return request.utf8.count - request[..<split.upperBound].utf8.count >= length
    }

    deinit { shutdown(socket, Int32(SHUT_RDWR)) }  // wakes the accept thread, which closes it
  }

  @Test func postsTheBodyAndReadsStatusHeadersAndBody() async throws {
    let server = try LoopbackServer { request in
      let body = request.components(separatedBy: "\r\n\r\n").last ?? ""
      let echoed = "{\"got\":\(body)}"
      return "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\nContent-Type: application/json\r\n"
        + "Content-Length: \(echoed.utf8.count)\r\nConnection: close\r\n\r\n\(echoed)"
    }
    let request = HTTPRequest(
      method: "POST", url: URL(string: "http://127.0.0.1:\(server.port)/v1/completions")!,
      headers: ["Content-Type": "application/json"], body: Data("{\"n\":1}".utf8), timeout: 120)
    let response = try await CurlTransport.make()(request)
    #expect(response.status == 429)
    #expect(response.headers["retry-after"] == "7")
    #expect(String(decoding: response.body, as: UTF8.self) == "{\"got\":{\"n\":1}}")
  }

  @Test func aRefusedConnectionIsATransportError() throws {
    let port: UInt16
    do { port = try LoopbackServer { _ in nil }.port }  // bound, then closed again
    let request = HTTPRequest(method: "GET", url: URL(string: "http://127.0.0.1:\(port)/health")!, timeout: 5)
    let error = #expect(throws: TransportError.self) { try CurlTransport.send(request) }
    #expect(error?.timedOut == false && error?.cancelled == false)
    #expect(error?.message.isEmpty == false)
  }

  @Test func aServerThatNeverAnswersTimesOutWithoutSpinning() throws {
    let server = try LoopbackServer { _ in nil }
    let request = HTTPRequest(method: "GET", url: URL(string: "http://127.0.0.1:\(server.port)/slow")!, timeout: 1.5)
    let before = Self.cpuSeconds()
    let start = Date()
    let error = #expect(throws: TransportError.self) { try CurlTransport.send(request) }
    #expect(error?.timedOut == true)
    #expect(error.map(OpenAIEngine.describe) == "timed out")
    let waited = Date().timeIntervalSince(start)
    #expect(waited >= 1.4 && waited < 60)
    // Waiting is sleeping: this thread (the transfer runs on it) spent well under a tenth
    // of the wait on the CPU; URLSession's wait cost about half a core.
    #expect(Self.cpuSeconds() - before < 0.15)
  }

  @Test func cancellingTheTaskStopsTheRequest() async throws {
    let server = try LoopbackServer { _ in nil }
    let request = HTTPRequest(method: "GET", url: URL(string: "http://127.0.0.1:\(server.port)/slow")!, timeout: 300)
    let transport = CurlTransport.make()
    let task = Task { try await transport(request) }
    try await Task.sleep(nanoseconds: 300_000_000)
    let start = Date()
    task.cancel()
    let result = await task.result
    // Well before the request's own 300 s limit (seconds, even on a machine busy with the
    // other suites: libcurl calls the progress callback about once a second).
    #expect(Date().timeIntervalSince(start) < 60)
    #expect(throws: TransportError.self) { try result.get() }
    if case .failure(let error as TransportError) = result { #expect(error.cancelled) }
  }

  /// User + system CPU seconds of the calling thread.
  static func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(1), &usage)  // RUSAGE_THREAD
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
      + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
  }
}
