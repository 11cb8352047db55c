import Foundation
import Synchronization

/// Lets a long extraction (a scan read page by page) tell the process that
/// isolates it that it is still making progress, so that the file's time
/// limit counts from its last page rather than from its start.
enum ExtractionProgress {
  private static let hook = Mutex<(@Sendable (Int) -> Void)?>(nil)

  /// Installs what `report` calls (an extraction worker writes a progress line).
  static func install(_ report: (@Sendable (Int) -> Void)?) { hook.withLock { $0 = report } }

  /// Says OCR of page `page` (1-based) starts: if the worker dies now, this
  /// page is the one that killed it, and the file is tried again without it.
  static func report(page: Int) { hook.withLock { $0 }?(page) }
}
