import Foundation
import Inference
import Storage
import Synchronization

/// The job reached its `budget:`: nothing more was sent; what is done is saved.
public struct BudgetReached: Error, LocalizedError, Sendable, Equatable {
  public var job: String
  /// The limit as the job file gives it, e.g. `$40.0000` or `2000 tokens`.
  public var limit: String
  /// What was spent (settled calls) and reserved (calls in flight) when the next call did not fit.
  public var spent: String
  /// Calls reserved and not settled at that moment (in flight in some process, or lost by a killed one).
  public var inFlight: Int

  public var errorDescription: String? {
    "job \(job) reached its budget of \(limit) (spent \(spent)\(inFlight > 0 ? ", counting \(inFlight) call\(inFlight == 1 ? "" : "s") in flight at \(inFlight == 1 ? "its" : "their") reservation" : "")); no further call was sent. Raise budget: in the job file and run it again to resume: finished tasks are not paid for again."
  }
}

/// Rate limits and budgets around the engine: requests paced per endpoint
/// (`SharedPacer`), calls reserved before and settled after (`CallBudget`), both held
/// in the run's `LimitLedger` (`RunSettings.ledger`, else the workspace's `LimitStore`).
extension JobRunner {
  /// Where this run's limits and budget are held.
  var ledger: any LimitLedger { settings.ledger ?? LimitStore(workspace: workspace) }

  /// `factory`'s engine, paced through `ledger` when it sends requests to servers.
  static func pacing(
    _ factory: @escaping @Sendable () async throws -> any Engine, ledger: any LimitLedger, spec: JobSpec
  ) -> @Sendable () async throws -> any Engine {
    guard spec.model.engine == .openai else { return factory }
    let pacer = SharedPacer(ledger: ledger, limits: spec.limits)
    return {
      let engine = try await factory()
      return (engine as? any PacedEngine)?.paced(by: pacer) ?? engine
    }
  }

  /// Generates `request` for `task` within the job's budget (`CallBudget`).
  ///
  /// - Throws: `BudgetReached` (nothing sent) when the worst case does not fit what is left.
  func generateWithinBudget(_ engine: any Engine, _ request: GenerationRequest, task: TaskRecord) async throws
    -> GenerationResult
  {
    guard let budget = callBudget else { return try await engine.generate(request) }
    return try await budget.generate(engine, request, job: spec.name, task: task.id)
  }

  /// The job's budget, applied by this process; nil when the job has none.
  var callBudget: CallBudget? {
    CallBudget(spec: spec, counter: counter, ledger: ledger, owner: "pid-\(getpid())")
  }
}

/// The first `BudgetReached` of a level: the scheduler starts no task after it and lets
/// the ones in flight finish.
final class BudgetStop: Sendable {
  private let reached = Mutex<BudgetReached?>(nil)

  var error: BudgetReached? { reached.withLock { $0 } }

  func record(_ error: BudgetReached) { reached.withLock { $0 = $0 ?? error } }
}
