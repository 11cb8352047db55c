/// The slots of one llama.cpp server, handed out one request at a time so that a
/// slot's KV state is known while a request uses it.
///
/// Each slot remembers the prefix it last held (as longctx put it there). `acquire`
/// prefers a free slot that already holds the wanted prefix (the server then reuses it
/// without a restore); when a busy slot is computing or using that prefix, it waits for
/// that slot rather than compute the prefix again in another one; else it takes an empty
/// slot, then the least recently used.
actor SlotPool {
  /// Free slots, least recently released first.
  private var free: [Int]
  private var holding: [Int: String] = [:]
  /// The prefix each busy slot was handed out for: what it will hold when released.
  private var filling: [Int: String] = [:]
  private var waiters: [(key: String?, continuation: CheckedContinuation<Int, Never>)] = []

  /// Callers waiting for a slot (for tests).
  var waiting: Int { waiters.count }

  /// A pool of slots `0..<count`.
  init(count: Int) { free = Array(0..<max(1, count)) }

  /// Waits for a free slot.
  ///
  /// - Parameter key: The prefix the caller wants; a slot holding it is preferred, and a
  ///   busy slot filling it is waited for.
  /// - Returns: The slot and whether it already holds `key`.
  func acquire(preferring key: String?) async -> (slot: Int, holds: Bool) {
    let index = free.firstIndex { key != nil && holding[$0] == key }
    if !free.isEmpty, index != nil || !isFilled(key) {
      let slot = free.remove(at: index ?? free.firstIndex { holding[$0] == nil } ?? 0)
      filling[slot] = key
      return (slot, key != nil && holding[slot] == key)
    }
    let slot = await withCheckedContinuation { waiters.append((key, $0)) }
    filling[slot] = key
    return (slot, key != nil && holding[slot] == key)
  }

  /// Gives `slot` back.
  ///
  /// - Parameter key: The prefix the slot now holds, or nil when unknown.
  func release(_ slot: Int, holding key: String?) {
    holding[slot] = key
    filling[slot] = nil
    // A waiter for the prefix this slot holds goes first; then one whose prefix no busy
    // slot is filling (a waiter for a prefix being filled keeps waiting for that slot).
    let index = waiters.firstIndex { $0.key != nil && $0.key == key } ?? waiters.firstIndex { !isFilled($0.key) }
    guard let index else {
      free.append(slot)
      return
    }
    waiters.remove(at: index).continuation.resume(returning: slot)
  }

  /// Whether a busy slot was handed out for `key`.
  private func isFilled(_ key: String?) -> Bool {
    guard let key else { return false }
    return filling.values.contains(key)
  }
}
