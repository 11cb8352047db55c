internal import CZstd
import Foundation

/// zstd compression through libzstd. The only file that imports `CZstd`.
package enum Zstd {
  /// Compresses `data` into one zstd frame with a content checksum.
  ///
  /// - Parameters:
  ///   - data: The bytes to compress.
  ///   - level: The zstd level (1 fastest … 19 smallest).
  ///   - threads: Worker threads libzstd may use (0 = single-threaded).
  /// - Returns: The compressed frame.
  /// - Throws: `WorkspaceError.compression` with libzstd's message.
  package static func compress(_ data: Data, level: Int32 = 3, threads: Int32 = 0) throws -> Data {
    guard let cctx = ZSTD_createCCtx() else { throw WorkspaceError.compression("out of memory") }
    defer { ZSTD_freeCCtx(cctx) }
    try check(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level))
    try check(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1))
    if threads > 0 {
      // Fails harmlessly on a libzstd built without multi-threading.
      _ = ZSTD_CCtx_setParameter(cctx, ZSTD_c_nbWorkers, threads)
    }
    let bound = ZSTD_compressBound(data.count)
    var out = Data(count: bound)
    let written = try out.withUnsafeMutableBytes { dst in
      try data.withUnsafeBytes { src in
        try check(ZSTD_compress2(cctx, dst.baseAddress, bound, src.baseAddress, src.count))
      }
    }
    out.count = written
    return out
  }

  /// Decompresses a whole zstd stream (one or more frames), verifying checksums.
  ///
  /// - Parameters:
  ///   - data: The compressed bytes.
  ///   - limit: The most bytes the output may have; past it decompression stops.
  /// - Returns: The decompressed bytes.
  /// - Throws: `WorkspaceError.compression` for corrupt or truncated input,
  ///   `WorkspaceError.decompressionLimit` when the output would exceed `limit`.
  package static func decompress(_ data: Data, limit: Int = .max) throws -> Data {
    var out = Data()
    try decompressStream(data, limit: limit) { out.append($0) }
    return out
  }

  /// Streams the decompressed bytes of `data` to `sink` in pieces.
  package static func decompressStream(
    _ data: Data, limit: Int = .max, sink: (Data) throws -> Void
  ) throws {
    guard let dctx = ZSTD_createDCtx() else { throw WorkspaceError.compression("out of memory") }
    defer { ZSTD_freeDCtx(dctx) }
    let chunkSize = ZSTD_DStreamOutSize()
    var buffer = [UInt8](repeating: 0, count: chunkSize)
    var total = 0
    var hint = 0
    try data.withUnsafeBytes { (src: UnsafeRawBufferPointer) in
      guard src.count > 0 else { return }  // no frames: nothing to decode
      var input = ZSTD_inBuffer(src: src.baseAddress, size: src.count, pos: 0)
      // Call until every frame is decoded and flushed (hint 0 with all input
      // read), or until a call makes no progress. Stopping as soon as the
      // input was consumed lost the last block of highly compressible data:
      // libzstd may still hold it after reading the last input byte.
      while true {
        let before = input.pos
        let produced = try buffer.withUnsafeMutableBytes { dst -> Int in
          var output = ZSTD_outBuffer(dst: dst.baseAddress, size: dst.count, pos: 0)
          hint = try check(ZSTD_decompressStream(dctx, &output, &input))
          return output.pos
        }
        total += produced
        if total > limit { throw WorkspaceError.decompressionLimit(limit: limit) }
        if produced > 0 { try sink(Data(buffer[0..<produced])) }
        if hint == 0 && input.pos == input.size { break }
        if produced == 0 && input.pos == before { break }
      }
    }
    // A non-zero hint means the last frame is incomplete.
    if hint != 0 { throw WorkspaceError.compression("truncated zstd stream") }
  }

  /// Decompresses one zstd frame whose decompressed size is known, into a
  /// buffer allocated once (fast for large KV states).
  ///
  /// - Parameters:
  ///   - data: One compressed frame.
  ///   - size: The exact decompressed size.
  /// - Returns: The decompressed bytes; the frame's checksum is verified.
  /// - Throws: `WorkspaceError.compression` for corrupt or truncated input or
  ///   a size other than `size`.
  package static func decompress(_ data: Data, exactSize size: Int) throws -> Data {
    guard let dctx = ZSTD_createDCtx() else { throw WorkspaceError.compression("out of memory") }
    defer { ZSTD_freeDCtx(dctx) }
    // One spare byte so that a longer-than-declared frame is noticed.
    var out = Data(count: size + 1)
    let written = try out.withUnsafeMutableBytes { dst in
      try data.withUnsafeBytes { src in
        try check(ZSTD_decompressDCtx(dctx, dst.baseAddress, dst.count, src.baseAddress, src.count))
      }
    }
    guard written == size else {
      throw WorkspaceError.compression("decompressed \(written) bytes, expected \(size)")
    }
    out.count = size
    return out
  }

  /// Decompresses one frame into `dst`, which it must fill exactly.
  ///
  /// - Parameters:
  ///   - data: One compressed frame.
  ///   - dst: The caller's buffer (reused across frames: no allocation here).
  /// - Throws: `WorkspaceError.compression` for corrupt or truncated input or
  ///   a size other than `dst.count`.
  package static func decompress(_ data: Data, into dst: UnsafeMutableRawBufferPointer) throws {
    guard let dctx = ZSTD_createDCtx() else { throw WorkspaceError.compression("out of memory") }
    defer { ZSTD_freeDCtx(dctx) }
    // zstd refuses a frame larger than `dst` (dstSize_tooSmall); a smaller one is caught below.
    let written = try data.withUnsafeBytes { src in
      try check(ZSTD_decompressDCtx(dctx, dst.baseAddress, dst.count, src.baseAddress, src.count))
    }
    guard written == dst.count else {
      throw WorkspaceError.compression("decompressed \(written) bytes, expected \(dst.count)")
    }
  }

  /// Compresses `data` and streams the frame (with a content checksum) to
  /// `sink` in pieces, so that the whole compressed frame is never held in memory.
  ///
  /// - Parameters:
  ///   - data: The bytes to compress.
  ///   - level: The zstd level.
  ///   - threads: Worker threads libzstd may use (0 = single-threaded).
  ///   - sink: Receives consecutive pieces of the frame.
  /// - Returns: The compressed size.
  /// - Throws: `WorkspaceError.compression`, or what `sink` throws.
  @discardableResult
  package static func compressStream(
    _ data: Data, level: Int32 = 3, threads: Int32 = 0, sink: (Data) throws -> Void
  ) throws -> Int {
    guard let cctx = ZSTD_createCCtx() else { throw WorkspaceError.compression("out of memory") }
    defer { ZSTD_freeCCtx(cctx) }
    try check(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level))
    try check(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1))
    if threads > 0 { _ = ZSTD_CCtx_setParameter(cctx, ZSTD_c_nbWorkers, threads) }
    _ = ZSTD_CCtx_setPledgedSrcSize(cctx, UInt64(data.count))
    let chunkSize = ZSTD_CStreamOutSize()
    var buffer = [UInt8](repeating: 0, count: chunkSize)
    var total = 0
    try data.withUnsafeBytes { (src: UnsafeRawBufferPointer) in
      var input = ZSTD_inBuffer(src: src.baseAddress, size: src.count, pos: 0)
      var remaining = 1
      while remaining != 0 {
        let produced = try buffer.withUnsafeMutableBytes { dst -> Int in
          var output = ZSTD_outBuffer(dst: dst.baseAddress, size: dst.count, pos: 0)
          remaining = try check(ZSTD_compressStream2(cctx, &output, &input, ZSTD_e_end))
          return output.pos
        }
        total += produced
        if produced > 0 { try sink(Data(buffer[0..<produced])) }
      }
    }
    return total
  }

  /// A compression context and output buffer kept for many frames.
  ///
  /// Creating a context per frame costs its tables (allocated, and zeroed by
  /// the kernel on first touch) every time; a `Compressor` reuses them. Not
  /// thread-safe: one thread at a time (`BlobBuilder` keeps a pool).
  package final class Compressor {
    private let cctx: OpaquePointer
    private var scratch: UnsafeMutableRawPointer?
    private var capacity = 0

    /// - Parameter level: The zstd level.
    /// - Throws: `WorkspaceError.compression` when libzstd cannot make a context.
    package init(level: Int32) throws {
      guard let cctx = ZSTD_createCCtx() else { throw WorkspaceError.compression("out of memory") }
      self.cctx = cctx
      try Zstd.check(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level))
      try Zstd.check(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1))
    }

    deinit {
      ZSTD_freeCCtx(cctx)
      scratch?.deallocate()
    }

    /// Compresses `bytes` into one frame with a content checksum.
    ///
    /// - Throws: `WorkspaceError.compression` with libzstd's message.
    package func compress(_ bytes: UnsafeRawBufferPointer) throws -> Data {
      let bound = ZSTD_compressBound(bytes.count)
      if bound > capacity {
        scratch?.deallocate()
        scratch = UnsafeMutableRawPointer.allocate(byteCount: bound, alignment: 16)
        capacity = bound
      }
      // The parameters stay; only the frame state is reset.
      try Zstd.check(ZSTD_CCtx_reset(cctx, ZSTD_reset_session_only))
      let written = try Zstd.check(ZSTD_compress2(cctx, scratch, bound, bytes.baseAddress, bytes.count))
      return Data(bytes: scratch!, count: written)
    }
  }

  /// The version of the libzstd in use, e.g. "1.5.4".
  package static var version: String { String(cString: ZSTD_versionString()) }

  @discardableResult
  fileprivate static func check(_ code: Int) throws -> Int {
    if ZSTD_isError(code) != 0 {
      throw WorkspaceError.compression(String(cString: ZSTD_getErrorName(code)))
    }
    return code
  }
}
