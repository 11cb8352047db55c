internal import CZlib
import Foundation

/// A ZIP archive read through its central directory, entries inflated with zlib on demand.
///
/// Written here rather than taken from ZIPFoundation: ZIPFoundation's own
/// zlib module is also named `CZlib` and cannot be built beside ours. This
/// reads what OOXML packages use: stored and deflated entries, ZIP64 sizes
/// and offsets; an encrypted entry or another method is refused. Every
/// offset and size read from the file is checked against its length, so a
/// damaged archive fails with `OfficeError.notAPackage`, never a trap.
struct ZipArchive {
  /// An entry of the central directory.
  struct Entry {
    var name: String
    var method: UInt16
    var flags: UInt16
    var compressedSize: UInt64
    var uncompressedSize: UInt64
    var localHeaderOffset: UInt64
  }

  let data: Data
  private(set) var entries: [Entry] = []

  /// Reads the central directory of the ZIP in `data` (a mapped file or bytes in memory).
  ///
  /// - Throws: `OfficeError.notAPackage` when there is no readable central directory.
  init(data: Data) throws {
    self.data = data
    let bytes = ByteReader(data: data)
    guard let end = Self.findEndOfDirectory(bytes) else {
      throw OfficeError.notAPackage("it is not a ZIP archive, or its ZIP directory is missing (a truncated file?)")
    }
    var count = UInt64(bytes.u16(end + 10) ?? 0)
    var directorySize = UInt64(bytes.u32(end + 12) ?? 0)
    var directoryOffset = UInt64(bytes.u32(end + 16) ?? 0)
    if count == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF,
      let locator = end >= 20 ? end - 20 : nil, bytes.u32(locator) == 0x0706_4b50,
      let zip64 = bytes.u64(locator + 8).flatMap(Int.init(exactly:)), bytes.u32(zip64) == 0x0606_4b50
    {
      count = bytes.u64(zip64 + 32) ?? count
      directorySize = bytes.u64(zip64 + 40) ?? directorySize
      directoryOffset = bytes.u64(zip64 + 48) ?? directoryOffset
    }
    guard directoryOffset <= UInt64(data.count), directorySize <= UInt64(data.count) - directoryOffset else {
      throw OfficeError.notAPackage("its ZIP directory points outside the file (a truncated or damaged file?)")
    }
    var position = Int(directoryOffset)
    var index: UInt64 = 0
    while index < count, bytes.u32(position) == 0x0201_4b50 {
      guard let flags = bytes.u16(position + 8), let method = bytes.u16(position + 10),
        let packed = bytes.u32(position + 20), let size = bytes.u32(position + 24),
        let nameLength = bytes.u16(position + 28), let extraLength = bytes.u16(position + 30),
        let commentLength = bytes.u16(position + 32), let offset = bytes.u32(position + 42),
        let name = bytes.slice(position + 46, Int(nameLength))
      else { break }
      var entry = Entry(
        name: String(decoding: name, as: UTF8.self), method: method, flags: flags, compressedSize: UInt64(packed),
        uncompressedSize: UInt64(size), localHeaderOffset: UInt64(offset))
      Self.applyZip64(&entry, bytes: bytes, extra: position + 46 + Int(nameLength), length: Int(extraLength))
      entries.append(entry)
      position += 46 + Int(nameLength) + Int(extraLength) + Int(commentLength)
      index += 1
    }
    guard !entries.isEmpty || count == 0 else {
      throw OfficeError.notAPackage("its ZIP directory is damaged")
    }
  }

  /// The end-of-central-directory record's offset: searched backwards over the last 64 KiB plus its size.
  private static func findEndOfDirectory(_ bytes: ByteReader) -> Int? {
    guard bytes.count >= 22 else { return nil }
    var position = bytes.count - 22
    let floor = max(0, bytes.count - 22 - 0xFFFF)
    while position >= floor {
      if bytes.u32(position) == 0x0605_4b50 { return position }
      position -= 1
    }
    return nil
  }

  /// Sizes and offset from the ZIP64 extra field, for those the directory marks 0xFFFFFFFF.
  private static func applyZip64(_ entry: inout Entry, bytes: ByteReader, extra: Int, length: Int) {
    var position = extra
    while position + 4 <= extra + length {
      guard let id = bytes.u16(position), let size = bytes.u16(position + 2) else { return }
      if id == 0x0001 {
        var field = position + 4
        if entry.uncompressedSize == 0xFFFF_FFFF, let value = bytes.u64(field) {
          entry.uncompressedSize = value
          field += 8
        }
        if entry.compressedSize == 0xFFFF_FFFF, let value = bytes.u64(field) {
          entry.compressedSize = value
          field += 8
        }
        if entry.localHeaderOffset == 0xFFFF_FFFF, let value = bytes.u64(field) { entry.localHeaderOffset = value }
        return
      }
      position += 4 + Int(size)
    }
  }

  /// Why an entry's bytes stopped.
  enum Stop: Error {
    /// It inflated past `ceiling` bytes.
    case overran(Int)
    /// It cannot be read: damaged, encrypted, or compressed by another method.
    case unreadable(String)
  }

  /// The bytes of `entry`, at most `limit` of them (`cut` when there were more).
  ///
  /// - Throws: `Stop.overran` past `ceiling` bytes, `Stop.unreadable` when damaged.
  func read(_ entry: Entry, limit: Int, ceiling: Int) throws(Stop) -> (bytes: [UInt8], cut: Bool) {
    let bytes = ByteReader(data: data)
    guard entry.flags & 1 == 0 else { throw .unreadable("it is encrypted") }
    guard let local = Int(exactly: entry.localHeaderOffset), bytes.u32(local) == 0x0403_4b50,
      let nameLength = bytes.u16(local + 26), let extraLength = bytes.u16(local + 28)
    else { throw .unreadable("its local header is missing") }
    let start = local + 30 + Int(nameLength) + Int(extraLength)
    guard start <= data.count else { throw .unreadable("it lies past the end of the file") }
    let available = data.count - start
    let packed = Int(exactly: entry.compressedSize).map { min($0, available) } ?? available
    switch entry.method {
    case 0:
      let count = min(packed, limit)
      guard count <= ceiling else { throw .overran(ceiling) }
      return (Array(data[(data.startIndex + start)..<(data.startIndex + start + count)]), packed > limit)
    case 8:
      return try inflate(from: start, count: packed, limit: limit, ceiling: ceiling)
    default:
      throw .unreadable("it uses compression method \(entry.method)")
    }
  }

  private func inflate(from start: Int, count: Int, limit: Int, ceiling: Int) throws(Stop) -> (
    bytes: [UInt8], cut: Bool
  ) {
    var stream = z_stream()
    guard inflateInit2_(&stream, -15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
      throw .unreadable("zlib could not start")
    }
    defer { inflateEnd(&stream) }
    var out: [UInt8] = []
    out.reserveCapacity(min(limit, max(count, 1) * 4, 64 << 20))
    var chunk = [UInt8](repeating: 0, count: 64 << 10)
    var result: Result<Bool, Stop> = .success(false)
    data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
      guard let base = raw.baseAddress else {
        result = .failure(.unreadable("it is empty"))
        return
      }
      stream.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: UInt8.self) + start)
      stream.avail_in = UInt32(clamping: count)
      var remaining = count - Int(stream.avail_in)
      while true {
        let status = chunk.withUnsafeMutableBufferPointer { buffer -> Int32 in
          stream.next_out = buffer.baseAddress
          stream.avail_out = UInt32(buffer.count)
          return CZlib.inflate(&stream, Z_NO_FLUSH)
        }
        let produced = chunk.count - Int(stream.avail_out)
        if out.count + produced > ceiling {
          result = .failure(.overran(ceiling))
          return
        }
        if out.count + produced > limit {
          out.append(contentsOf: chunk[0..<(limit - out.count)])
          result = .success(true)
          return
        }
        out.append(contentsOf: chunk[0..<produced])
        if status == Z_STREAM_END { return }
        if stream.avail_in == 0 && remaining > 0 {
          // More than 4 GiB of input: feed the next piece.
          let next = min(remaining, Int(UInt32.max))
          stream.avail_in = UInt32(next)
          remaining -= next
          continue
        }
        if status != Z_OK || (stream.avail_in == 0 && produced == 0) {
          result = .failure(.unreadable(status == Z_DATA_ERROR ? "its deflate data is corrupt" : "it is truncated"))
          return
        }
      }
    }
    switch result {
    case .success(let cut): return (out, cut)
    case .failure(let stop): throw stop
    }
  }
}

/// Little-endian reads from `Data` that answer `nil` past its end.
private struct ByteReader {
  let data: Data
  var count: Int { data.count }

  func u16(_ offset: Int) -> UInt16? {
    guard offset >= 0, offset + 2 <= data.count else { return nil }
    let base = data.startIndex + offset
    return UInt16(data[base]) | UInt16(data[base + 1]) << 8
  }

  func u32(_ offset: Int) -> UInt32? {
    guard let low = u16(offset), let high = u16(offset + 2) else { return nil }
    return UInt32(low) | UInt32(high) << 16
  }

  func u64(_ offset: Int) -> UInt64? {
    guard let low = u32(offset), let high = u32(offset + 4) else { return nil }
    return UInt64(low) | UInt64(high) << 32
  }

  func slice(_ offset: Int, _ length: Int) -> Data? {
    guard offset >= 0, length >= 0, offset + length <= data.count else { return nil }
    return data[(data.startIndex + offset)..<(data.startIndex + offset + length)]
  }
}
