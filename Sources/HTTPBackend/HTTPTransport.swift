import Foundation

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

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

  /// Creates a request.
  public init(method: String, url: URL, headers: [String: String] = [:], body: Data? = nil, timeout: Double) {
    self.method = method
    self.url = url
    self.headers = headers
    self.body = body
    self.timeout = timeout
  }
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

/// The real transport: URLSession (FoundationNetworking on Linux).
public enum URLSessionTransport {
  /// A transport over one shared ephemeral session.
  ///
  /// - Parameter timeout: The longest a request may wait for its answer. On Linux the
  ///   session's `timeoutIntervalForRequest` (60 s by default) caps each request's own
  ///   `timeoutInterval`: without this, a long prefill timed out at 60 s and was retried.
  public static func make(timeout: Double = 600) -> HTTPTransport {
    let config = URLSessionConfiguration.ephemeral
    config.httpMaximumConnectionsPerHost = 64
    config.timeoutIntervalForRequest = max(timeout, 1)
    config.timeoutIntervalForResource = max(timeout, 1) + 60
    let session = URLSession(configuration: config)
    return { request in
      let (data, response) = try await session.data(for: urlRequest(request))
      return makeResponse(data, response)
    }
  }

  /// Sends `request` and blocks the calling thread until the answer arrives.
  ///
  /// Used where the caller is synchronous (token counting); the wait happens on
  /// URLSession's own queue, never on the Swift concurrency pool.
  static func blockingSend(_ request: HTTPRequest) throws -> HTTPResponse {
    let box = ResultBox()
    let semaphore = DispatchSemaphore(value: 0)
    let task = sharedBlockingSession.dataTask(with: urlRequest(request)) { data, response, error in
      if let error {
        box.result = .failure(error)
      } else if let response {
        box.result = .success(makeResponse(data ?? Data(), response))
      }
      semaphore.signal()
    }
    task.resume()
    semaphore.wait()
    guard let result = box.result else { throw URLError(.badServerResponse) }
    return try result.get()
  }

  private static let sharedBlockingSession: URLSession = {
    let config = URLSessionConfiguration.ephemeral
    config.httpMaximumConnectionsPerHost = 16
    return URLSession(configuration: config)
  }()

  private final class ResultBox: @unchecked Sendable {
    var result: Result<HTTPResponse, Error>?
  }

  static func urlRequest(_ request: HTTPRequest) -> URLRequest {
    var http = URLRequest(url: request.url, timeoutInterval: request.timeout)
    http.httpMethod = request.method
    for (name, value) in request.headers { http.setValue(value, forHTTPHeaderField: name) }
    http.httpBody = request.body
    return http
  }

  static func makeResponse(_ data: Data, _ response: URLResponse) -> HTTPResponse {
    guard let http = response as? HTTPURLResponse else { return HTTPResponse(status: 0, body: data) }
    var headers: [String: String] = [:]
    for (name, value) in http.allHeaderFields {
      if let name = name as? String, let value = value as? String { headers[name] = value }
    }
    return HTTPResponse(status: http.statusCode, headers: headers, body: data)
  }
}
