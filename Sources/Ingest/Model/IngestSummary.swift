import Foundation

/// What one ingest run did.
public struct IngestSummary: Codable, Sendable {
  public var seen = 0
  public var new = 0
  public var changed = 0
  public var unchanged = 0
  public var failed = 0
  public var skipped = 0
  public var gone = 0
  public var pages = 0
  public var bytes = 0
  public var seconds = 0.0
  /// How many files were run through an extractor (not unchanged, not duplicates).
  public var extracted = 0
  /// Unchanged files extracted again because their document was made by an
  /// older extractor version (also counted as unchanged, and in `extracted`).
  public var reextracted = 0
  /// Files skipped as known files (NSRL, `denist`); also counted in `skipped`.
  public var knownFiles = 0
  /// The usable files, in source order: display path and document hash.
  public var files: [IngestedFile] = []
  /// Failures and skips of this run, one line each.
  public var exceptions: [IngestException] = []
}

/// A file that has a document in the workspace.
public struct IngestedFile: Codable, Sendable, Hashable {
  public var displayPath: String
  public var documentHash: String

  public init(displayPath: String, documentHash: String) {
    self.displayPath = displayPath
    self.documentHash = documentHash
  }
}

/// A file that failed, was skipped, or extracted with a warning.
public struct IngestException: Codable, Sendable, Hashable {
  public var path: String
  public var severity: Severity
  public var reason: String

  public init(path: String, severity: Severity, reason: String) {
    self.path = path
    self.severity = severity
    self.reason = reason
  }

  /// How bad it is; stored and printed as its raw value.
  public enum Severity: String, Codable, Sendable, Hashable {
    /// Its extractor failed: no document.
    case failed
    /// Not extracted on purpose (binary, vendored, too large, …).
    case skipped
    /// Extracted, with something a reviewer should know.
    case warning
  }
}
