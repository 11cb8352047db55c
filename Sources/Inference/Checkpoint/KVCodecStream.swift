import Dispatch
import Foundation
import Storage

/// Version-2 checkpoint files written and read frame by frame, so that a
/// state of any size needs only a few frames in memory (`KVCodec.frameBytes`
/// per core, about three times over).
extension KVCodec {
  /// Writes header and frames to `handle`, pulling the raw state from `source`
  /// in order; then rewrites the header with the frames' tree hash.
  ///
  /// - Parameters:
  ///   - header: The header (its `rawSHA256` is replaced).
  ///   - layout: The state's segments (their lengths sum to `header.rawSize`).
  ///   - maxBytes: Stop with `CheckpointError.stateTooLarge` once the file would exceed it.
  ///   - source: Fills the buffer with the next bytes of the state.
  /// - Returns: The file's size.
  static func write(
    to handle: FileHandle, header: CheckpointHeader, layout: [Segment], level: Int32, maxBytes: Int,
    frameBytes: Int = frameBytes, source: (UnsafeMutableRawBufferPointer) throws -> Void
  ) throws -> Int {
    var header = header
    header.rawSHA256 = Data(count: 32)
    let headerBytes = header.encoded()
    try handle.write(contentsOf: headerBytes)
    var written = headerBytes.count
    var hashes: [Data] = []
    let frames = frames(layout, frameBytes: frameBytes)
    let batch = parallelism
    var next = 0
    while next < frames.count {
      let group = Array(frames[next..<min(frames.count, next + batch)])
      next += group.count
      // Read the group's raw bytes in order, then encode its frames on all cores.
      var reading: [Data] = []
      for pieces in group {
        var raw = Data(count: pieces.reduce(0) { $0 + $1.length })
        try raw.withUnsafeMutableBytes { try source($0) }
        reading.append(raw)
      }
      let raws = reading
      reading = []
      let results = EncodedFrames(count: group.count)
      DispatchQueue.concurrentPerform(iterations: group.count) { i in
        do {
          let frame = try raws[i].withUnsafeBytes { try encodeFrame($0, pieces: group[i], level: level) }
          results.set(i, .success(frame))
        } catch {
          results.set(i, .failure(error))
        }
      }
      for i in 0..<group.count {
        let frame = try results.get(i)
        written += frame.bytes.count
        guard written <= maxBytes else {
          throw CheckpointError.stateTooLarge(bytes: written, limit: maxBytes)
        }
        try handle.write(contentsOf: frame.bytes)
        hashes.append(frame.sha256)
      }
    }
    header.rawSHA256 = treeHash(hashes)
    let final = header.encoded()
    precondition(final.count == headerBytes.count)
    try handle.seek(toOffset: 0)
    try handle.write(contentsOf: final)
    return written
  }

  /// Reads a version-2 file frame by frame, verifying everything before the
  /// first byte reaches `sink`: the frame headers and their tree hash are
  /// checked first (a pass over the headers only), then frames are decoded
  /// on all cores, each checked against its SHA-256, and passed to `sink`
  /// in order.
  ///
  /// - Throws: `CheckpointCorruption`; what `sink` throws. After a throw
  ///   from a frame (a frame corrupted between the two passes), discard what
  ///   `sink` received.
  static func read(
    _ handle: FileHandle, header: CheckpointHeader, payloadOffset: Int, fileSize: Int,
    sink: (Data) throws -> Void
  ) throws {
    // Pass 1: frame headers.
    var frames: [(header: FrameHeader, body: Int)] = []
    var at = payloadOffset
    var out = 0
    while out < header.rawSize {
      guard at + frameFixed <= fileSize else { throw CheckpointCorruption.truncated }
      try handle.seek(toOffset: UInt64(at))
      let fixed = try handle.read(upToCount: frameFixed) ?? Data()
      guard fixed.count == frameFixed else { throw CheckpointCorruption.truncated }
      let count = min(Data(fixed).kvReadLE32(at: 12), 1 << 20)
      let pieces = try handle.read(upToCount: count * pieceBytes) ?? Data()
      let (frame, _) = try frameHeader(fixed + pieces)
      let body = at + frame.headerLength
      guard body + frame.codedLength <= fileSize else { throw CheckpointCorruption.truncated }
      guard frame.rawLength > 0, out + frame.rawLength <= header.rawSize else {
        throw CheckpointCorruption.payload("frame sizes do not add up")
      }
      frames.append((frame, body))
      out += frame.rawLength
      at = body + frame.codedLength
    }
    guard at == fileSize else { throw CheckpointCorruption.payload("bytes after the last frame") }
    guard treeHash(frames.map(\.header.sha256)) == header.rawSHA256 else { throw CheckpointCorruption.stateChecksum }
    // Pass 2: bodies, a core's worth at a time.
    let batch = parallelism
    let scratch = KVScratch()
    var next = 0
    while next < frames.count {
      let group = Array(frames[next..<min(frames.count, next + batch)])
      next += group.count
      var reading: [Data] = []
      for f in group {
        try handle.seek(toOffset: UInt64(f.body))
        let body = try handle.read(upToCount: f.header.codedLength) ?? Data()
        guard body.count == f.header.codedLength else { throw CheckpointCorruption.truncated }
        reading.append(body)
      }
      let bodies = reading
      reading = []
      let outputs = (0..<group.count).map { Data(count: group[$0].header.rawLength) }
      let boxes = outputs.map { DataBox($0) }
      let failure = KVFirstError()
      DispatchQueue.concurrentPerform(iterations: group.count) { i in
        do {
          try boxes[i].data.withUnsafeMutableBytes { dst in
            try decodeFrame(group[i].header, coded: bodies[i], into: dst, scratch: scratch)
          }
        } catch let error as CheckpointCorruption {
          failure.set(error)
        } catch {
          failure.set(.payload("\(error)"))
        }
      }
      if let error = failure.error { throw error }
      for box in boxes { try sink(box.data) }
    }
  }
}

/// One output buffer per worker.
private final class DataBox: @unchecked Sendable {
  var data: Data
  init(_ data: Data) { self.data = data }
}

/// The frames a group's workers produced.
private final class EncodedFrames: @unchecked Sendable {
  private let lock = NSLock()
  private var results: [Result<(bytes: Data, sha256: Data), Error>?]
  init(count: Int) { results = Array(repeating: nil, count: count) }
  func set(_ i: Int, _ r: Result<(bytes: Data, sha256: Data), Error>) { lock.withLock { results[i] = r } }
  func get(_ i: Int) throws -> (bytes: Data, sha256: Data) { try lock.withLock { results[i]! }.get() }
}
