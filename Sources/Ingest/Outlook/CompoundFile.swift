/// A reader of OLE2 Compound File Binary files [MS-CFB]: the container of
/// Outlook `.msg` files (and of legacy Office documents).
///
/// Every sector chain is bounded by the file's sector count and checked for
/// cycles, every offset against the file's size: a damaged file is a
/// `CompoundFileError` with one plain sentence, never a trap or an endless loop.
/// Foundation-free so the fuzz harness compiles it on its own.
struct CompoundFile {
  /// One directory entry: a storage (folder), a stream (file) or the root.
  struct Entry {
    enum Kind: UInt8 {
      case unknown = 0
      case storage = 1
      case stream = 2
      case root = 5
    }
    var name: String
    var kind: Kind
    var left, right, child: UInt32
    var startSector: UInt32
    var size: UInt64
  }

  /// The file's bytes.
  let bytes: [UInt8]
  /// Sector size in bytes (512 or 4096).
  let sectorSize: Int
  let miniSectorSize: Int
  let miniStreamCutoff: Int
  /// The directory, in file order; index 0 is the root.
  private(set) var entries: [Entry] = []
  private var fat: [UInt32] = []
  private var miniFAT: [UInt32] = []
  /// The root's stream: where streams under the cutoff live, in mini sectors.
  private var miniStream: [UInt8] = []

  static let signature: [UInt8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]
  static let endOfChain: UInt32 = 0xFFFF_FFFE
  static let freeSector: UInt32 = 0xFFFF_FFFF
  static let noStream: UInt32 = 0xFFFF_FFFF
  /// Sector numbers above this are markers, not sectors.
  static let maxRegularSector: UInt32 = 0xFFFF_FFFA

  /// Whether `bytes` starts with the compound file signature.
  static func isCompoundFile(_ bytes: [UInt8]) -> Bool { bytes.starts(with: signature) }

  /// Reads the header, the FAT (through the DIFAT), the directory, the mini FAT and the mini stream.
  ///
  /// - Throws: `CompoundFileError` when the file is not a compound file or its structures are damaged.
  init(bytes: [UInt8]) throws(CompoundFileError) {
    self.bytes = bytes
    guard bytes.count >= 512, bytes.starts(with: Self.signature) else {
      throw CompoundFileError("it is not an OLE2 compound file (no D0 CF 11 E0 signature)")
    }
    let sectorShift = Int(Self.u16(bytes, 30))
    let miniShift = Int(Self.u16(bytes, 32))
    guard sectorShift == 9 || sectorShift == 12 else {
      throw CompoundFileError("its header gives an invalid sector size (shift \(sectorShift))")
    }
    guard miniShift >= 1 && miniShift < sectorShift else {
      throw CompoundFileError("its header gives an invalid mini sector size (shift \(miniShift))")
    }
    sectorSize = 1 << sectorShift
    miniSectorSize = 1 << miniShift
    let cutoff = Int(Self.u32(bytes, 56))
    miniStreamCutoff = cutoff == 0 ? 4096 : min(cutoff, 1 << 20)
    try readFAT()
    try readDirectory()
    try readMiniStream()
  }

  /// How many whole or partial sectors follow the header.
  private var sectorCount: Int { max(0, (bytes.count - sectorSize + sectorSize - 1) / sectorSize) }

  // MARK: - Allocation tables

  private mutating func readFAT() throws(CompoundFileError) {
    let fatSectorCount = Int(Self.u32(bytes, 44))
    let perSector = sectorSize / 4
    // A FAT larger than the file would be a lie: no more sectors than the file holds.
    guard fatSectorCount <= sectorCount else {
      throw CompoundFileError("its header claims \(fatSectorCount) FAT sectors but the file holds \(sectorCount)")
    }
    var fatSectors: [UInt32] = []
    for i in 0..<109 {
      let s = Self.u32(bytes, 76 + 4 * i)
      if s <= Self.maxRegularSector { fatSectors.append(s) }
    }
    // The DIFAT chain: each sector lists FAT sectors, its last word is the next DIFAT sector.
    var next = Self.u32(bytes, 68)
    var seen = Set<UInt32>()
    while next <= Self.maxRegularSector && fatSectors.count < fatSectorCount {
      guard seen.insert(next).inserted, seen.count <= sectorCount else {
        throw CompoundFileError("its DIFAT chain loops")
      }
      let sector = try self.sector(next)
      for i in 0..<(perSector - 1) {
        let s = Self.u32(sector, 4 * i)
        if s <= Self.maxRegularSector { fatSectors.append(s) }
      }
      next = Self.u32(sector, 4 * (perSector - 1))
    }
    fatSectors = Array(fatSectors.prefix(fatSectorCount))
    if fatSectors.isEmpty { throw CompoundFileError("it has no FAT sectors") }
    fat.reserveCapacity(fatSectors.count * perSector)
    for s in fatSectors {
      let sector = try self.sector(s)
      for i in 0..<perSector { fat.append(Self.u32(sector, 4 * i)) }
    }
  }

  private mutating func readDirectory() throws(CompoundFileError) {
    let first = Self.u32(bytes, 48)
    let data = try chain(from: first, table: fat, limit: sectorCount, what: "directory")
    let count = data.count / 128
    guard count > 0 else { throw CompoundFileError("its directory is empty") }
    entries.reserveCapacity(count)
    for i in 0..<count {
      let o = i * 128
      let nameLength = min(64, Int(Self.u16(data, o + 64)))
      var units: [UInt16] = []
      var j = 0
      while j + 1 < nameLength {
        let u = Self.u16(data, o + j)
        if u == 0 { break }
        units.append(u)
        j += 2
      }
      let kind = Entry.Kind(rawValue: data[o + 66]) ?? .unknown
      var size = UInt64(Self.u32(data, o + 120)) | UInt64(Self.u32(data, o + 124)) << 32
      // Version 3 files may leave garbage in the high word.
      if sectorSize == 512 { size &= 0xFFFF_FFFF }
      entries.append(
        Entry(
          name: String(decoding: units, as: UTF16.self), kind: kind, left: Self.u32(data, o + 68),
          right: Self.u32(data, o + 72), child: Self.u32(data, o + 76), startSector: Self.u32(data, o + 116),
          size: size))
    }
    guard entries[0].kind == .root else { throw CompoundFileError("its first directory entry is not the root") }
  }

  private mutating func readMiniStream() throws(CompoundFileError) {
    let root = entries[0]
    let miniFATStart = Self.u32(bytes, 60)
    if miniFATStart <= Self.maxRegularSector {
      let data = try chain(from: miniFATStart, table: fat, limit: sectorCount, what: "mini FAT")
      miniFAT = (0..<(data.count / 4)).map { Self.u32(data, 4 * $0) }
    }
    guard root.size > 0, root.startSector <= Self.maxRegularSector else { return }
    guard root.size <= UInt64(bytes.count) else {
      throw CompoundFileError("its mini stream claims \(root.size) bytes, more than the whole file")
    }
    let data = try chain(from: root.startSector, table: fat, limit: sectorCount, what: "mini stream")
    guard data.count >= Int(root.size) else { throw CompoundFileError("its mini stream is cut short") }
    miniStream = Array(data.prefix(Int(root.size)))
  }

  // MARK: - Sectors and chains

  /// Sector `n`'s bytes; the file's last sector may be short (not padded).
  private func sector(_ n: UInt32) throws(CompoundFileError) -> [UInt8] {
    let start = (Int(n) + 1) * sectorSize
    guard n <= Self.maxRegularSector, start < bytes.count else {
      throw CompoundFileError("sector \(n) lies past the end of the file")
    }
    var out = Array(bytes[start..<min(start + sectorSize, bytes.count)])
    if out.count < sectorSize { out += [UInt8](repeating: 0, count: sectorSize - out.count) }
    return out
  }

  /// The bytes of the chain starting at `start` in `table` (the FAT or the mini FAT).
  ///
  /// Stops at end-of-chain; at most `limit` links (the number of sectors that
  /// exist), each visited once, so a loop or a runaway chain is an error.
  private func chain(
    from start: UInt32, table: [UInt32], limit: Int, mini: Bool = false, want: Int? = nil, what: String
  ) throws(CompoundFileError) -> [UInt8] {
    var out: [UInt8] = []
    var current = start
    var seen = Set<UInt32>()
    let unit = mini ? miniSectorSize : sectorSize
    while current != Self.endOfChain {
      if let want, out.count >= want { break }
      guard current <= Self.maxRegularSector, Int(current) < table.count else {
        throw CompoundFileError("the \(what)'s sector chain points to sector \(current), which does not exist")
      }
      guard seen.insert(current).inserted, seen.count <= limit else {
        throw CompoundFileError("the \(what)'s sector chain loops")
      }
      if mini {
        let o = Int(current) * unit
        guard o + unit <= miniStream.count else {
          throw CompoundFileError("the \(what) points past the end of the mini stream")
        }
        out += miniStream[o..<(o + unit)]
      } else {
        out += try sector(current)
      }
      current = table[Int(current)]
    }
    return out
  }

  // MARK: - Streams and storages

  /// The bytes of stream entry `index`.
  ///
  /// - Throws: `CompoundFileError` when its chain is damaged or shorter than its size.
  func stream(_ index: Int) throws(CompoundFileError) -> [UInt8] {
    guard entries.indices.contains(index), entries[index].kind == .stream else {
      throw CompoundFileError("directory entry \(index) is not a stream")
    }
    let e = entries[index]
    if e.size == 0 { return [] }
    guard e.size <= UInt64(bytes.count) else {
      throw CompoundFileError("stream \(e.name) claims \(e.size) bytes, more than the whole file")
    }
    let size = Int(e.size)
    let mini = size < miniStreamCutoff
    let data =
      mini
      ? try chain(
        from: e.startSector, table: miniFAT, limit: miniStream.count / miniSectorSize, mini: true, want: size,
        what: "stream \(e.name)")
      : try chain(from: e.startSector, table: fat, limit: sectorCount, want: size, what: "stream \(e.name)")
    guard data.count >= size else { throw CompoundFileError("stream \(e.name) is cut short") }
    return Array(data.prefix(size))
  }

  /// The entries directly inside storage `index` (the root is 0), by name.
  ///
  /// Walks the storage's red-black tree of siblings, each entry once.
  func children(of index: Int) -> [String: Int] {
    guard entries.indices.contains(index) else { return [:] }
    var out: [String: Int] = [:]
    var stack = [entries[index].child]
    var seen = Set<UInt32>()
    while let n = stack.popLast() {
      guard n != Self.noStream, Int(n) < entries.count, n != 0, seen.insert(n).inserted else { continue }
      let e = entries[Int(n)]
      out[e.name] = Int(n)
      stack.append(e.left)
      stack.append(e.right)
    }
    return out
  }

  // MARK: - Little-endian words

  static func u16(_ b: [UInt8], _ o: Int) -> UInt16 {
    guard o >= 0, o + 2 <= b.count else { return 0 }
    return UInt16(b[o]) | UInt16(b[o + 1]) << 8
  }

  static func u32(_ b: [UInt8], _ o: Int) -> UInt32 {
    guard o >= 0, o + 4 <= b.count else { return 0 }
    return UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24
  }

  static func u64(_ b: [UInt8], _ o: Int) -> UInt64 { UInt64(u32(b, o)) | UInt64(u32(b, o + 4)) << 32 }
}

/// Why a compound file (or the message in it) cannot be read: one plain clause.
struct CompoundFileError: Error, Equatable {
  var reason: String
  init(_ reason: String) { self.reason = reason }

  /// The reason of `error`, whatever its type.
  static func reason(_ error: any Error) -> String {
    (error as? CompoundFileError)?.reason ?? String(describing: error)
  }
}
