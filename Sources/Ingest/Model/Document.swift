import Foundation

/// The kinds of input longctx understands.
public enum DocumentKind: String, Codable, Sendable, CaseIterable {
  case pdf, log, code, email, text
}

/// A piece of a document's text with its locator back to the source.
public struct Section: Codable, Hashable, Sendable {
  /// Where the text came from.
  public var locator: Locator
  /// The extracted text.
  public var text: String
  /// Log severity (e.g. "ERROR") where one was recognised.
  public var severity: String?

  public init(locator: Locator, text: String, severity: String? = nil) {
    self.locator = locator
    self.text = text
    self.severity = severity
  }
}

/// What an extractor makes of one file.
public struct ExtractedDocument: Codable, Sendable {
  public var kind: DocumentKind
  public var title: String?
  public var metadata: [String: String]
  public var sections: [Section]
  public var pageCount: Int?
  /// Problems worth reporting that did not stop extraction.
  public var warnings: [String]
  /// The extractor's name and version, part of the document's identity.
  public var extractor: String

  public init(
    kind: DocumentKind, title: String? = nil, metadata: [String: String] = [:],
    sections: [Section], pageCount: Int? = nil, warnings: [String] = [], extractor: String
  ) {
    self.kind = kind
    self.title = title
    self.metadata = metadata
    self.sections = sections
    self.pageCount = pageCount
    self.warnings = warnings
    self.extractor = extractor
  }
}
