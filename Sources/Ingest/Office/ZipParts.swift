import Foundation

/// The parts of an OOXML package read from its ZIP (`ZipArchive`).
///
/// Each part is inflated on demand and counted as it comes: a part whose
/// declared size or ratio is absurd is refused before reading, and one that
/// inflates past its declared size (a lying header) is stopped.
struct ZipParts: OfficePartSource {
  private let archive: ZipArchive
  private var entries: [String: ZipArchive.Entry] = [:]
  private var lowercased: [String: String] = [:]
  private(set) var partNames: [String] = []

  /// Opens the package at `path` (mapped, not read whole).
  ///
  /// - Throws: `OfficeError.notAPackage` when it is not a readable ZIP.
  init(path: String) throws {
    let data: Data
    do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe) } catch {
      throw OfficeError.notAPackage("it cannot be read (\((error as NSError).localizedDescription))")
    }
    try self.init(data: data)
  }

  /// Opens a package held in memory.
  init(data: Data) throws {
    archive = try ZipArchive(data: data)
    for entry in archive.entries where !entry.name.hasSuffix("/") {
      var name = entry.name
      if name.hasPrefix("/") { name.removeFirst() }
      guard entries[name] == nil else { continue }
      entries[name] = entry
      lowercased[name.lowercased()] = name
      partNames.append(name)
    }
  }

  func read(_ name: String, limit: Int) throws -> (bytes: [UInt8], cut: Bool)? {
    // Part names are case-insensitive in OPC; most writers match case, a few do not.
    guard let entry = entries[name] ?? lowercased[name.lowercased()].flatMap({ entries[$0] }) else { return nil }
    let declared = entry.uncompressedSize
    let packed = max(entry.compressedSize, 1)
    if declared > UInt64(OfficeLimits.maxPartBytes) {
      throw OfficeError.bomb(part: name, limit: OfficeLimits.maxPartBytes)
    }
    if declared > UInt64(OfficeLimits.ratioFloor) && declared / packed > UInt64(OfficeLimits.maxRatio) {
      throw OfficeError.bomb(part: name, limit: OfficeLimits.ratioFloor)
    }
    do {
      return try archive.read(entry, limit: limit, ceiling: Int(declared))
    } catch {
      switch error {
      case .overran(let ceiling): throw OfficeError.bomb(part: name, limit: ceiling)
      case .unreadable(let reason): throw OfficeError.notAPackage("its part \(name) cannot be read: \(reason)")
      }
    }
  }
}
