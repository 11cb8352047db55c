import Foundation
import Inference
import Pipeline
import Storage

/// A fast, deterministic engine for tests where the engine is not the subject.
///
/// Its output names the request's first locator-like line and a hash of the
/// prompt, so outputs change exactly when prompts change.
public final class FakeEngine: Engine, @unchecked Sendable {
  public let name = "fake"
  public let modelIdentity = "fake-model"
  private let lock = NSLock()
  private var _calls = 0
  private var _prompts: [String] = []
  /// Errors to throw on the next calls, in order.
  public var script: [EngineError] = []

  public init(script: [EngineError] = []) { self.script = script }

  /// How many times `generate` was called.
  public var calls: Int { lock.withLock { _calls } }
  /// Every prompt received (prefix + suffix), in order.
  public var prompts: [String] { lock.withLock { _prompts } }

  public func generate(_ request: GenerationRequest) async throws -> GenerationResult {
    let scripted: EngineError? = lock.withLock {
      _calls += 1
      _prompts.append(request.prefix + request.suffix)
      return script.isEmpty ? nil : script.removeFirst()
    }
    if let scripted { throw scripted }
    let prompt = request.prefix + request.suffix
    let h = Hashing.FNV1a.hash(prompt.utf8)
    let firstSource = prompt.split(separator: "\n").first { $0.hasPrefix("[") && $0.contains("#") } ?? "[none]"
    return GenerationResult(
      text: "summary \(String(h, radix: 16)) of \(firstSource)", promptTokens: prompt.utf8.count / 4, outputTokens: 8)
  }
}
