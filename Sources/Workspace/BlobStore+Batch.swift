import Foundation

#if canImport(Glibc)
  import Glibc

  /// glibc's `syncfs(2)`, which its module map leaves out (it needs `_GNU_SOURCE`).
  @_silgen_name("syncfs") private func c_syncfs(_ fd: Int32) -> Int32
  private let systemWrite = Glibc.write
#else
  import Darwin
  private let systemWrite = Darwin.write
#endif

/// Many small blobs made durable together: each is written to a temporary
/// sibling without its own sync, then one `syncfs` makes them all durable and
/// they are renamed into place — instead of one `fsync` per blob, which is
/// most of the time of a family of thousands of small members (an archive of
/// notes, a mail store's attachments). The same guarantee as `put`: a crash
/// leaves a blob either absent or whole under its name.
public final class BlobBatch {
  private let store: BlobStore
  private var pending: [(tmp: URL, url: URL)] = []
  private var named = Set<String>()

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
    try UnsyncedFile.write(try Zstd.compress(data, level: level), to: tmp)
    pending.append((tmp, url))
    named.insert(hash)
    return hash
  }

  /// Makes every blob written since the last commit durable (one `syncfs` of the
  /// blob store's file system, or an `fsync` per file where that fails) and renames them into place.
  ///
  /// - Throws: File-system errors; blobs not renamed stay absent.
  public func commit() throws {
    guard !pending.isEmpty else { return }
    if !Self.syncFileSystem(of: store.directory) {
      for (tmp, _) in pending {
        let handle = try FileHandle(forWritingTo: tmp)
        try handle.synchronize()
        try handle.close()
      }
    }
    for (tmp, url) in pending where rename(tmp.path, url.path) != 0 {
      throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
    }
    pending.removeAll()
  }

  /// `syncfs` of the file system holding `directory`; false where it cannot be called.
  private static func syncFileSystem(of directory: URL) -> Bool {
    #if os(Linux)
      let fd = open(directory.path, O_RDONLY | O_DIRECTORY)
      guard fd >= 0 else { return false }
      defer { close(fd) }
      return c_syncfs(fd) == 0
    #else
      return false
    #endif
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
