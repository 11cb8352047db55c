import Foundation
import Workspace

/// A fresh temporary directory per test, removed by the caller with `remove()`.
public struct TemporaryDirectory: Sendable {
  public let url: URL

  public init() throws {
    url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("longctx-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  }

  public func remove() { try? FileManager.default.removeItem(at: url) }

  /// Writes `text` to `name` inside the directory and returns its URL.
  @discardableResult
  public func write(_ name: String, _ text: String) throws -> URL {
    let file = url.appendingPathComponent(name)
    try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
    try Data(text.utf8).write(to: file)
    return file
  }
}

/// The repository's root (for Samples/), found from this file's path.
public enum RepositoryPaths {
  public static var root: URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
  }
  public static var samples: URL { root.appendingPathComponent("Samples") }
}
