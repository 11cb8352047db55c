internal import CBzip2
internal import CLzma
internal import CZlib
import Foundation
import Storage

/// The compressed formats ingest reads: gzip, zstd, xz and bzip2.
enum Compression: String, CaseIterable, Sendable {
  case gzip, zstd, xz, bzip2

  /// The file name suffix of each format.
  var suffix: String {
    switch self {
    case .gzip: ".gz"
    case .zstd: ".zst"
    case .xz: ".xz"
    case .bzip2: ".bz2"
    }
  }

  /// The format `name` says (by its suffix), if any.
  static func named(_ name: String) -> Compression? {
    let lower = name.lowercased()
    return allCases.first { lower.hasSuffix($0.suffix) }
  }

  /// The format `head` (a file's first bytes) starts with, if any.
  static func sniff(_ head: some Collection<UInt8>) -> Compression? {
    let b = Array(head.prefix(6))
    if b.starts(with: [0x1F, 0x8B]) { return .gzip }
    if b.starts(with: [0x28, 0xB5, 0x2F, 0xFD]) { return .zstd }
    if b.starts(with: [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]) { return .xz }
    if b.count >= 4, b.starts(with: [0x42, 0x5A, 0x68]), (0x31...0x39).contains(b[3]) { return .bzip2 }
    return nil
  }

  /// `name` without its compression suffix (`app.log.2.gz` → `app.log.2`).
  static func bareName(_ name: String) -> String {
    guard let c = named(name) else { return name }
    return String(name.dropLast(c.suffix.count))
  }
}

/// Reads a file's bytes, decompressing gzip, zstd, xz and bzip2 with a bound on the output.
enum Decompression {
  /// The default bound: 4 GiB of output or 200× the compressed size, whichever is smaller.
  static func defaultLimit(compressedSize: Int) -> Int {
    min(4 << 30, max(64 << 20, compressedSize.multipliedReportingOverflow(by: 200).partialValue))
  }

  static func read(path: String, limit: Int? = nil) throws -> Data {
    try decompress(readRaw(path: path), path: path, limit: limit)
  }

  /// The file's bytes as stored, mapped when the file is large (`MappedFile`).
  ///
  /// - Returns: The bytes and, when mapped, the mapping: the file shrank
  ///   while it was read when `mapping.truncated` is set after use.
  static func readMapped(path: String) throws -> (data: Data, mapping: MappedFile?) {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    if fd >= 0 {
      defer { close(fd) }
      var info = stat()
      if fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_size >= 8 << 20,
        let mapping = MappedFile(fd: fd, size: Int(info.st_size)),
        let base = mapping.bytes.baseAddress
      {
        // The Data keeps the mapping alive.
        let data = Data(
          bytesNoCopy: UnsafeMutableRawPointer(mutating: base), count: mapping.bytes.count,
          deallocator: .custom { _, _ in withExtendedLifetime(mapping) {} })
        return (data, mapping)
      }
    }
    return (try readRaw(path: path), nil)
  }

  /// The file's bytes as stored.
  static func readRaw(path: String) throws -> Data {
    do { return try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe) } catch {
      throw IngestError.unreadable(path: path, reason: (error as NSError).localizedDescription)
    }
  }

  /// `raw` (the bytes of `path`) decompressed if its first bytes or its name
  /// say it is compressed. A file named `.gz` (`.zst`, `.xz`, `.bz2`) always
  /// goes through its decoder, so a corrupt one fails with the decoder's message.
  static func decompress(_ raw: Data, path: String, limit: Int? = nil) throws -> Data {
    guard let format = format(of: raw, path: path) else { return raw }
    return try decompress(raw, format: format, path: path, limit: limit ?? defaultLimit(compressedSize: raw.count))
  }

  /// The compression of `raw` (named `path`): by its magic bytes, else its suffix.
  static func format(of raw: Data, path: String) -> Compression? {
    Compression.sniff(raw.prefix(6)) ?? Compression.named((path as NSString).lastPathComponent)
  }

  static func decompress(_ raw: Data, format: Compression, path: String, limit bound: Int, prefix: Bool = false) throws
    -> Data
  {
    switch format {
    case .zstd:
      do { return try Zstd.decompress(raw, limit: bound) } catch WorkspaceError.decompressionLimit {
        throw IngestError.decompressionBomb(path: path, limit: bound)
      } catch {
        throw IngestError.decompression(path: path, reason: "\(error.localizedDescription)")
      }
    case .gzip: return try gunzip(raw, path: path, limit: bound, prefix: prefix)
    case .xz: return try unxz(raw, path: path, limit: bound, prefix: prefix)
    case .bzip2: return try bunzip2(raw, path: path, limit: bound, prefix: prefix)
    }
  }

  /// The first `count` decompressed bytes of `path` (for telling what a
  /// compressed file holds), or the decoder's error.
  static func head(path: String, count: Int = 8192) throws -> Data {
    let raw = try readRaw(path: path)
    guard let format = format(of: raw, path: path) else { return raw.prefix(count) }
    do {
      return try decompress(raw, format: format, path: path, limit: count, prefix: true).prefix(count)
    } catch IngestError.decompressionBomb {
      // zstd past the bound: it decoded fine that far, so it holds data; read it as text.
      return Data("zstd data".utf8)
    }
  }

  /// A compressed non-log file (`manual.pdf.gz`) decompressed to a temporary
  /// file named like it without the suffix; `nil` when `path` is not compressed.
  /// The caller removes the file.
  static func materializeIfCompressed(path: String) throws -> URL? {
    let name = (path as NSString).lastPathComponent
    guard Compression.named(name) ?? Compression.sniff(Discovery.rawHead(path, count: 6)) != nil else { return nil }
    return try materialize(path: path)
  }

  static func materialize(path: String) throws -> URL? {
    let raw = try readRaw(path: path)
    guard let format = format(of: raw, path: path) else { return nil }
    let data = try decompress(raw, format: format, path: path, limit: defaultLimit(compressedSize: raw.count))
    let name = Compression.bareName((path as NSString).lastPathComponent)
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("longctx-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let url = dir.appendingPathComponent(name.isEmpty ? "file" : name)
    do { try data.write(to: url) } catch {
      throw IngestError.unreadable(
        path: path, reason: "cannot write its decompressed copy: \(error.localizedDescription)")
    }
    return url
  }

  /// Inflates xz data (several streams allowed) through liblzma.
  private static func unxz(_ data: Data, path: String, limit: Int, prefix: Bool) throws -> Data {
    var stream = lzma_stream()
    guard lzma_stream_decoder(&stream, UInt64.max, 0x08 /* LZMA_CONCATENATED, a macro */) == LZMA_OK else {
      throw IngestError.decompression(path: path, reason: "liblzma init failed")
    }
    defer { lzma_end(&stream) }
    var out = Data()
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    try data.withUnsafeBytes { (src: UnsafeRawBufferPointer) in
      stream.next_in = src.bindMemory(to: UInt8.self).baseAddress
      stream.avail_in = src.count
      var action = LZMA_RUN
      while true {
        if stream.avail_in == 0 { action = LZMA_FINISH }
        let (status, produced) = buffer.withUnsafeMutableBufferPointer { buf -> (lzma_ret, Int) in
          stream.next_out = buf.baseAddress
          stream.avail_out = buf.count
          let status = lzma_code(&stream, action)
          return (status, buf.count - stream.avail_out)
        }
        out.append(contentsOf: buffer[0..<produced])
        if out.count > limit {
          if prefix { return }
          throw IngestError.decompressionBomb(path: path, limit: limit)
        }
        if status == LZMA_STREAM_END { break }
        guard status == LZMA_OK else {
          throw IngestError.decompression(path: path, reason: "xz: \(lzmaMessage(status))")
        }
      }
    }
    return out
  }

  private static func lzmaMessage(_ status: lzma_ret) -> String {
    switch status {
    case LZMA_FORMAT_ERROR: "file format not recognized"
    case LZMA_DATA_ERROR: "compressed data is corrupt"
    case LZMA_BUF_ERROR: "unexpected end of input"
    case LZMA_MEM_ERROR: "cannot allocate memory"
    case LZMA_OPTIONS_ERROR: "unsupported options"
    case LZMA_UNSUPPORTED_CHECK: "unsupported integrity check"
    default: "liblzma error \(status.rawValue)"
    }
  }

  /// Inflates bzip2 data (several streams allowed, as `cat a.bz2 b.bz2` makes) through libbz2.
  private static func bunzip2(_ data: Data, path: String, limit: Int, prefix: Bool) throws -> Data {
    var out = Data()
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    try data.withUnsafeBytes { (src: UnsafeRawBufferPointer) in
      guard let base = src.bindMemory(to: UInt8.self).baseAddress else { return }
      var offset = 0
      repeat {
        var stream = bz_stream()
        guard BZ2_bzDecompressInit(&stream, 0, 0) == BZ_OK else {
          throw IngestError.decompression(path: path, reason: "libbz2 init failed")
        }
        defer { BZ2_bzDecompressEnd(&stream) }
        stream.next_in = UnsafeMutableRawPointer(mutating: base + offset).assumingMemoryBound(to: CChar.self)
        stream.avail_in = UInt32(min(src.count - offset, Int(UInt32.max)))
        let given = Int(stream.avail_in)
        while true {
          let (status, produced) = buffer.withUnsafeMutableBufferPointer { buf -> (Int32, Int) in
            stream.next_out = UnsafeMutableRawPointer(buf.baseAddress!).assumingMemoryBound(to: CChar.self)
            stream.avail_out = UInt32(buf.count)
            let status = BZ2_bzDecompress(&stream)
            return (status, buf.count - Int(stream.avail_out))
          }
          out.append(contentsOf: buffer[0..<produced])
          if out.count > limit {
            if prefix { return }
            throw IngestError.decompressionBomb(path: path, limit: limit)
          }
          if status == BZ_STREAM_END { break }
          guard status == BZ_OK else {
            throw IngestError.decompression(path: path, reason: "bzip2: \(bzipMessage(status))")
          }
          if stream.avail_in == 0 && produced == 0 {
            throw IngestError.decompression(path: path, reason: "bzip2: unexpected end of input")
          }
        }
        offset += given - Int(stream.avail_in)
      } while offset < src.count
        && Compression.sniff(UnsafeBufferPointer(rebasing: src.bindMemory(to: UInt8.self)[offset...])) == .bzip2
    }
    return out
  }

  private static func bzipMessage(_ status: Int32) -> String {
    switch status {
    case BZ_DATA_ERROR: "compressed data is corrupt"
    case BZ_DATA_ERROR_MAGIC: "not bzip2 data"
    case BZ_MEM_ERROR: "cannot allocate memory"
    case BZ_UNEXPECTED_EOF: "unexpected end of input"
    default: "libbz2 error \(status)"
    }
  }

  /// Inflates gzip data (several members allowed) through zlib.
  private static func gunzip(_ data: Data, path: String, limit: Int, prefix: Bool = false) throws -> Data {
    var stream = z_stream()
    // 15 + 32: zlib or gzip header, detected automatically.
    guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK
    else { throw IngestError.decompression(path: path, reason: "zlib init failed") }
    defer { inflateEnd(&stream) }
    var out = Data()
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    try data.withUnsafeBytes { (src: UnsafeRawBufferPointer) in
      guard let base = src.bindMemory(to: UInt8.self).baseAddress else { return }
      stream.next_in = UnsafeMutablePointer(mutating: base)
      stream.avail_in = uInt(src.count)
      while true {
        let (status, produced) = buffer.withUnsafeMutableBufferPointer { buf -> (Int32, Int) in
          stream.next_out = buf.baseAddress
          stream.avail_out = uInt(buf.count)
          let status = inflate(&stream, Z_NO_FLUSH)
          return (status, buf.count - Int(stream.avail_out))
        }
        out.append(contentsOf: buffer[0..<produced])
        if out.count > limit {
          if prefix { return }
          throw IngestError.decompressionBomb(path: path, limit: limit)
        }
        if status == Z_STREAM_END {
          if stream.avail_in == 0 { break }
          // Another gzip member follows (concatenated .gz files).
          guard inflateReset(&stream) == Z_OK else {
            throw IngestError.decompression(path: path, reason: "bad gzip member")
          }
          continue
        }
        if status == Z_BUF_ERROR && stream.avail_in == 0 {
          throw IngestError.decompression(path: path, reason: "truncated gzip stream")
        }
        guard status == Z_OK || status == Z_BUF_ERROR else {
          let msg = stream.msg.map { String(cString: $0) } ?? "zlib error \(status)"
          throw IngestError.decompression(path: path, reason: msg)
        }
      }
    }
    return out
  }
}
