import Foundation
import GRDB
import Ingest

/// What a task does; stored as its raw value.
public enum TaskKind: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
  /// One window (or one document's window) through the map prompt.
  case map
  /// A level of the reduce tree.
  case reduce
  /// The per-document reduce of a `map.per: document` job.
  case document
  /// An incremental job's rolling summary.
  case rolling
}

/// A map or reduce task and its state, one row of `task`.
public struct TaskRecord: Codable, FetchableRecord, PersistableRecord, Sendable, Hashable {
  public static let databaseTableName = "task"

  public enum State: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
    case pending, leased, done, failed
  }

  /// Hash of (job, kind, level, input hash): the same inputs give the same id.
  public var id: String
  public var job: String
  public var kind: TaskKind
  /// 0 for map, 1… for reduce levels.
  public var level: Int
  public var ordinal: Int
  /// Whether the task belongs to the job's current graph.
  public var current: Bool
  public var state: State
  public var attempts: Int
  /// Hash of everything the output depends on: prompt, model, settings.
  public var inputHash: String
  /// What the task's inputs cover, in order; stored as a JSON array of their citation forms.
  @StoredLocators public var locators: [Locator]
  public var promptTokens: Int?
  public var outputTokens: Int?
  public var output: String?
  public var error: String?
  public var engine: String?
  public var model: String?
  public var leaseOwner: String?
  public var leaseUntil: Double?
  public var startedAt: Double?
  public var finishedAt: Double?
  public var durationMs: Double?

  /// A new pending, current task.
  public init(id: String, job: String, kind: TaskKind, level: Int, ordinal: Int, inputHash: String, locators: [Locator])
  {
    self.id = id
    self.job = job
    self.kind = kind
    self.level = level
    self.ordinal = ordinal
    self.current = true
    self.state = .pending
    self.attempts = 0
    self.inputHash = inputHash
    self.locators = locators
  }

  /// The citation forms of `locators`, as prompts and reports show them.
  public var locatorList: [String] { locators.citations }
}
