import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// An advisory `flock` lock on a file; released when the process exits,
/// even by kill -9, so a stale lock never blocks the next cron run.
public final class FileLock: @unchecked Sendable {
  private let fd: Int32
  /// The lock file.
  public let path: String

  /// Takes the lock at `path` without waiting.
  ///
  /// - Throws: `WorkspaceError.locked` naming the holder when another process has it.
  public init(path: String) throws {
    self.path = path
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
    guard fd >= 0 else {
      throw WorkspaceError.cannotCreate(path: path, reason: String(cString: strerror(errno)))
    }
    if flock(fd, LOCK_EX | LOCK_NB) != 0 {
      let holder =
        (try? String(contentsOfFile: path, encoding: .utf8))?
        .trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown"
      close(fd)
      throw WorkspaceError.locked(path: path, holder: holder.isEmpty ? "unknown" : holder)
    }
    let note = "pid \(getpid()) since \(ISO8601DateFormatter().string(from: Date()))\n"
    _ = ftruncate(fd, 0)
    _ = note.withCString { pwrite(fd, $0, strlen($0), 0) }
  }

  deinit {
    _ = ftruncate(fd, 0)
    flock(fd, LOCK_UN)
    close(fd)
  }
}
