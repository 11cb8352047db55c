import Foundation
import GRDB
import Storage
import Testing
import _LongctxTestSupport

@testable import Ingest

/// Issue 31, item 4, the workspace's half: the lines a template's refinement shows the model, and
/// the cache of its answers.
@Suite struct LogTemplateRefinementStoreTests {
  /// The lines shown are the message parts (header cut as the miner cut it), distinct, in line
  /// order, from the stored text.
  @Test func samplesAreDistinctMessagesOfTheTemplatesLines() async throws {
    let f = try IngestFixture()
    defer { f.remove() }
    let users = ["alice", "bob", "alice", "carol", "dave", "erin", "frank", "grace"]
    let lines = users.enumerated().map { k, user in
      "Mar  9 02:54:0\(k) host sshd[4\(k)]: session opened for user \(user) by (uid=0)"
    }
    try f.dir.write("a.log", (lines + ["Mar  9 02:55:00 host cron[7]: job started"]).joined(separator: "\n") + "\n")
    _ = try await f.ingest(["a.log"])
    let templates = try LogTemplateStore.templates(f.workspace)
    let session = try #require(templates.first { $0.text.hasPrefix("session opened") }, "\(templates.map(\.text))")
    let cron = try #require(templates.first { $0.text.hasPrefix("job") })
    let samples = try LogTemplateStore.messageSamples(
      f.workspace, paths: nil, templates: [session.id, cron.id], limit: 5)
    #expect(
      samples[session.id]
        == ["alice", "bob", "carol", "dave", "erin"].map { "session opened for user \($0) by (uid=0)" })
    #expect(samples[cron.id] == ["job started"])
    // Another file's path: nothing from a.log.
    #expect(try LogTemplateStore.messageSamples(f.workspace, paths: ["b.log"], templates: [session.id]).isEmpty)
  }

  @Test func answersAreCachedPerScope() throws {
    let f = try IngestFixture()
    defer { f.remove() }
    try LogTemplateStore.saveRefinements(
      f.workspace, scope: "model-a v2", ["disk <*> full": "disk <*> <*>", "Session closed": ""])
    try LogTemplateStore.saveRefinements(f.workspace, scope: "model-b v2", ["disk <*> full": "<*> <*> full"])
    #expect(
      try LogTemplateStore.refinements(f.workspace, scope: "model-a v2") == [
        "disk <*> full": "disk <*> <*>", "Session closed": "",
      ])
    #expect(try LogTemplateStore.refinements(f.workspace, scope: "model-b v2") == ["disk <*> full": "<*> <*> full"])
    // A newer answer replaces the older one.
    try LogTemplateStore.saveRefinements(f.workspace, scope: "model-b v2", ["disk <*> full": "disk <*> full"])
    #expect(try LogTemplateStore.refinements(f.workspace, scope: "model-b v2") == ["disk <*> full": "disk <*> full"])
    #expect(try LogTemplateStore.refinements(f.workspace, scope: "other").isEmpty)
  }
}
