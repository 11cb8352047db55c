import Foundation

/// The streams of an OLE2 compound file (MS-CFB), read by name from the root storage.
///
/// Just enough to open an encrypted OOXML package: the `EncryptionInfo` and
/// `EncryptedPackage` streams. Sector chains are followed with a step bound,
/// so a cyclic or damaged table ends the read instead of looping.
struct CompoundFile {
  static let signature: [UInt8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]

  private let data: Data
  private let sectorSize: Int
  private let miniSectorSize: Int
  private let miniCutoff: Int
  private var fat: [UInt32] = []
  private var miniFat: [UInt32] = []
  private var miniStream = Data()
  /// Stream name → (start sector, size), for the root storage's children.
  private(set) var streams: [String: (start: UInt32, size: Int)] = [:]

  /// Reads the header, allocation tables and directory of the compound file in `data`.
  ///
  /// - Throws: `OfficeError.notAPackage` when it is not a readable compound file.
  init(data: Data) throws {
    self.data = data
    guard data.count >= 512, Array(data.prefix(8)) == Self.signature else {
      throw OfficeError.notAPackage("it is not an OLE2 compound file")
    }
    let shift = Int(Self.u16(data, 0x1E) ?? 9)
    let miniShift = Int(Self.u16(data, 0x20) ?? 6)
    guard (7...16).contains(shift), (2...shift).contains(miniShift) else {
      throw OfficeError.notAPackage("its compound-file header is damaged")
    }
    sectorSize = 1 << shift
    miniSectorSize = 1 << miniShift
    miniCutoff = Int(Self.u32(data, 0x38) ?? 4096)
    // The DIFAT: 109 sector numbers in the header, then chained DIFAT sectors.
    var fatSectors: [UInt32] = []
    for i in 0..<109 {
      guard let sector = Self.u32(data, 0x4C + 4 * i), sector < 0xFFFF_FFFA else { continue }
      fatSectors.append(sector)
    }
    var difat = Self.u32(data, 0x44) ?? 0xFFFF_FFFE
    var steps = 0
    while difat < 0xFFFF_FFFA, steps < 1 << 16 {
      let base = (Int(difat) + 1) * sectorSize
      for i in 0..<(sectorSize / 4 - 1) {
        if let sector = Self.u32(data, base + 4 * i), sector < 0xFFFF_FFFA { fatSectors.append(sector) }
      }
      difat = Self.u32(data, base + sectorSize - 4) ?? 0xFFFF_FFFE
      steps += 1
    }
    for sector in fatSectors {
      let base = (Int(sector) + 1) * sectorSize
      for i in 0..<(sectorSize / 4) { fat.append(Self.u32(data, base + 4 * i) ?? 0xFFFF_FFFF) }
    }
    let directory = chain(from: Self.u32(data, 0x30) ?? 0xFFFF_FFFE, size: nil)
    let miniFatBytes = chain(from: Self.u32(data, 0x3C) ?? 0xFFFF_FFFE, size: nil)
    miniFat = stride(from: 0, to: miniFatBytes.count - 3, by: 4).compactMap { Self.u32(miniFatBytes, $0) }
    // Directory entries of 128 bytes: the root (entry 0) holds the mini stream; streams are type 2.
    var entry = 0
    while entry * 128 + 128 <= directory.count {
      let base = entry * 128
      let nameLength = Int(Self.u16(directory, base + 0x40) ?? 0)
      let type = directory[directory.startIndex + base + 0x42]
      let start = Self.u32(directory, base + 0x74) ?? 0xFFFF_FFFE
      let size = Int(clamping: Self.u32(directory, base + 0x78) ?? 0)
      if nameLength >= 2, nameLength <= 64 {
        let units = stride(from: 0, to: nameLength - 2, by: 2).compactMap { Self.u16(directory, base + $0) }
        let name = String(decoding: units, as: UTF16.self)
        if type == 5 {
          miniStream = chain(from: start, size: size)
        } else if type == 2, streams[name] == nil {
          streams[name] = (start, size)
        }
      }
      entry += 1
    }
  }

  /// The bytes of stream `name`, or `nil` when there is none.
  func stream(_ name: String) -> Data? {
    guard let (start, size) = streams[name] else { return nil }
    if size < miniCutoff { return miniChain(from: start, size: size) }
    return chain(from: start, size: size)
  }

  /// The sectors of a chain joined, cut at `size` when given.
  private func chain(from start: UInt32, size: Int?) -> Data {
    var out = Data()
    var sector = start
    var steps = 0
    while sector < 0xFFFF_FFFA, steps <= fat.count {
      let base = (Int(sector) + 1) * sectorSize
      guard base >= 0, base + sectorSize <= data.count else { break }
      out.append(data[(data.startIndex + base)..<(data.startIndex + base + sectorSize)])
      if let size, out.count >= size { break }
      guard Int(sector) < fat.count else { break }
      sector = fat[Int(sector)]
      steps += 1
    }
    if let size, out.count > size { out.removeSubrange((out.startIndex + size)...) }
    return out
  }

  private func miniChain(from start: UInt32, size: Int) -> Data {
    var out = Data()
    var sector = start
    var steps = 0
    while sector < 0xFFFF_FFFA, steps <= miniFat.count, out.count < size {
      let base = Int(sector) * miniSectorSize
      guard base + miniSectorSize <= miniStream.count else { break }
      out.append(miniStream[(miniStream.startIndex + base)..<(miniStream.startIndex + base + miniSectorSize)])
      guard Int(sector) < miniFat.count else { break }
      sector = miniFat[Int(sector)]
      steps += 1
    }
    if out.count > size { out.removeSubrange((out.startIndex + size)...) }
    return out
  }

  static func u16(_ data: Data, _ offset: Int) -> UInt16? {
    guard offset >= 0, offset + 2 <= data.count else { return nil }
    let base = data.startIndex + offset
    return UInt16(data[base]) | UInt16(data[base + 1]) << 8
  }

  static func u32(_ data: Data, _ offset: Int) -> UInt32? {
    guard let low = u16(data, offset), let high = u16(data, offset + 2) else { return nil }
    return UInt32(low) | UInt32(high) << 16
  }
}
