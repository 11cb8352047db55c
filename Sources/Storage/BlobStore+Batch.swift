import Foundation

#if canImport(Glibc)
  import Glibc

  /// glibc's `sync_file_range(2)`, which its module map leaves out (it needs `_GNU_SOURCE`).
  @_silgen_name("sync_file_range") private func c_sync_file_range(
    _ fd: Int32, _ offset: Int64, _ count: Int64, _ flags: UInt32
  ) -> Int32
  private let systemWrite = Glibc.write
#else
  import Darwin
  private let systemWrite = Darwin.write
#endif

/// Many small blobs made durable together: each is written to a temporary
/// sibling without its own sync; `commit` starts the write-back of all of them
/// at once, then syncs each (the file system's journal commits them together,
/// so the first sync pays for the rest), renames them into place and syncs
/// their folders — instead of one full `fsync` round trip per blob, which is most
/// of the time of a family of thousands of small members (an archive of notes,
/// a mail store's attachments) or of a batch of small files. Only these files
/// are synced: a `syncfs` of the whole file system also waited for whatever
/// else was being written on it (1.5 s beside a build, measured). The same
/// guarantee as `put`: a crash leaves a blob either absent or whole under its
/// name, and once `commit` returns every blob is durable under its name.
public final class BlobBatch {
  private let store: BlobStore
  private var pending: [(tmp: URL, url: URL)] = []
  private var named = Set<String>()
  /// Compressed bytes written since the last commit (a caller bounds its batches by it).
  public private(set) var pendingBytes = 0
  /// Blobs written since the last commit.
  public var pendingCount: Int { pending.count }

  /// A batch writing into `store`.
  public init(_ store: BlobStore) { self.store = store }

  deinit {
    for (tmp, _) in pending { try? FileManager.default.removeItem(at: tmp) }
  }

  /// Compresses `data` and writes it beside its place, not yet durable; returns its SHA-256, the blob's name.
  ///
  /// - Throws: File-system or compression errors.
  public func put(_ data: Data, level: Int32 = 3) throws -> String {
    let hash = Hashing.sha256(data)
    let url = store.location(of: hash)
    if named.contains(hash) || FileManager.default.fileExists(atPath: url.path) { return hash }
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    let tmp = url.deletingLastPathComponent()
      .appendingPathComponent(".\(url.lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp")
    let compressed = try Zstd.compress(data, level: level)
    try UnsyncedFile.write(compressed, to: tmp)
    pending.append((tmp, url))
    named.insert(hash)
    pendingBytes += compressed.count
    return hash
  }

  /// Makes every blob written since the last commit durable and renames them into place.
  ///
  /// - Throws: File-system errors; blobs not renamed stay absent.
  public func commit() throws {
    guard !pending.isEmpty else { return }
    #if os(Linux)
      // Start every file's write-back first, so the syncs below find their data on its way.
      for (tmp, _) in pending {
        let fd = open(tmp.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { continue }
        _ = c_sync_file_range(fd, 0, 0, 2)  // SYNC_FILE_RANGE_WRITE
        close(fd)
      }
    #endif
    for (tmp, _) in pending { try Self.sync(tmp) }
    var folders = Set<String>()
    for (tmp, url) in pending {
      if rename(tmp.path, url.path) != 0 {
        throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
      }
      folders.insert(url.deletingLastPathComponent().path)
    }
    // The renames themselves: a row that names a blob must never outlive the blob's name.
    for folder in folders.sorted() { try Self.sync(URL(fileURLWithPath: folder, isDirectory: true)) }
    pending.removeAll()
    named.removeAll()
    pendingBytes = 0
  }

  /// `fsync` of a file or folder.
  private static func sync(_ url: URL) throws {
    let fd = open(url.path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw CocoaError(.fileReadUnknown, userInfo: [NSFilePathErrorKey: url.path]) }
    defer { close(fd) }
    guard fsync(fd) == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path]) }
  }
}

/// Writes a file with plain `open`/`write`/`close`: no `fsync` (Foundation's
/// `Data.write(to:)` syncs every file it writes), for files whose durability
/// is someone else's (`BlobBatch.commit`) or of no concern (scratch copies).
public enum UnsyncedFile {
  /// Creates or truncates `url` and writes `data` to it.
  ///
  /// - Throws: `CocoaError` naming the file when it cannot be written whole.
  public static func write(_ data: Data, to url: URL) throws {
    let fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path]) }
    defer { close(fd) }
    try data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in
      var offset = 0
      while offset < buffer.count {
        let n = systemWrite(fd, buffer.baseAddress! + offset, buffer.count - offset)
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path]) }
        offset += n
      }
    }
  }
}
