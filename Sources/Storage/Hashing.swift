import Crypto
import Foundation

/// SHA-256 helpers used for content addressing throughout the workspace.
package enum Hashing {
  /// Lowercase hex of `bytes` (a digest, usually).
  package static func hex(_ bytes: some Sequence<UInt8>) -> String {
    var out: [UInt8] = []
    out.reserveCapacity(bytes.underestimatedCount * 2)
    for b in bytes {
      out.append(hexDigits[Int(b >> 4)])
      out.append(hexDigits[Int(b & 15)])
    }
    return String(decoding: out, as: UTF8.self)
  }

  private static let hexDigits = Array("0123456789abcdef".utf8)

  /// The lowercase hex SHA-256 of `data`.
  package static func sha256(_ data: Data) -> String {
    hex(SHA256.hash(data: data))
  }

  /// The lowercase hex MD5 of `data` (load files' MD5HASH; not for security).
  package static func md5(_ data: Data) -> String { hex(Insecure.MD5.hash(data: data)) }

  /// The lowercase hex SHA-1 of `data` (load files' SHA1HASH, NSRL's hash lists; not for security).
  package static func sha1(_ data: Data) -> String { hex(Insecure.SHA1.hash(data: data)) }

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
    return Hashing.hex(hasher.finalize())
  }

  /// The SHA-256 of a file's bytes, read in 1 MiB pieces.
  package static func sha256(fileAt url: URL) throws -> String {
    let handle = try FileHandle(forReadingFrom: url)
    defer { try? handle.close() }
    var hasher = SHA256()
    while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
      hasher.update(data: chunk)
    }
    return Hashing.hex(hasher.finalize())
  }

  /// The SHA-256 of the first `n` tokens of `tokens`, for every `n` in `lengths`,
  /// in one pass. Tokens are hashed as little-endian 32-bit integers.
  ///
  /// - Parameters:
  ///   - tokens: Token ids.
  ///   - lengths: Prefix lengths; those beyond `tokens.count` are ignored.
  /// - Returns: Lowercase hex SHA-256 per prefix length.
  package static func sha256(tokenPrefixesOf tokens: [Int32], lengths: Set<Int>) -> [Int: String] {
    var hasher = SHA256()
    var result: [Int: String] = [:]
    var done = 0
    for length in lengths.sorted() where length >= 0 && length <= tokens.count {
      tokens[done..<length].withUnsafeBytes { hasher.update(bufferPointer: $0) }
      done = length
      // SHA256 is a value type: finalizing a copy leaves `hasher` running.
      let copy = hasher
      result[length] = Hashing.hex(copy.finalize())
    }
    return result
  }

  /// The SHA-256 of `tokens` as little-endian 32-bit integers.
  package static func sha256(tokens: [Int32]) -> String {
    sha256(tokenPrefixesOf: tokens, lengths: [tokens.count])[tokens.count] ?? ""
  }
}
