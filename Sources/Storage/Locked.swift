import Synchronization

/// A `Mutex` on the heap, for process-wide state (`static let`).
///
/// A `static let` whose initial value is a constant `Mutex` can be laid out
/// by an optimized build in read-only memory, and the first lock then traps
/// ("Unknown error occurred while attempting to acquire a Mutex"); a class
/// instance is always allocated at run time. Instance properties can hold a
/// `Mutex` directly.
package final class Locked<Value: Sendable>: Sendable {
  package let value: Mutex<Value>

  package init(_ initial: Value) { value = Mutex(initial) }
}
