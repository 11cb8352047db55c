internal import CLlama
import Foundation
import Inference
import Storage

/// Sequence states larger than `LlamaEngineOptions.inMemoryStateBytes` never
/// sit in memory whole: they go through a raw file on the store's file
/// system. llama.cpp's `llama_state_seq_save_file` / `load_file` copy one
/// tensor (one layer's K or V rows of the sequence's cells) at a time
/// through a buffer of that size (`llama_io_write_file` / `llama_io_read_file`),
/// and the checkpoint codec reads and writes the raw file frame by frame, so
/// the peak is one tensor plus a few frames.
///
/// The raw file is llama.cpp's: magic `ggsq`, version, token count, tokens,
/// then the state as `llama_state_seq_get_data` writes it minus its first 8
/// bytes (the io magic and the source sequence id). Checkpoints always hold
/// the `get_data` form, so both paths read each other's checkpoints: the 8
/// bytes are put in front when saving from a file and checked and dropped
/// when restoring into one.
struct StagedState {
  static let fileMagic = UInt32(LLAMA_STATE_SEQ_MAGIC)
  static let fileVersion = UInt32(LLAMA_STATE_SEQ_VERSION)
  /// `llama_state_seq_get_data`'s first word (`io_magic` in llama-context.cpp).
  static let ioMagic: UInt32 = 0xAF14_3CD8

  let url: URL
  /// Bytes before the state: magic, version, token count, tokens.
  let headerBytes: Int
  /// The state in `get_data` form: 8 bytes more than the file holds after the header.
  let rawSize: Int
  /// The sequence id written into the 8-byte prefix.
  let seq: Int32

  /// A fresh temporary file name in `directory` (hidden, `.tmp`: the store's
  /// `gc` removes strays an hour old).
  static func temporaryURL(in directory: URL) -> URL {
    directory.appendingPathComponent(".staged-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).raw.tmp")
  }

  /// The `get_data` prefix for `seq`.
  static func prefix(seq: Int32) -> [UInt8] {
    let words = [ioMagic, UInt32(bitPattern: seq)]
    return words.flatMap { w in (0..<4).map { UInt8(truncatingIfNeeded: w >> (8 * $0)) } }
  }

  /// llama.cpp's file header for `tokens`.
  static func fileHeader(tokens: [Int32]) -> Data {
    var data = Data(capacity: 12 + 4 * tokens.count)
    for w in [fileMagic, fileVersion, UInt32(tokens.count)] + tokens.map({ UInt32(bitPattern: $0) }) {
      for i in 0..<4 { data.append(UInt8(truncatingIfNeeded: w >> (8 * UInt32(i)))) }
    }
    return data
  }

  /// Reads `count` bytes of the state (`get_data` form) at `offset` into `dst`.
  func read(_ fd: Int32, at offset: Int, into dst: UnsafeMutableRawBufferPointer) throws {
    var done = 0
    let prefix = Self.prefix(seq: seq)
    while done < dst.count && offset + done < 8 {
      dst[done] = prefix[offset + done]
      done += 1
    }
    while done < dst.count {
      let n = pread(fd, dst.baseAddress! + done, dst.count - done, off_t(headerBytes + offset + done - 8))
      if n < 0 && errno == EINTR { continue }
      guard n > 0 else {
        throw CocoaError(.fileReadUnknown, userInfo: [NSFilePathErrorKey: url.path])
      }
      done += n
    }
  }

  /// The state's layout, parsed from the file through a 1 MiB window (the
  /// parser reads small fields, and skips tensors without reading them).
  func layout(_ fd: Int32) -> [KVCodec.Segment] {
    let window = 1 << 20
    var start = -1
    var buffer = [UInt8](repeating: 0, count: window)
    var filled = 0
    return KVCodec.layout(size: rawSize) { offset, count in
      let end = min(rawSize, offset + count)
      guard offset < end else { return [] }
      if start < 0 || offset < start || end > start + filled {
        start = offset
        filled = min(window, rawSize - offset)
        let ok = buffer.withUnsafeMutableBytes { b in
          (try? read(fd, at: offset, into: UnsafeMutableRawBufferPointer(rebasing: b[0..<filled]))) != nil
        }
        if !ok { filled = 0 }
      }
      guard end <= start + filled else { return [] }
      return Array(buffer[(offset - start)..<(end - start)])
    }
  }
}

extension LlamaEngine {
  /// Where raw state files go: beside the checkpoints (same file system,
  /// so nothing crosses a tmpfs into memory), else the system's temporary directory.
  var stagingDirectory: URL {
    checkpoints?.directory ?? FileManager.default.temporaryDirectory
  }

  /// Writes sequence `seq` (holding `tokens`) to a raw file; the caller holds
  /// `contextLock` and removes the file.
  func stageState(seq: Int32, tokens: [Int32]) throws -> StagedState {
    let dir = stagingDirectory
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let url = StagedState.temporaryURL(in: dir)
    let size = llama_state_seq_get_size(context, seq)
    let written = tokens.withUnsafeBufferPointer {
      llama_state_seq_save_file(context, url.path, seq, $0.baseAddress, tokens.count)
    }
    let header = 12 + 4 * tokens.count
    guard size >= 8, written == header + size - 8 else {
      try? FileManager.default.removeItem(at: url)
      throw LlamaBackendError.stateFileFailed(path: url.path)
    }
    return StagedState(url: url, headerBytes: header, rawSize: size, seq: seq)
  }

  /// Replaces sequence `seq` with a raw state file holding `tokens`; false
  /// (and an empty sequence) when llama.cpp refuses it. The caller holds `contextLock`.
  func loadStaged(_ url: URL, tokens: Int, seq: Int32) -> Bool {
    let memory = llama_get_memory(context)
    llama_memory_seq_rm(memory, seq, -1, -1)
    var out = [Int32](repeating: 0, count: max(1, tokens))
    var count = 0
    let read = out.withUnsafeMutableBufferPointer {
      llama_state_seq_load_file(context, url.path, seq, $0.baseAddress, tokens, &count)
    }
    guard read > 0, count == tokens, llama_memory_seq_pos_max(memory, seq) == Int32(tokens - 1) else {
      llama_memory_seq_rm(memory, seq, -1, -1)
      return false
    }
    return true
  }

  /// Saves sequence `seq` (holding exactly `tokens`) as a checkpoint unless
  /// stored, then re-loads it into the sequence (see the scheduler's prefill:
  /// a re-loaded cache continues exactly like a restored one). Large states
  /// go through a raw file, small ones through memory.
  ///
  /// - Returns: false when llama.cpp refused the re-load (the sequence is then empty).
  func saveAndReload(_ tokens: [Int32], seq: Int32) -> Bool {
    let size = llama_state_seq_get_size(context, seq)
    if size <= options.inMemoryStateBytes {
      let state = readState(seq: seq)
      saveCheckpoint(tokens, state: state)
      return writeState(state, tokens: tokens.count, seq: seq)
    }
    let staged: StagedState
    do {
      staged = try stageState(seq: seq, tokens: tokens)
    } catch {
      logger.warning(
        "cannot stage the KV state in a file; copying it in memory", metadata: ["kv.error": "\(error)"])
      let state = readState(seq: seq)
      saveCheckpoint(tokens, state: state)
      return writeState(state, tokens: tokens.count, seq: seq)
    }
    defer { try? FileManager.default.removeItem(at: staged.url) }
    if let store = checkpoints, tokens.count >= options.checkpointMinTokens,
      !store.contains(model: checkpointIdentity, tokens: tokens)
    {
      do {
        let handle = try FileHandle(forReadingFrom: staged.url)
        defer { try? handle.close() }
        let fd = handle.fileDescriptor
        if store.formatVersion >= 3,
          try store.saveDelta(
            model: checkpointIdentity, tokens: tokens, rawSize: staged.rawSize,
            read: { offset, dst in try staged.read(fd, at: offset, into: dst) }) != nil
        {
          return loadStaged(staged.url, tokens: tokens.count, seq: seq)
        }
        var at = 0
        try store.save(
          model: checkpointIdentity, tokens: tokens, rawSize: staged.rawSize, layout: staged.layout(fd)
        ) { dst in
          try staged.read(fd, at: at, into: dst)
          at += dst.count
        }
      } catch {
        logger.warning("cannot save a KV checkpoint", metadata: ["kv.error": "\(error)"])
      }
    }
    return loadStaged(staged.url, tokens: tokens.count, seq: seq)
  }

  /// Restores `candidate` into sequence `seq` through a raw file, streaming
  /// the checkpoint frame by frame. The caller holds `contextLock`.
  ///
  /// - Returns: nil when the checkpoint was gone or corrupt (try the next),
  ///   else whether llama.cpp accepted it.
  func restoreStaged(_ candidate: CheckpointEntry, prompt: [Int32], seq: Int32) -> Bool? {
    guard let store = checkpoints else { return nil }
    let url = StagedState.temporaryURL(in: stagingDirectory)
    defer { try? FileManager.default.removeItem(at: url) }
    let tokens = Array(prompt.prefix(candidate.tokens))
    if store.isDelta(candidate) {
      return restoreDeltaStaged(candidate, tokens: tokens, to: url, seq: seq)
    }
    do {
      guard FileManager.default.createFile(atPath: url.path, contents: StagedState.fileHeader(tokens: tokens)) else {
        throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
      }
      let handle = try FileHandle(forWritingTo: url)
      defer { try? handle.close() }
      _ = try handle.seekToEnd()
      var skipped = 0
      struct NotConvertible: Error {}
      let ok = try store.stream(candidate) { piece in
        var piece = piece
        if skipped < 8 {
          // The `get_data` prefix: the io magic, then a sequence id (any).
          let n = min(8 - skipped, piece.count)
          let expected = StagedState.prefix(seq: 0)
          for i in 0..<n where skipped + i < 4 && piece[piece.startIndex + i] != expected[skipped + i] {
            throw NotConvertible()
          }
          skipped += n
          piece = piece.dropFirst(n)
        }
        try handle.write(contentsOf: piece)
      }
      guard ok else { return nil }
      try handle.close()
    } catch {
      logger.warning(
        "cannot restore a KV checkpoint through a file; recomputing the prefix",
        metadata: ["kv.path": "\(candidate.path)", "kv.error": "\(error)"])
      return false
    }
    return loadStaged(url, tokens: candidate.tokens, seq: seq)
  }
}

extension LlamaEngine {
  /// Restores a prefix-delta checkpoint through the raw file `url`: the
  /// pieces are written where they belong in the file as the chunks are
  /// decoded, a core's worth of chunks at a time. The caller holds `contextLock`.
  ///
  /// - Returns: nil when the checkpoint was gone or corrupt (try the next),
  ///   else whether llama.cpp accepted it.
  func restoreDeltaStaged(_ candidate: CheckpointEntry, tokens: [Int32], to url: URL, seq: Int32) -> Bool? {
    guard let store = checkpoints else { return nil }
    let header = StagedState.fileHeader(tokens: tokens)
    struct NotConvertible: Error {}
    do {
      guard FileManager.default.createFile(atPath: url.path, contents: header) else {
        throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
      }
      let handle = try FileHandle(forWritingTo: url)
      defer { try? handle.close() }
      let fd = handle.fileDescriptor
      let expected = StagedState.prefix(seq: 0)
      let ok = try store.assemble(candidate) { offset, bytes in
        var offset = offset
        var bytes = bytes
        if offset < 8 {
          // The `get_data` prefix: the io magic (checked), then a sequence id (dropped).
          let n = min(8 - offset, bytes.count)
          for i in 0..<n where offset + i < 4 && bytes[i] != expected[offset + i] { throw NotConvertible() }
          bytes = UnsafeRawBufferPointer(rebasing: bytes[n...])
          offset += n
        }
        var done = 0
        while done < bytes.count {
          let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(header.count + offset - 8 + done))
          if n < 0 && errno == EINTR { continue }
          guard n > 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path]) }
          done += n
        }
      }
      guard ok else { return nil }
      try handle.close()
    } catch {
      logger.warning(
        "cannot restore a KV checkpoint through a file; recomputing the prefix",
        metadata: ["kv.path": "\(candidate.path)", "kv.error": "\(error)"])
      return false
    }
    return loadStaged(url, tokens: candidate.tokens, seq: seq)
  }
}

extension LlamaEngine {
  /// Sequence 0's state (holding `tokens`) as read back from a raw state
  /// file, in `get_data` form (for tests: it must equal `getState()`).
  package func getStateThroughFile(tokens: [Int32]) throws -> Data {
    try contextLock.withLock {
      let staged = try stageState(seq: 0, tokens: tokens)
      defer { try? FileManager.default.removeItem(at: staged.url) }
      let handle = try FileHandle(forReadingFrom: staged.url)
      defer { try? handle.close() }
      var data = Data(count: staged.rawSize)
      try data.withUnsafeMutableBytes { try staged.read(handle.fileDescriptor, at: 0, into: $0) }
      return data
    }
  }
}

extension LlamaEngine {
  /// Saves sequence 0 (holding `tokens`) as a checkpoint and re-loads it,
  /// as a request's prefill does (for benchmarks, between requests).
  package func saveCheckpointNow(_ tokens: [Int32]) -> Bool {
    contextLock.withLock { saveAndReload(tokens, seq: 0) }
  }

  /// Empties sequence 0 and restores the longest stored prefix of `prompt`
  /// into it, as a request does (for benchmarks, between requests).
  ///
  /// - Returns: The tokens now in the cache.
  package func restoreNow(_ prompt: [Int32]) -> Int {
    contextLock.withLock {
      llama_memory_seq_rm(llama_get_memory(context), 0, -1, -1)
      return restoreLongestPrefix(of: prompt, seq: 0)
    }
  }
}

extension LlamaEngine {
  /// Prefills `tokens` into sequence 0 as a request's prefix is prefilled:
  /// restores the longest stored prefix, decodes the rest, and saves the
  /// checkpoint (for benchmarks and tests, between requests).
  ///
  /// - Returns: The tokens restored rather than decoded.
  package func prefillPrefixNow(_ tokens: [Int32]) throws -> Int {
    try contextLock.withLock {
      llama_memory_seq_rm(llama_get_memory(context), 0, -1, -1)
      let restored = restoreLongestPrefix(of: tokens, seq: 0)
      try decode(Array(tokens[restored...]), seq: 0, startingAt: restored, logitsForLast: true)
      guard saveAndReload(tokens, seq: 0) else { throw LlamaBackendError.stateFileFailed(path: "sequence 0") }
      return restored
    }
  }
}
