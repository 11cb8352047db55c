import Foundation

/// What Office's readers need of a compound file (`CompoundFile`, the reader
/// the Outlook extractor uses): encrypted OOXML packages (`EncryptionInfo`,
/// `EncryptedPackage`) and embedded OLE objects (`\u{1}Ole10Native`).
extension CompoundFile {
  /// Reads `data` as a compound file.
  ///
  /// - Throws: `OfficeError.notAPackage` when it is not a readable compound file.
  init(data: Data) throws {
    do {
      try self.init(bytes: [UInt8](data))
    } catch {
      throw OfficeError.notAPackage("it is not a readable OLE2 compound file (\(error.reason))")
    }
  }

  /// The bytes of the first stream named `name` anywhere in the file, or `nil` when there is none.
  func stream(_ name: String) -> Data? {
    guard let index = entries.firstIndex(where: { $0.kind == .stream && $0.name == name }),
      let bytes = try? stream(index)
    else { return nil }
    return Data(bytes)
  }

  /// The little-endian 16-bit value at `offset` of `data`, or `nil` past its end.
  static func u16(_ data: Data, _ offset: Int) -> UInt16? {
    guard offset >= 0, offset + 2 <= data.count else { return nil }
    let base = data.startIndex + offset
    return UInt16(data[base]) | UInt16(data[base + 1]) << 8
  }

  /// The little-endian 32-bit value at `offset` of `data`, or `nil` past its end.
  static func u32(_ data: Data, _ offset: Int) -> UInt32? {
    guard let low = u16(data, offset), let high = u16(data, offset + 2) else { return nil }
    return UInt32(low) | UInt32(high) << 16
  }
}
