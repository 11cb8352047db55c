/// Where a piece of text came from: a file and a page, a line range or a message.
///
/// Its `description` is the citation form used in reports:
/// `contract.pdf#page=3`, `app.log#L120-L188`, `inbox.mbox#msg=<id>`.
public struct Locator: Codable, Hashable, Sendable, CustomStringConvertible {
  /// The file's path as cited (relative to the job or the ingest root).
  public var path: String
  /// 1-based PDF page.
  public var page: Int?
  /// 1-based first line, inclusive.
  public var lineStart: Int?
  /// 1-based last line, inclusive.
  public var lineEnd: Int?
  /// Email Message-ID or message ordinal within a mailbox.
  public var message: String?

  public init(path: String, page: Int? = nil, lineStart: Int? = nil, lineEnd: Int? = nil, message: String? = nil) {
    self.path = path
    self.page = page
    self.lineStart = lineStart
    self.lineEnd = lineEnd
    self.message = message
  }

  public var description: String {
    if let page { return "\(path)#page=\(page)" }
    if let message { return "\(path)#msg=\(message)" }
    if let lineStart, let lineEnd {
      return lineStart == lineEnd ? "\(path)#L\(lineStart)" : "\(path)#L\(lineStart)-L\(lineEnd)"
    }
    return path
  }

  /// Parses the citation form back into a locator.
  ///
  /// - Returns: `nil` when `text` is not a citation.
  public init?(citation text: Substring) {
    guard let hash = text.lastIndex(of: "#") else { return nil }
    let path = String(text[..<hash])
    let frag = text[text.index(after: hash)...]
    guard !path.isEmpty else { return nil }
    if frag.hasPrefix("page="), let page = Int(frag.dropFirst(5)) {
      self.init(path: path, page: page)
    } else if frag.hasPrefix("msg=") {
      self.init(path: path, message: String(frag.dropFirst(4)))
    } else if frag.hasPrefix("L") {
      let parts = frag.split(separator: "-")
      guard let start = Int(parts[0].dropFirst()) else { return nil }
      var end = start
      if parts.count == 2 {
        guard parts[1].hasPrefix("L"), let e = Int(parts[1].dropFirst()) else { return nil }
        end = e
      } else if parts.count > 2 {
        return nil
      }
      self.init(path: path, lineStart: start, lineEnd: end)
    } else {
      return nil
    }
  }

  /// The smallest locator covering `self` and `other` in the same file and unit.
  public func merged(with other: Locator) -> Locator? {
    guard path == other.path, page == nil, other.page == nil, message == nil, other.message == nil,
      let a = lineStart, let b = lineEnd, let c = other.lineStart, let d = other.lineEnd
    else { return nil }
    return Locator(path: path, lineStart: min(a, c), lineEnd: max(b, d))
  }
}
