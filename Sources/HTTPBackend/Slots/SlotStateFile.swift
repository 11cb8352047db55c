import Foundation

/// The file llama.cpp's server writes for `POST /slots/{id}?action=save`
/// (`llama_state_seq_save_file`).
///
/// Layout, little-endian: magic `ggsq` (u32 0x67677371), version u32, a count u32,
/// that many i32 "packed tokens", then the sequence's KV state. The packed tokens are
/// the server's serialized prompt: `[-1, format version, n, n tokens, media count, ...]`,
/// or a plain token list from older servers.
enum SlotStateFile {
  static let magic: UInt32 = 0x6767_7371

  /// The prompt tokens recorded in a slot file, or nil when the bytes are not one.
  static func tokens(in data: Data) -> [Int32]? {
    let bytes = [UInt8](data.prefix(12))
    guard bytes.count == 12, u32(bytes, 0) == magic else { return nil }
    let count = Int(u32(bytes, 8))
    guard count >= 0, data.count >= 12 + 4 * count else { return nil }
    let packed = [UInt8](data.dropFirst(12).prefix(4 * count))
    let values = (0..<count).map { Int32(bitPattern: u32(packed, 4 * $0)) }
    guard let first = values.first, first == -1 else { return values }
    // Versioned form: marker, version, token count, tokens, media keys...
    guard values.count >= 3 else { return nil }
    let n = Int(values[2])
    guard n >= 0, values.count >= 3 + n else { return nil }
    return Array(values[3..<(3 + n)])
  }

  private static func u32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
    (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[at + $1]) << (8 * UInt32($1)) }
  }
}
