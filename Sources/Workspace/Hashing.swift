import Crypto
import Foundation

/// SHA-256 helpers used for content addressing throughout the workspace.
package enum Hashing {
  /// The lowercase hex SHA-256 of `data`.
  package static func sha256(_ data: Data) -> String {
    SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
  }

  /// The lowercase hex SHA-256 of the UTF-8 bytes of `text`.
  package static func sha256(_ text: String) -> String { sha256(Data(text.utf8)) }

  /// The SHA-256 of a sequence of parts, each length-prefixed so that
  /// ("ab", "c") and ("a", "bc") differ.
  package static func sha256(parts: [String]) -> String {
    var hasher = SHA256()
    for part in parts {
      let bytes = Data(part.utf8)
      withUnsafeBytes(of: UInt64(bytes.count).littleEndian) { hasher.update(bufferPointer: $0) }
      hasher.update(data: bytes)
    }
    return hasher.finalize().map { String(format: "%02x", $0) }.joined()
  }

  /// The SHA-256 of a file's bytes, read in 1 MiB pieces.
  package static func sha256(fileAt url: URL) throws -> String {
    let handle = try FileHandle(forReadingFrom: url)
    defer { try? handle.close() }
    var hasher = SHA256()
    while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
      hasher.update(data: chunk)
    }
    return hasher.finalize().map { String(format: "%02x", $0) }.joined()
  }
}
