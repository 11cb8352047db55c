import Foundation
import GRDB
import Segmenter
import Storage

/// Persists plans: the windows go to a blob, the figures to `plan`.
public struct PlanStore: Sendable {
  let workspace: Workspace

  public init(workspace: Workspace) { self.workspace = workspace }

  /// Saves `plan` for `job` (idempotent: a plan's id is its content).
  public func save(_ plan: Plan, job: String) throws {
    let blob = try workspace.blobs.put(try JSONEncoder().encode(plan))
    let summary: [String: Double] = [
      "windows": Double(plan.windows.count), "tokens": Double(plan.totalTokens), "meanFill": plan.meanFill,
    ]
    let summaryJSON = String(decoding: try JSONEncoder().encode(summary), as: UTF8.self)
    try workspace.db.write { db in
      try db.execute(
        sql: """
          INSERT INTO plan (id, job, budget, vocabulary, windowsBlob, summary, createdAt) VALUES (?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT(id) DO NOTHING
          """,
        arguments: [plan.id, job, plan.budget, plan.vocabulary, blob, summaryJSON, Date().timeIntervalSince1970])
    }
  }

  /// The latest plan of `job`.
  public func latest(job: String) throws -> Plan? {
    let blob = try workspace.db.read { db in
      try String.fetchOne(
        db, sql: "SELECT windowsBlob FROM plan WHERE job = ? ORDER BY createdAt DESC LIMIT 1", arguments: [job])
    }
    guard let blob else { return nil }
    return try JSONDecoder().decode(Plan.self, from: try workspace.blobs.get(blob))
  }
}
