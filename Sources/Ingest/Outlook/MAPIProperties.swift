/// The MAPI properties of one storage of a `.msg` file [MS-OXMSG]: the
/// message itself, a recipient, an attachment or an embedded message.
///
/// Variable-size values are streams named `__substg1.0_IIIITTTT` (property id
/// and type in hex); fixed-size values (integers, times, booleans) are 16-byte
/// records in `__properties_version1.0`, after a header whose size depends on
/// the storage (32 bytes for the top-level message, 24 for an embedded one, 8
/// for recipients and attachments).
struct MAPIProperties {
  let file: CompoundFile
  /// The storage's directory entry.
  let storage: Int
  /// Its children by upper-cased name.
  let children: [String: Int]
  /// Fixed-size values by property tag (id << 16 | type).
  private(set) var fixed: [UInt32: UInt64] = [:]
  /// The charset label of 8-bit (`001E`) strings; `nil` reads UTF-8, else windows-1252.
  var charset: String?

  /// The properties of storage `storage`, whose properties stream has a `headerSize`-byte header.
  ///
  /// - Throws: `CompoundFileError` when the properties stream's chain is damaged.
  init(file: CompoundFile, storage: Int, headerSize: Int) throws {
    self.file = file
    self.storage = storage
    var children: [String: Int] = [:]
    for (name, index) in file.children(of: storage) { children[name.uppercased()] = index }
    self.children = children
    if let index = children["__PROPERTIES_VERSION1.0"] {
      let data = try file.stream(index)
      var o = headerSize
      while o + 16 <= data.count {
        fixed[CompoundFile.u32(data, o)] = CompoundFile.u64(data, o + 8)
        o += 16
      }
    }
  }

  /// Whether the storage holds any MAPI property at all.
  var isEmpty: Bool { fixed.isEmpty && !children.keys.contains { $0.hasPrefix("__SUBSTG1.0_") } }

  static func streamName(_ id: UInt16, _ type: UInt16) -> String {
    "__SUBSTG1.0_" + hex4(id) + hex4(type)
  }

  private static func hex4(_ v: UInt16) -> String {
    let s = String(v, radix: 16, uppercase: true)
    return String(repeating: "0", count: 4 - s.count) + s
  }

  // MARK: - Values

  /// The bytes of the `__substg1.0_` stream of `id` and `type`, or `nil` when there is none.
  func bytes(_ id: UInt16, _ type: UInt16) throws -> [UInt8]? {
    guard let index = children[Self.streamName(id, type)], file.entries[index].kind == .stream else { return nil }
    return try file.stream(index)
  }

  /// A string property: UTF-16LE (`001F`) or 8-bit in the message's code page (`001E`).
  ///
  /// - Returns: `nil` when absent or empty.
  func string(_ id: UInt16) throws -> String? {
    var text: String?
    if let raw = try bytes(id, 0x001F) {
      var units = (0..<(raw.count / 2)).map { CompoundFile.u16(raw, 2 * $0) }
      while units.last == 0 { units.removeLast() }
      text = String(decoding: units, as: UTF16.self)
    } else if var raw = try bytes(id, 0x001E) {
      while raw.last == 0 { raw.removeLast() }
      text = Charsets.decode(raw, charset: charset)
    }
    guard let text, !text.isEmpty else { return nil }
    return text
  }

  /// A binary (`0102`) property.
  func binary(_ id: UInt16) throws -> [UInt8]? { try bytes(id, 0x0102) }

  /// A 32-bit integer (`0003`) property.
  func int32(_ id: UInt16) -> Int? {
    fixed[UInt32(id) << 16 | 0x0003].map { Int(Int32(truncatingIfNeeded: $0)) }
  }

  /// A boolean (`000B`) property.
  func bool(_ id: UInt16) -> Bool? { fixed[UInt32(id) << 16 | 0x000B].map { $0 & 0xFFFF != 0 } }

  /// A time (`0040`, FILETIME) property; `nil` when absent or zero.
  func time(_ id: UInt16) -> UInt64? {
    guard let v = fixed[UInt32(id) << 16 | 0x0040], v != 0 else { return nil }
    return v
  }

  /// The object (`000D`) storage of `id`: an embedded message or OLE object.
  func object(_ id: UInt16) -> Int? {
    guard let index = children[Self.streamName(id, 0x000D)], file.entries[index].kind == .storage else { return nil }
    return index
  }

  /// The sub-storages whose names start with `prefix` (upper case), in name order.
  func storages(prefix: String) -> [Int] {
    children.filter { $0.key.hasPrefix(prefix) && file.entries[$0.value].kind == .storage }
      .sorted { $0.key < $1.key }.map(\.value)
  }
}

/// Windows code pages as the charset labels `Charsets.decode` reads.
enum MAPICodepage {
  static func charset(_ codepage: Int) -> String {
    switch codepage {
    case 65001: "utf-8"
    case 1200: "utf-16le"
    case 1201: "utf-16be"
    case 20127: "us-ascii"
    case 28591...28599: "iso-8859-\(codepage - 28590)"
    case 28603: "iso-8859-13"
    case 28605: "iso-8859-15"
    case 932: "shift_jis"
    case 936: "gb2312"
    case 949: "ks_c_5601-1987"
    case 950: "big5"
    case 50220, 50221, 50222: "iso-2022-jp"
    case 51932: "euc-jp"
    case 51949: "euc-kr"
    case 54936: "gb18030"
    case 20866: "koi8-r"
    case 21866: "koi8-u"
    case 10000: "macintosh"
    case 874, 1250...1258: "windows-\(codepage)"
    case 1...65535: "cp\(codepage)"
    default: "windows-1252"
    }
  }
}

/// FILETIME values (100 ns ticks since 1601-01-01 UTC) as mail writes dates.
enum FileTime {
  /// UTC calendar fields of `filetime`, or `nil` outside years 1601-9999.
  static func fields(_ filetime: UInt64) -> (y: Int, mo: Int, d: Int, h: Int, mi: Int, s: Int, wd: Int)? {
    let seconds = Int64(filetime / 10_000_000) - 11_644_473_600
    let days = Int64((Double(seconds) / 86_400).rounded(.down))
    let rest = Int(seconds - days * 86_400)
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = Int(doy - (153 * mp + 2) / 5 + 1)
    let m = Int(mp < 10 ? mp + 3 : mp - 9)
    let y = Int(yoe + era * 400) + (m <= 2 ? 1 : 0)
    guard (1601...9999).contains(y) else { return nil }
    let wd = Int(((days % 7) + 11) % 7)  // 1970-01-01 was a Thursday (4)
    return (y, m, d, rest / 3600, rest / 60 % 60, rest % 60, wd)
  }

  /// `2010-06-17T23:54:19Z`.
  static func iso8601(_ filetime: UInt64) -> String? {
    guard let f = fields(filetime) else { return nil }
    return "\(pad(f.y, 4))-\(pad(f.mo))-\(pad(f.d))T\(pad(f.h)):\(pad(f.mi)):\(pad(f.s))Z"
  }

  /// `Thu, 17 Jun 2010 23:54:19 +0000` (RFC 5322).
  static func rfc5322(_ filetime: UInt64) -> String? {
    guard let f = fields(filetime) else { return nil }
    let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    return "\(days[f.wd]), \(f.d) \(months[f.mo - 1]) \(f.y) \(pad(f.h)):\(pad(f.mi)):\(pad(f.s)) +0000"
  }

  private static func pad(_ n: Int, _ width: Int = 2) -> String {
    let s = String(n)
    return String(repeating: "0", count: max(0, width - s.count)) + s
  }
}
