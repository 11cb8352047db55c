import Crypto
import Foundation

extension Hashing {
  /// The SHA-256 of numbered lines up to each of `numbers`, in one pass.
  ///
  /// Each entry is hashed as its number and its length-prefixed text, so a
  /// prefix hash changes when any line up to it changes, moves or disappears.
  ///
  /// - Parameters:
  ///   - entries: (line number, text) in increasing line order.
  ///   - numbers: Line numbers to snapshot at; the hash covers every entry numbered up to it.
  /// - Returns: Lowercase hex SHA-256 per line number in `numbers` that an entry ends at.
  package static func sha256(linePrefixesOf entries: [(Int, Substring)], at numbers: Set<Int>) -> [Int: String] {
    var hasher = SHA256()
    var result: [Int: String] = [:]
    for (number, text) in entries {
      withUnsafeBytes(of: UInt64(number).littleEndian) { hasher.update(bufferPointer: $0) }
      let bytes = Data(text.utf8)
      withUnsafeBytes(of: UInt64(bytes.count).littleEndian) { hasher.update(bufferPointer: $0) }
      hasher.update(data: bytes)
      if numbers.contains(number) {
        let copy = hasher
        result[number] = Hashing.hex(copy.finalize())
      }
    }
    return result
  }
}
