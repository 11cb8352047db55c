import CCurl
internal import CLazyLoad
import Foundation

/// One HTTP request as the engine sends it; transports turn it into bytes on a wire.
public struct HTTPRequest: Sendable, Hashable {
  /// `GET` or `POST`.
  public var method: String
  /// The full URL.
  public var url: URL
  /// Header fields; the `Authorization` header carries the API key and is never logged.
  public var headers: [String: String]
  /// The JSON body, if any.
  public var body: Data?
  /// Seconds before the request gives up.
  public var timeout: Double
  /// Sees the response body's bytes as they arrive (a streamed answer); the response
  /// still carries the whole body. Transports that get the body at once may skip it.
  public var observer: HTTPBodyObserver?

  /// Creates a request.
  public init(
    method: String, url: URL, headers: [String: String] = [:], body: Data? = nil, timeout: Double,
    observer: HTTPBodyObserver? = nil
  ) {
    self.method = method
    self.url = url
    self.headers = headers
    self.body = body
    self.timeout = timeout
    self.observer = observer
  }
}

/// Receives a response body piece by piece, on the transport's thread, as it arrives.
public final class HTTPBodyObserver: Sendable, Hashable {
  /// Called with each piece of the body, in order.
  public let receive: @Sendable (Data) -> Void

  /// Creates an observer calling `receive` with each piece.
  public init(_ receive: @escaping @Sendable (Data) -> Void) { self.receive = receive }

  public static func == (a: HTTPBodyObserver, b: HTTPBodyObserver) -> Bool { a === b }
  public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}

/// A server's answer.
public struct HTTPResponse: Sendable, Hashable {
  /// The HTTP status code.
  public var status: Int
  /// Header fields with lower-cased names.
  public var headers: [String: String]
  /// The body bytes.
  public var body: Data

  /// Creates a response; header names are lower-cased.
  public init(status: Int, headers: [String: String] = [:], body: Data = Data()) {
    self.status = status
    self.headers = Dictionary(headers.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { a, _ in a })
    self.body = body
  }
}

/// Sends one request; throws only when no HTTP answer arrived (refused, reset, timed out).
public typealias HTTPTransport = @Sendable (HTTPRequest) async throws -> HTTPResponse

/// Why a request got no HTTP answer: refused, reset, timed out, cancelled.
public struct TransportError: Error, LocalizedError, Sendable {
  /// libcurl's description of what happened, e.g. "Couldn't connect to server".
  public var message: String
  /// Whether the request ran out of time.
  public var timedOut: Bool
  /// Whether the caller cancelled it.
  public var cancelled: Bool

  public var errorDescription: String? { timedOut ? "timed out" : message }
}

/// The real transport: libcurl's easy interface, one blocking transfer per request on a
/// thread of its own.
///
/// URLSession on Linux drives libcurl through dispatch sources and, while it waits for a
/// slow answer (an LLM prefill), keeps half a core busy in epoll/eventfd wake-ups, which
/// on a 2-core machine is taken from the server it waits for. A blocking
/// `curl_easy_perform` sleeps in `poll` until bytes arrive.
public enum CurlTransport {
  /// A transport whose requests run on their own threads, off the Swift concurrency pool.
  public static func make() -> HTTPTransport {
    return { request in
      let flag = CancelFlag()
      return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<HTTPResponse, Error>) in
          let thread = Thread {
            continuation.resume(with: Result { try send(request, cancel: flag) })
          }
          thread.stackSize = 1 << 20
          thread.start()
        }
      } onCancel: {
        flag.cancel()
      }
    }
  }

  /// Sends `request` and blocks the calling thread until the answer arrives.
  ///
  /// - Throws: `TransportError` when no HTTP answer arrived.
  public static func send(_ request: HTTPRequest, cancel: CancelFlag? = nil) throws -> HTTPResponse {
    if let failure = globalInit {
      throw TransportError(message: "libcurl is not installed (\(failure))", timedOut: false, cancelled: false)
    }
    let handle = HandlePool.shared.take()
    defer { HandlePool.shared.give(handle) }
    let transfer = Transfer(cancel: cancel, observer: request.observer)
    let box = Unmanaged.passRetained(transfer)
    defer { box.release() }
    var headerList: UnsafeMutablePointer<curl_slist>?
    // "Expect:" stops curl from waiting for a 100-continue before large bodies.
    for line in request.headers.map({ "\($0.key): \($0.value)" }) + ["Expect:"] {
      headerList = curl_slist_append(headerList, line)
    }
    defer { curl_slist_free_all(headerList) }

    longctx_curl_set_pointer(handle, CURLOPT_URL, request.url.absoluteString)
    longctx_curl_set_long(handle, CURLOPT_NOSIGNAL, 1)
    longctx_curl_set_long(handle, CURLOPT_TIMEOUT_MS, Int(max(request.timeout, 0.001) * 1000))
    longctx_curl_set_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Int(min(max(request.timeout, 0.001), 30) * 1000))
    longctx_curl_set_long(handle, CURLOPT_TCP_KEEPALIVE, 1)
    longctx_curl_set_pointer(handle, CURLOPT_HTTPHEADER, headerList)
    longctx_curl_set_data_callback(
      handle, CURLOPT_WRITEFUNCTION,
      { bytes, size, count, user in
        let transfer = Unmanaged<Transfer>.fromOpaque(user!).takeUnretainedValue()
        let start = transfer.body.count
        transfer.body.append(UnsafeRawPointer(bytes!).assumingMemoryBound(to: UInt8.self), count: size * count)
        transfer.observer?.receive(transfer.body[start...])
        return size * count
      })
    longctx_curl_set_pointer(handle, CURLOPT_WRITEDATA, box.toOpaque())
    longctx_curl_set_data_callback(
      handle, CURLOPT_HEADERFUNCTION,
      { bytes, size, count, user in
        let transfer = Unmanaged<Transfer>.fromOpaque(user!).takeUnretainedValue()
        let buffer = UnsafeRawBufferPointer(start: bytes, count: size * count)
        transfer.header(String(decoding: buffer, as: UTF8.self))
        return size * count
      })
    longctx_curl_set_pointer(handle, CURLOPT_HEADERDATA, box.toOpaque())
    longctx_curl_set_long(handle, CURLOPT_NOPROGRESS, 0)
    longctx_curl_set_progress_callback(
      handle,
      { user, _, _, _, _ in
        Unmanaged<Transfer>.fromOpaque(user!).takeUnretainedValue().cancel?.isCancelled == true ? 1 : 0
      })
    longctx_curl_set_pointer(handle, CURLOPT_XFERINFODATA, box.toOpaque())
    var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)

    let body = request.body ?? Data()
    let code: CURLcode = body.withUnsafeBytes { bytes in
      errorBuffer.withUnsafeMutableBufferPointer { errors in
        longctx_curl_set_pointer(handle, CURLOPT_ERRORBUFFER, errors.baseAddress)
        switch request.method {
        case "GET":
          longctx_curl_set_long(handle, CURLOPT_HTTPGET, 1)
        default:
          longctx_curl_set_long(handle, CURLOPT_POST, 1)
          longctx_curl_set_offset(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(bytes.count))
          // A non-null pointer even for an empty body, or curl reads the body from stdin.
          longctx_curl_set_pointer(
            handle, CURLOPT_POSTFIELDS, bytes.baseAddress ?? UnsafeRawPointer(errors.baseAddress!))
          if request.method != "POST" { longctx_curl_set_pointer(handle, CURLOPT_CUSTOMREQUEST, request.method) }
        }
        let code = curl_easy_perform(handle)
        longctx_curl_set_pointer(handle, CURLOPT_ERRORBUFFER, nil)
        return code
      }
    }
    guard code == CURLE_OK else {
      let detail = errorBuffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
      let message = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
      throw TransportError(
        message: message, timedOut: code == CURLE_OPERATION_TIMEDOUT,
        cancelled: code == CURLE_ABORTED_BY_CALLBACK)
    }
    var status = 0
    longctx_curl_response_code(handle, &status)
    return HTTPResponse(status: status, headers: transfer.headers, body: transfer.body)
  }

  /// Set by a cancelled task; the transfer stops at libcurl's next progress call.
  public final class CancelFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var cancelled = false

    /// Creates an unset flag.
    public init() {}

    /// Whether `cancel()` was called.
    public var isCancelled: Bool { lock.withLock { cancelled } }

    /// Asks the transfer to stop.
    public func cancel() { lock.withLock { cancelled = true } }
  }

  /// What one transfer has received so far; touched only by the thread running it.
  private final class Transfer {
    let cancel: CancelFlag?
    let observer: HTTPBodyObserver?
    var body = Data()
    var headers: [String: String] = [:]

    init(cancel: CancelFlag?, observer: HTTPBodyObserver?) {
      self.cancel = cancel
      self.observer = observer
    }

    func header(_ line: String) {
      if line.hasPrefix("HTTP/") {
        headers = [:]  // a new response (after 100 Continue or a redirect)
        return
      }
      guard let colon = line.firstIndex(of: ":") else { return }
      let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
      headers[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
    }
  }

  /// libcurl loaded on first use (`CLazyLoad`, issue 32) and initialised once: nil, or why it cannot be loaded.
  private static let globalInit: String? = {
    var error: UnsafePointer<CChar>?
    guard longctx_lazy_load_curl(&error) == 1 else { return error.map { String(cString: $0) } ?? "not found" }
    _ = longctx_curl_global_init()
    return nil
  }()

  /// Easy handles kept between requests, so that their connections are reused.
  private final class HandlePool: @unchecked Sendable {
    static let shared = HandlePool()
    private let lock = NSLock()
    private var idle: [UnsafeMutableRawPointer] = []

    func take() -> UnsafeMutableRawPointer {
      if let handle = lock.withLock({ idle.popLast() }) {
        curl_easy_reset(handle)
        return handle
      }
      return curl_easy_init()
    }

    func give(_ handle: UnsafeMutableRawPointer) {
      lock.withLock {
        if idle.count < 64 { idle.append(handle) } else { curl_easy_cleanup(handle) }
      }
    }
  }
}
