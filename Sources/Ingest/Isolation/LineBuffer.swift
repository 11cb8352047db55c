import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Newline-terminated messages read from a child's output pipe, each waited
/// for at most a time limit (the PDF pool and the extraction children).
struct LineBuffer {
  /// Bytes read past the last whole line.
  private(set) var pending: [UInt8] = []

  /// Why no line came.
  enum End: Error {
    /// The time limit passed (the child was killed).
    case timedOut
    /// The pipe closed: the child ended.
    case closed
  }

  /// The next line from `fd` without its newline, waiting at most `seconds`;
  /// past them `child` is killed and reaped.
  mutating func next(from fd: Int32, within seconds: Double, killing child: Process) -> Result<[UInt8], End> {
    next(from: fd, within: seconds) {
      kill(child.processIdentifier, SIGKILL)
      child.waitUntilExit()
    }
  }

  /// The next line from `fd` without its newline, waiting at most `seconds`;
  /// past them `onTimeout` runs (it ends the writer: a process, a process group).
  mutating func next(from fd: Int32, within seconds: Double, onTimeout: () -> Void) -> Result<[UInt8], End> {
    let deadline = Date().addingTimeInterval(seconds)
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
      if let newline = pending.firstIndex(of: 0x0A) {
        let line = Array(pending[..<newline])
        pending.removeSubrange(...newline)
        return .success(line)
      }
      let left = deadline.timeIntervalSinceNow
      guard left > 0 else {
        onTimeout()
        return .failure(.timedOut)
      }
      var fds = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
      let ready = poll(&fds, 1, Int32(min(left * 1000, 1_000_000)) + 1)
      if ready < 0 && errno == EINTR { continue }
      guard ready > 0 else { continue }
      let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if n < 0 && errno == EINTR { continue }
      guard n > 0 else { return .failure(.closed) }
      pending.append(contentsOf: chunk[0..<n])
    }
  }
}
