import Foundation
import Storage
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// A file's bytes mapped read-only, with a guard against the file shrinking
/// meanwhile.
///
/// Reading a 256 MB log into memory cost a third of a CPU second of kernel
/// time (copying, and zeroing the fresh pages); mapping the page cache costs
/// almost nothing. But touching a mapped page beyond the end of a file that
/// was truncated after it was mapped (a log rotated with `copytruncate`)
/// raises SIGBUS, which kills the process. So while a `MappedFile` lives,
/// its address range is registered with a SIGBUS handler that maps a page
/// of zeros over the faulting page and marks the file `truncated`; the read
/// goes on with zeros, and the caller must drop what it made of the bytes
/// when `truncated` is set. Faults anywhere else go to the handler that was
/// there before (the Swift runtime's backtracer, or the default action).
///
/// The handler is process-wide, so the library never installs it on its own:
/// the executable calls `MappedFileGuard.install()` at start. Without it,
/// files are read instead of mapped.
final class MappedFile {
  /// The mapped bytes (valid while `self` lives).
  let bytes: UnsafeRawBufferPointer
  private let slot: Int

  /// Maps `fd` (a regular file of `size` bytes, `size` > 0).
  ///
  /// - Returns: `nil` when the guard is not installed, mapping fails or all
  ///   guard slots are taken; read the file instead.
  init?(fd: Int32, size: Int) {
    guard size > 0, MappedFileGuard.isInstalled, let slot = SIGBUSGuard.reserveSlot() else { return nil }
    guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
      SIGBUSGuard.release(slot)
      return nil
    }
    _ = madvise(p, size, MADV_SEQUENTIAL)
    bytes = UnsafeRawBufferPointer(start: p, count: size)
    self.slot = slot
    SIGBUSGuard.register(slot, start: UInt(bitPattern: p), end: UInt(bitPattern: p) + UInt(size))
  }

  deinit {
    SIGBUSGuard.release(slot)
    munmap(UnsafeMutableRawPointer(mutating: bytes.baseAddress), bytes.count)
  }

  /// Whether a page beyond the file's end was touched: the file shrank
  /// after it was mapped, and some of `bytes` read as zeros.
  var truncated: Bool { SIGBUSGuard.wasHit(slot) }
}

/// The SIGBUS handler behind `MappedFile` and its table of mapped ranges.
///
/// The table is a fixed block of words allocated once and never freed, so
/// the handler reads it without locks or allocation (all it may do).
public enum MappedFileGuard {
  /// Installs the process-wide SIGBUS handler that lets ingest map large
  /// files (idempotent). Call it once from the executable, before ingest.
  ///
  /// - Returns: Whether the handler is installed (`sigaction` can fail).
  @discardableResult public static func install() -> Bool { SIGBUSGuard.installed }

  /// Whether `install()` succeeded.
  static var isInstalled: Bool { SIGBUSGuard.active.value.withLock { $0 } }
}

private enum SIGBUSGuard {
  /// Set once the handler is in place. (A `Mutex` held in a class: a
  /// global `static let` Mutex may be laid out in read-only memory by an
  /// optimized build, and locking it then traps.)
  static let active = Locked(false)
  static let slots = 64
  /// Per slot: start, end (0 when free), hit flag.
  nonisolated(unsafe) static let table: UnsafeMutablePointer<UInt> = {
    let p = UnsafeMutablePointer<UInt>.allocate(capacity: slots * 3)
    p.initialize(repeating: 0, count: slots * 3)
    return p
  }()
  nonisolated(unsafe) static var reserved = [Bool](repeating: false, count: slots)
  static let lock = NSLock()
  nonisolated(unsafe) static var previous = sigaction()
  static let pageSize = UInt(sysconf(Int32(_SC_PAGESIZE)))

  /// Installs the handler once; `false` if `sigaction` failed.
  static let installed: Bool = {
    _ = (table, pageSize)  // initialised before the handler can run
    var action = sigaction()
    action.__sigaction_handler.sa_sigaction = { signal, info, context in
      SIGBUSGuard.handle(signal, info, context)
    }
    action.sa_flags = SA_SIGINFO | SA_ONSTACK
    sigemptyset(&action.sa_mask)
    let ok = sigaction(SIGBUS, &action, &previous) == 0
    active.value.withLock { $0 = ok }
    return ok
  }()

  static func reserveSlot() -> Int? {
    lock.withLock {
      guard let i = reserved.firstIndex(of: false) else { return nil }
      reserved[i] = true
      return i
    }
  }

  static func register(_ slot: Int, start: UInt, end: UInt) {
    table[slot * 3 + 2] = 0
    table[slot * 3] = start
    table[slot * 3 + 1] = end
  }

  static func release(_ slot: Int) {
    table[slot * 3 + 1] = 0
    table[slot * 3] = 0
    lock.withLock { reserved[slot] = false }
  }

  static func wasHit(_ slot: Int) -> Bool { table[slot * 3 + 2] != 0 }

  /// Runs in the signal handler: only a table scan, `mmap` and `sigaction`.
  static func handle(_ signal: Int32, _ info: UnsafeMutablePointer<siginfo_t>?, _ context: UnsafeMutableRawPointer?) {
    if let info {
      let address = UInt(bitPattern: info.pointee._sifields._sigfault.si_addr)
      for slot in 0..<slots {
        let start = table[slot * 3]
        let end = table[slot * 3 + 1]
        guard start <= address && address < end else { continue }
        // A page of zeros over the faulting page; the access then succeeds.
        let page = pageSize
        let pageStart = address & ~(page - 1)
        let zero = mmap(
          UnsafeMutableRawPointer(bitPattern: pageStart), Int(page), PROT_READ,
          MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)
        if zero != MAP_FAILED {
          table[slot * 3 + 2] = 1
          return
        }
      }
    }
    // Not ours: the previous handler, or the default action (the fault repeats on return).
    if previous.sa_flags & SA_SIGINFO != 0, let handler = previous.__sigaction_handler.sa_sigaction {
      handler(signal, info, context)
      return
    }
    // SIG_DFL is nil, SIG_IGN is 1.
    if let handler = previous.__sigaction_handler.sa_handler, unsafeBitCast(handler, to: Int.self) != 1 {
      handler(signal)
      return
    }
    var fallback = sigaction()
    fallback.__sigaction_handler.sa_handler = nil  // SIG_DFL
    sigaction(SIGBUS, &fallback, nil)
  }
}
