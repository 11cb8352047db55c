import Foundation
import Synchronization

/// Lets a long extraction (a scan read page by page) tell the process that
/// isolates it that it is still making progress, so that the file's time
/// limit counts from its last page rather than from its start.
enum ExtractionProgress {
  private static let hook = Mutex<(@Sendable () -> Void)?>(nil)

  /// Installs what `report` calls (an extraction worker writes a progress line).
  static func install(_ report: (@Sendable () -> Void)?) { hook.withLock { $0 = report } }

  /// Says one unit of work (a page) is done.
  static func report() { hook.withLock { $0 }?() }
}
