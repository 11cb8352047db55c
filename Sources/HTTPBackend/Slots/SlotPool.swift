/// The slots of one llama.cpp server, handed out one request at a time so that a
/// slot's KV state is known while a request uses it.
///
/// Each slot remembers the prefix it last held (as longctx put it there). `acquire`
/// prefers a free slot that already holds the wanted prefix (the server then reuses it
/// without a restore), then an empty one, then the least recently used.
actor SlotPool {
  /// Free slots, least recently released first.
  private var free: [Int]
  private var holding: [Int: String] = [:]
  private var waiters: [(key: String?, continuation: CheckedContinuation<Int, Never>)] = []

  /// A pool of slots `0..<count`.
  init(count: Int) { free = Array(0..<max(1, count)) }

  /// Waits for a free slot.
  ///
  /// - Parameter key: The prefix the caller wants; a slot holding it is preferred.
  /// - Returns: The slot and whether it already holds `key`.
  func acquire(preferring key: String?) async -> (slot: Int, holds: Bool) {
    if !free.isEmpty {
      let index =
        free.firstIndex { key != nil && holding[$0] == key } ?? free.firstIndex { holding[$0] == nil } ?? 0
      let slot = free.remove(at: index)
      return (slot, key != nil && holding[slot] == key)
    }
    let slot = await withCheckedContinuation { waiters.append((key, $0)) }
    return (slot, key != nil && holding[slot] == key)
  }

  /// Gives `slot` back.
  ///
  /// - Parameter key: The prefix the slot now holds, or nil when unknown.
  func release(_ slot: Int, holding key: String?) {
    holding[slot] = key
    if waiters.isEmpty {
      free.append(slot)
      return
    }
    // A waiter for the prefix this slot holds goes first.
    let index = waiters.firstIndex { $0.key != nil && $0.key == key } ?? 0
    waiters.remove(at: index).continuation.resume(returning: slot)
  }
}
