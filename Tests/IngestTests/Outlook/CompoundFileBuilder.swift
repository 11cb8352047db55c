import Foundation

/// Builds small OLE2 compound files (version 3: 512-byte sectors, 64-byte mini
/// sectors, streams under 4096 bytes in the mini stream) for tests that need
/// a `.msg` without the shared corpus.
enum CompoundFileBuilder {
  indirect enum Node {
    case stream(String, [UInt8])
    case storage(String, [Node])
  }

  private struct Flat {
    var name: String
    var type: UInt8
    var data: [UInt8] = []
    var children: [Int] = []
    var start: UInt32 = 0xFFFF_FFFE
    var size = 0
  }

  static let endOfChain: UInt32 = 0xFFFF_FFFE

  /// The compound file holding `nodes` under its root.
  static func build(_ nodes: [Node]) -> [UInt8] {
    // Directory entries: the root first, then every node depth first.
    var flat = [Flat(name: "Root Entry", type: 5)]
    func add(_ node: Node) -> Int {
      switch node {
      case .stream(let name, let data):
        flat.append(Flat(name: name, type: 2, data: data))
        return flat.count - 1
      case .storage(let name, let children):
        flat.append(Flat(name: name, type: 1))
        let me = flat.count - 1
        let ids = children.map(add)
        flat[me].children = ids
        return me
      }
    }
    flat[0].children = nodes.map(add)

    // The mini stream and its FAT: small streams, 64 bytes a mini sector.
    var mini: [UInt8] = []
    var miniFAT: [UInt32] = []
    for i in flat.indices where flat[i].type == 2 && flat[i].data.count < 4096 && !flat[i].data.isEmpty {
      let first = UInt32(miniFAT.count)
      let count = (flat[i].data.count + 63) / 64
      for k in 0..<count { miniFAT.append(k == count - 1 ? endOfChain : first + UInt32(k) + 1) }
      mini += flat[i].data + [UInt8](repeating: 0, count: count * 64 - flat[i].data.count)
      flat[i].start = first
      flat[i].size = flat[i].data.count
    }
    // Regular sectors: FAT, directory, mini FAT, mini stream, big streams.
    var sectors: [[UInt8]] = []
    var fat: [UInt32] = []
    func chain(_ data: [UInt8]) -> UInt32 {
      guard !data.isEmpty else { return endOfChain }
      let first = UInt32(sectors.count)
      let count = (data.count + 511) / 512
      for k in 0..<count {
        var s = Array(data[(k * 512)..<min(data.count, (k + 1) * 512)])
        s += [UInt8](repeating: 0, count: 512 - s.count)
        sectors.append(s)
        fat.append(k == count - 1 ? endOfChain : first + UInt32(k) + 1)
      }
      return first
    }
    // One FAT sector (128 entries) is enough for the files tests build.
    sectors.append([])
    fat.append(0xFFFF_FFFD)
    var directory: [UInt8] = []
    let directorySectorCount = (flat.count * 128 + 511) / 512
    // Reserve the directory's sectors now; fill them once streams have their starts.
    let directoryStart = UInt32(sectors.count)
    for k in 0..<directorySectorCount {
      sectors.append([])
      fat.append(k == directorySectorCount - 1 ? endOfChain : directoryStart + UInt32(k) + 1)
    }
    let miniFATStart = chain(miniFAT.flatMap(le32))
    let miniStart = chain(mini)
    flat[0].start = miniStart
    flat[0].size = mini.count
    for i in flat.indices where flat[i].type == 2 && flat[i].data.count >= 4096 {
      flat[i].start = chain(flat[i].data)
      flat[i].size = flat[i].data.count
    }
    precondition(fat.count <= 128, "test compound files hold at most 128 sectors")

    for (i, e) in flat.enumerated() {
      var entry = [UInt8](repeating: 0, count: 128)
      let units = Array(e.name.utf16) + [0]
      for (k, u) in units.prefix(32).enumerated() {
        entry[2 * k] = UInt8(u & 0xFF)
        entry[2 * k + 1] = UInt8(u >> 8)
      }
      entry.replaceSubrange(64..<66, with: le16(UInt16(units.count * 2)))
      entry[66] = e.type
      entry[67] = 1  // black
      // Siblings as a chain of right links: a valid (if unbalanced) tree.
      let siblings = flat.firstIndex { $0.children.contains(i) }.map { flat[$0].children } ?? []
      let next = siblings.firstIndex(of: i).flatMap { $0 + 1 < siblings.count ? siblings[$0 + 1] : nil }
      entry.replaceSubrange(68..<72, with: le32(0xFFFF_FFFF))
      entry.replaceSubrange(72..<76, with: le32(next.map(UInt32.init) ?? 0xFFFF_FFFF))
      entry.replaceSubrange(76..<80, with: le32(e.children.first.map(UInt32.init) ?? 0xFFFF_FFFF))
      entry.replaceSubrange(116..<120, with: le32(e.type == 1 ? 0 : e.start))
      entry.replaceSubrange(120..<124, with: le32(UInt32(e.size)))
      directory += entry
    }
    directory += [UInt8](repeating: 0, count: directorySectorCount * 512 - directory.count)
    for k in 0..<directorySectorCount {
      sectors[Int(directoryStart) + k] = Array(directory[(k * 512)..<((k + 1) * 512)])
    }
    sectors[0] = (fat + [UInt32](repeating: 0xFFFF_FFFF, count: 128 - fat.count)).flatMap(le32)

    var header = [UInt8](repeating: 0, count: 512)
    header.replaceSubrange(0..<8, with: [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1])
    header.replaceSubrange(24..<26, with: le16(0x3E))
    header.replaceSubrange(26..<28, with: le16(3))
    header.replaceSubrange(28..<30, with: le16(0xFFFE))
    header.replaceSubrange(30..<32, with: le16(9))
    header.replaceSubrange(32..<34, with: le16(6))
    header.replaceSubrange(44..<48, with: le32(1))
    header.replaceSubrange(48..<52, with: le32(directoryStart))
    header.replaceSubrange(56..<60, with: le32(4096))
    header.replaceSubrange(60..<64, with: le32(miniFATStart))
    header.replaceSubrange(64..<68, with: le32(UInt32((miniFAT.count * 4 + 511) / 512)))
    header.replaceSubrange(68..<72, with: le32(endOfChain))
    header.replaceSubrange(76..<80, with: le32(0))
    for k in 1..<109 { header.replaceSubrange((76 + 4 * k)..<(80 + 4 * k), with: le32(0xFFFF_FFFF)) }
    return header + sectors.flatMap { $0 }
  }

  static func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
  static func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }
  static func le64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8((v >> (8 * UInt64($0))) & 0xFF) } }

  /// A `__substg1.0_` stream of a UTF-16LE string.
  static func unicode(_ id: UInt16, _ text: String) -> Node {
    .stream(streamName(id, 0x001F), Array(text.utf16).flatMap(le16))
  }

  static func binary(_ id: UInt16, _ bytes: [UInt8]) -> Node { .stream(streamName(id, 0x0102), bytes) }

  static func streamName(_ id: UInt16, _ type: UInt16) -> String {
    func hex(_ v: UInt16) -> String {
      let s = String(v, radix: 16, uppercase: true)
      return String(repeating: "0", count: 4 - s.count) + s
    }
    return "__substg1.0_" + hex(id) + hex(type)
  }

  /// `__properties_version1.0` with a `header`-byte header and fixed-size values (tag, value).
  static func properties(header: Int, _ values: [(UInt32, UInt64)]) -> Node {
    var data = [UInt8](repeating: 0, count: header)
    for (tag, value) in values { data += le32(tag) + le32(6) + le64(value) }
    return .stream("__properties_version1.0", data)
  }
}
