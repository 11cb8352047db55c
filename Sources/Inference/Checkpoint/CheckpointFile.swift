import Foundation
import Storage

/// The on-disk format of one KV checkpoint: a header, then one zstd frame
/// (with a content checksum) holding the engine's raw sequence state.
///
/// Header, little-endian:
///
///     magic "LCKV" | version u16 | reserved u16 | header length u32
///     identity length u32 | identity UTF-8
///     token count u32 | tokens i32 × count
///     raw size u64 | raw SHA-256 (32 bytes)
///     header SHA-256 (32 bytes, of every header byte before it)
///
/// The header's own hash catches a flipped byte in the key, sizes or hashes;
/// the zstd checksum and the raw SHA-256 catch one in the payload.
///
/// Version 2 (`KVCodec`) keeps this header; the payload is frames instead of
/// one zstd frame, and the raw SHA-256 is that of the frames' SHA-256s.
///
/// Version 3 (prefix-delta checkpoints and their chunks) keeps it too; see
/// `CheckpointManifest`.
struct CheckpointHeader: Sendable, Equatable {
  static let magic: [UInt8] = Array("LCKV".utf8)
  /// The version new checkpoints are written in.
  static let version: UInt16 = 2
  /// The versions that can be read.
  static let readable: ClosedRange<UInt16> = 1...3
  /// Bytes before the variable part: magic, version, reserved, header length.
  static let fixedPrefix = 12
  /// Headers larger than this are corrupt (16M tokens would be 64 MiB).
  static let maxLength = 64 << 20

  var version: UInt16 = Self.version
  var identity: String
  var tokens: [Int32]
  var rawSize: Int
  var rawSHA256: Data

  /// Serializes the header, its trailing hash included.
  func encoded() -> Data {
    var body = Data()
    body.append(contentsOf: Self.magic)
    body.appendLE(version)
    body.appendLE(UInt16(0))
    body.appendLE(UInt32(0))  // header length, patched below
    let id = Data(identity.utf8)
    body.appendLE(UInt32(id.count))
    body.append(id)
    body.appendLE(UInt32(tokens.count))
    body.reserveCapacity(body.count + tokens.count * 4 + 72)
    for token in tokens { body.appendLE(UInt32(bitPattern: token)) }
    body.appendLE(UInt64(rawSize))
    body.append(rawSHA256)
    let length = UInt32(body.count + 32)
    for i in 0..<4 { body[8 + i] = UInt8(truncatingIfNeeded: length >> (8 * UInt32(i))) }
    body.append(Data(hexString: Hashing.sha256(body)))
    return body
  }

  /// The header length stored in the first bytes of a file.
  static func length(fromPrefix prefix: Data) throws(CheckpointCorruption) -> Int {
    guard prefix.count >= fixedPrefix else { throw .truncated }
    guard Array(prefix.prefix(4)) == magic else { throw .badMagic }
    let version: UInt16 = prefix.readLE(at: 4)
    guard readable.contains(version) else { throw .unsupportedVersion(Int(version)) }
    let length = Int(prefix.readLE(at: 8) as UInt32)
    guard length > fixedPrefix + 32, length <= maxLength else { throw .headerChecksum }
    return length
  }

  /// Parses and verifies a whole header.
  static func decode(_ bytes: Data) throws(CheckpointCorruption) -> CheckpointHeader {
    let bytes = Data(bytes)  // rebase indices to 0
    let length = try length(fromPrefix: bytes)
    guard bytes.count >= length else { throw .truncated }
    let body = bytes.prefix(length - 32)
    guard Data(hexString: Hashing.sha256(body)) == bytes[(length - 32)..<length] else { throw .headerChecksum }
    var at = fixedPrefix
    // The header hash matched, so the lengths inside are the ones written;
    // the bounds checks only guard against a bug in the writer.
    func take(_ n: Int) throws(CheckpointCorruption) -> Data {
      guard n >= 0, at + n <= body.count else { throw .headerChecksum }
      defer { at += n }
      return body[at..<(at + n)]
    }
    let idLength = Int(try take(4).readLE(at: 0) as UInt32)
    let identity = String(decoding: try take(idLength), as: UTF8.self)
    let count = Int(try take(4).readLE(at: 0) as UInt32)
    let tokenBytes = try take(count * 4)
    let tokens = (0..<count).map { Int32(bitPattern: tokenBytes.readLE(at: $0 * 4) as UInt32) }
    let rawSize = Int(try take(8).readLE(at: 0) as UInt64)
    let rawHash = Data(try take(32))
    let version: UInt16 = bytes.readLE(at: 4)
    return CheckpointHeader(
      version: version, identity: identity, tokens: tokens, rawSize: rawSize, rawSHA256: rawHash)
  }
}

/// Why a checkpoint file was rejected.
public enum CheckpointCorruption: Error, Sendable, Equatable, CustomStringConvertible {
  case badMagic
  case unsupportedVersion(Int)
  case headerChecksum
  case truncated
  case keyMismatch
  case payload(String)
  case stateChecksum

  public var description: String {
    switch self {
    case .badMagic: "not a longctx KV checkpoint (bad magic)"
    case .unsupportedVersion(let v): "unsupported checkpoint version \(v)"
    case .headerChecksum: "header checksum mismatch"
    case .truncated: "file is truncated"
    case .keyMismatch: "header does not match the file name"
    case .payload(let message): "compressed state is damaged (\(message))"
    case .stateChecksum: "state SHA-256 mismatch"
    }
  }
}

extension Data {
  fileprivate mutating func appendLE<T: FixedWidthInteger & UnsignedInteger>(_ value: T) {
    for i in 0..<(T.bitWidth / 8) { append(UInt8(truncatingIfNeeded: value >> (8 * i))) }
  }

  fileprivate func readLE<T: FixedWidthInteger & UnsignedInteger>(at offset: Int) -> T {
    var value: T = 0
    for i in 0..<(T.bitWidth / 8) { value |= T(self[startIndex + offset + i]) << (8 * i) }
    return value
  }

}
