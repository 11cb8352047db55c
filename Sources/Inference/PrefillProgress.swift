import Foundation

/// How far an engine is in a prompt's prefill: reported between decode batches, so a prefill
/// of tens of thousands of tokens shows its progress.
public struct PrefillUpdate: Sendable, Hashable {
  /// Prompt tokens in the cache so far (restored ones included).
  public var done: Int
  /// The prompt's tokens.
  public var total: Int
  /// Tokens restored from a checkpoint or cache rather than computed.
  public var cached: Int
  /// Seconds since the prefill began.
  public var seconds: Double

  public init(done: Int, total: Int, cached: Int, seconds: Double) {
    self.done = done
    self.total = total
    self.cached = cached
    self.seconds = seconds
  }

  /// Tokens computed per second so far (0 before the first batch).
  public var rate: Double { seconds > 0 ? Double(done - cached) / seconds : 0 }

  /// Seconds left at the rate so far; nil before it is known.
  public var eta: Double? { rate > 0 ? Double(total - done) / rate : nil }
}

/// Where an engine sends prefill progress: the caller of `Engine.generate` binds a receiver
/// for the call (`PrefillProgress.$receiver.withValue(…)`); engines that can report read it
/// when the request arrives.
public enum PrefillProgress {
  /// Receives the progress of the current task's prefill; nil: nobody listens.
  ///
  /// A class, not a closure: Swift 6.3.1's optimizer miscompiles `withValue` of an optional
  /// closure task-local (release builds crash in `swift_task_localValuePush`; reduced to
  /// a dozen lines outside longctx), and a reference type avoids it.
  @TaskLocal public static var receiver: PrefillReceiver?
}

/// The function a caller binds to `PrefillProgress.receiver`.
public final class PrefillReceiver: Sendable {
  /// Called with each update, on the engine's thread.
  public let send: @Sendable (PrefillUpdate) -> Void

  public init(_ send: @escaping @Sendable (PrefillUpdate) -> Void) { self.send = send }
}
