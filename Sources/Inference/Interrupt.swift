import Foundation
import Synchronization

/// Process-wide stop request, set by SIGINT/SIGTERM and polled by engines
/// between tokens and by the scheduler between tasks.
public enum Interrupt {
  private static let flag = Atomic<Bool>(false)

  /// Whether a stop was requested.
  public static var isRequested: Bool { flag.load(ordering: .relaxed) }

  /// Requests a stop.
  public static func request() { flag.store(true, ordering: .relaxed) }

  /// Clears the request (tests).
  public static func reset() { flag.store(false, ordering: .relaxed) }
}
