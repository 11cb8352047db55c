internal import CZlib
import Foundation
import Workspace

/// Reads a file's bytes, decompressing `.gz` and `.zst` with a bound on the output.
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

  /// `raw` (the bytes of `path`) decompressed if it is `.zst` or gzip data.
  static func decompress(_ raw: Data, path: String, limit: Int? = nil) throws -> Data {
    let bound = limit ?? defaultLimit(compressedSize: raw.count)
    if path.hasSuffix(".zst") {
      do { return try Zstd.decompress(raw, limit: bound) } catch WorkspaceError.decompressionLimit {
        throw IngestError.decompressionBomb(path: path, limit: bound)
      } catch {
        throw IngestError.decompression(path: path, reason: "\(error.localizedDescription)")
      }
    }
    if raw.starts(with: [0x1f, 0x8b]) { return try gunzip(raw, path: path, limit: bound) }
    return raw
  }

  /// Inflates gzip data (several members allowed) through zlib.
  private static func gunzip(_ data: Data, path: String, limit: Int) throws -> Data {
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
        if out.count > limit { throw IngestError.decompressionBomb(path: path, limit: limit) }
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
