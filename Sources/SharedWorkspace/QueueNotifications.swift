import Foundation
import Logging
import Pipeline
import PostgresNIO
import Synchronization

/// LISTEN/NOTIFY for the task queue: a connection that listens on the queue's channels and
/// rings a `Doorbell` per event, so that idle workers wake when tasks become claimable and
/// a coordinator when outcomes arrive, instead of at their next poll. Statements that make
/// tasks claimable or finish them notify in the same statement (delivered at commit).
///
/// Notifications only shorten waits: a waiter still wakes after its timeout (the adaptive
/// poll), so a missed notification (the listener reconnecting after a restart, a lease
/// expiring, which nothing announces) costs at most one poll.
final class QueueNotifications: Sendable {
  /// The channel of each event, as the statements' `pg_notify` calls name it.
  static func channel(_ event: QueueEvent) -> String {
    switch event {
    case .claimable: return "longctx_claimable"
    case .outcome: return "longctx_outcome"
    }
  }

  let database: SharedDatabase
  private let claimable = Doorbell()
  private let outcome = Doorbell()
  private let listener = Mutex<Task<Void, Never>?>(nil)

  init(database: SharedDatabase) { self.database = database }

  private func bell(_ event: QueueEvent) -> Doorbell {
    switch event {
    case .claimable: return claimable
    case .outcome: return outcome
    }
  }

  /// The events rung so far; starts listening on first use.
  func mark(_ event: QueueEvent) -> UInt64 {
    listener.withLock { task in
      if task == nil { task = Task { [self] in await listen() } }
    }
    return bell(event).rings
  }

  /// Waits for an `event` rung after `mark`, at most `timeout` seconds.
  func wait(for event: QueueEvent, after mark: UInt64, timeout: Double) async {
    await bell(event).wait(after: mark, timeout: timeout)
  }

  /// Stops listening.
  func stop() { listener.withLock { $0?.cancel() } }

  /// Listens on both channels on one connection of the pool, again after it is lost.
  private func listen() async {
    var pause = 0.1
    while !Task.isCancelled {
      do {
        try await database.client.withConnection { connection in
          try await connection.listen(on: Self.channel(.claimable)) { tasks in
            try await connection.listen(on: Self.channel(.outcome)) { outcomes in
              database.reachable()
              // Listening from now on: what was notified before may have been missed.
              claimable.ring()
              outcome.ring()
              try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { [claimable] in for try await _ in tasks { claimable.ring() } }
                group.addTask { [outcome] in for try await _ in outcomes { outcome.ring() } }
                try await group.waitForAll()
              }
            }
          }
        }
        pause = 0.1
      } catch let error where !Task.isCancelled {
        // Said once with the calls' own reports (the server is away, or restarting).
        if SharedDatabase.isTransient(error) {
          database.unreachable(error, during: "listening for notifications")
        } else {
          database.logger.debug("queue notifications: \(String(reflecting: error)); listening again in \(pause) s")
        }
      } catch {}
      try? await Task.sleep(nanoseconds: UInt64(pause * 1e9))
      pause = min(pause * 2, 2)
    }
  }
}

/// Wakes the tasks waiting for an event: each `ring` counts one and resumes every waiter;
/// a waiter that saw `mark` rings before its query waits only if none came since.
final class Doorbell: Sendable {
  private enum Entry {
    case waiting(CheckedContinuation<Void, Never>)
    /// Woken (or never parked): the waiter's clean-up removes it.
    case done
    /// The waiter gave up before it parked: parking returns at once.
    case abandoned
  }

  private struct State {
    var rings: UInt64 = 0
    var next = 0
    var entries: [Int: Entry] = [:]
  }

  private let state = Mutex(State())

  var rings: UInt64 { state.withLock { $0.rings } }

  func ring() {
    let waiting = state.withLock { s -> [CheckedContinuation<Void, Never>] in
      s.rings &+= 1
      var woken: [CheckedContinuation<Void, Never>] = []
      for (id, entry) in s.entries {
        if case .waiting(let continuation) = entry {
          woken.append(continuation)
          s.entries[id] = .done
        }
      }
      return woken
    }
    for continuation in waiting { continuation.resume() }
  }

  /// Returns after a ring later than `mark` (at once if one came already), or after `timeout` seconds.
  func wait(after mark: UInt64, timeout: Double) async {
    let id = state.withLock { s -> Int in
      s.next += 1
      return s.next
    }
    await withTaskGroup(of: Void.self) { group in
      group.addTask { await self.park(id, after: mark) }
      group.addTask { try? await Task.sleep(nanoseconds: UInt64(max(0, timeout) * 1e9)) }
      await group.next()
      group.cancelAll()
      unpark(id)
    }
  }

  private func park(_ id: Int, after mark: UInt64) async {
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
      let resumeNow = state.withLock { s -> Bool in
        if case .abandoned = s.entries[id] {
          s.entries[id] = nil
          return true
        }
        if s.rings != mark {
          s.entries[id] = .done
          return true
        }
        s.entries[id] = .waiting(continuation)
        return false
      }
      if resumeNow { continuation.resume() }
    }
  }

  private func unpark(_ id: Int) {
    let continuation = state.withLock { s -> CheckedContinuation<Void, Never>? in
      switch s.entries[id] {
      case .waiting(let continuation):
        s.entries[id] = nil
        return continuation
      case .done:
        s.entries[id] = nil
      case .abandoned, nil:
        s.entries[id] = .abandoned
      }
      return nil
    }
    continuation?.resume()
  }
}
