/// Compressed RTF [MS-OXRTFCP]: the `PR_RTF_COMPRESSED` body of Outlook messages.
///
/// A 16-byte header (compressed size, raw size, `LZFu` or `MELA`, CRC-32),
/// then runs of one control byte and eight literals or 2-byte references
/// into a 4 KiB dictionary that starts filled with common RTF words.
enum LZFu {
  /// The most raw RTF decompressed: past this the body is cut (and said so).
  static let maxOutput = 64 << 20

  /// The decompressed RTF of `data` and whether its CRC matched.
  ///
  /// Decompression stops at the end reference (a reference to the write
  /// position), at the end of the input, or at the declared raw size.
  ///
  /// - Throws: `CompoundFileError` when the header is missing or names an unknown compression.
  static func decompress(_ data: [UInt8]) throws(CompoundFileError) -> (rtf: [UInt8], crcMatches: Bool) {
    guard data.count >= 16 else { throw CompoundFileError("its compressed RTF body is shorter than its header") }
    let rawSize = Int(CompoundFile.u32(data, 4))
    let type = CompoundFile.u32(data, 8)
    let crc = CompoundFile.u32(data, 12)
    let payload = data[16...]
    switch type {
    case 0x414C_454D:  // "MELA": stored as is
      return (Array(payload.prefix(min(rawSize, maxOutput))), true)
    case 0x7546_5A4C:  // "LZFu"
      break
    default:
      throw CompoundFileError("its compressed RTF body has an unknown compression type")
    }
    let limit = min(rawSize, maxOutput)
    var dictionary = [UInt8](repeating: 0, count: 4096)
    let prefill = Array(initialDictionary.utf8)
    dictionary.replaceSubrange(0..<prefill.count, with: prefill)
    var write = prefill.count
    var out: [UInt8] = []
    out.reserveCapacity(min(limit, payload.count * 9))
    var i = payload.startIndex
    decoding: while i < payload.endIndex && out.count < limit {
      let control = payload[i]
      i += 1
      for bit in 0..<8 {
        guard i < payload.endIndex, out.count < limit else { break decoding }
        if control & (1 << bit) == 0 {
          let byte = payload[i]
          i += 1
          out.append(byte)
          dictionary[write] = byte
          write = (write + 1) & 0xFFF
        } else {
          guard i + 1 < payload.endIndex else { break decoding }
          let word = Int(payload[i]) << 8 | Int(payload[i + 1])
          i += 2
          let offset = word >> 4
          if offset == write { break decoding }
          // Byte by byte: a reference may overlap the bytes it is writing.
          for k in 0..<((word & 0xF) + 2) where out.count < limit {
            let byte = dictionary[(offset + k) & 0xFFF]
            out.append(byte)
            dictionary[write] = byte
            write = (write + 1) & 0xFFF
          }
        }
      }
    }
    return (out, crc32(payload) == crc)
  }

  /// The dictionary's initial 207 bytes.
  static let initialDictionary =
    "{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}{\\f0\\fnil \\froman \\fswiss \\fmodern \\fscript "
    + "\\fdecor MS Sans SerifSymbolArialTimes New RomanCourier{\\colortbl\\red0\\green0\\blue0\r\n"
    + "\\par \\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx"

  /// The CRC-32 the format uses: the usual polynomial, starting at 0, with no final inversion.
  static func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
    var crc: UInt32 = 0
    for b in bytes { crc = crcTable[Int((crc ^ UInt32(b)) & 0xFF)] ^ (crc >> 8) }
    return crc
  }

  private static let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
    var c = UInt32(n)
    for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    return c
  }
}
