import Foundation
import Testing
import _LongctxTestSupport

@testable import Ingest

/// Issue 31: the miner's second pass (`TemplateMiner.consolidate()`): families of templates equal
/// but at one position, and optional trailing `key=value` fields.
@Suite struct TemplateMinerConsolidateTests {
  /// Templates the tree kept apart by their first token join one that has `<*>` there.
  @Test func joinsTemplateWithVariableAtThatPosition() {
    var miner = TemplateMiner(decorates: true)
    let tail = "error : Could not connect to proxy proxy.cse.cuhk.edu.hk:5070 - Could not resolve proxy.x error 11001"
    let ids = ["223.167.104.147:80", "10.0.0.7:443", "wpad:80", "awqiizxequsixgr:80"].map { miner.add("\($0) \(tail)") }
    #expect(Set(ids.map(miner.resolve)).count == 3)
    #expect(miner.consolidate() == 2)
    #expect(Set(ids.map(miner.resolve)).count == 1)
    #expect(miner.templateCount == 1)
    #expect(miner.template(miner.resolve(ids[2])).count == 4)
    #expect(
      miner.template(miner.resolve(ids[2])).text
        == "<*> error : Could not connect to proxy <*> - Could not resolve proxy.x error <*>")
  }

  /// Three or more values at one position, each seen once, are a variable; values that repeat
  /// (states) stay constants, and the first tokens (which name the event) are never opened.
  @Test func valuesSeenOnceAreVariables() {
    var miner = TemplateMiner()
    let users = ["alice", "bob", "carol"].map { miner.add("job done for user \($0) in queue main") }
    var states: [Int] = []
    for _ in 0..<2 {
      for s in ["RUNNING", "DONE", "FAILED"] { states.append(miner.add("task moved to \(s) now")) }
    }
    let heads = ["alpha", "beta", "gamma"].map { miner.add("\($0) finished its work") }
    miner.consolidate()
    #expect(Set(users.map(miner.resolve)).count == 1)
    #expect(miner.template(miner.resolve(users[0])).text == "job done for user <*> in queue main")
    #expect(Set(states.map(miner.resolve)).count == 3)
    #expect(Set(heads.map(miner.resolve)).count == 3)
  }

  /// `… rhost=<*>` and `… rhost=<*> user=root` are one event.
  @Test func optionalTrailingFields() {
    var miner = TemplateMiner()
    let base = "authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=10.0.0."
    let short = (1...3).map { miner.add("\(base)\($0)") }
    let long = (4...6).map { miner.add("\(base)\($0)  user=root") }
    let other = miner.add("\(base)9 done")
    #expect(miner.resolve(short[0]) != miner.resolve(long[0]))
    miner.consolidate()
    #expect(Set((short + long).map(miner.resolve)).count == 1)
    #expect(miner.resolve(other) != miner.resolve(short[0]))
    #expect(
      miner.template(miner.resolve(long[0])).text
        == "authentication failure; logname= uid=<*> euid=<*> tty=NODEVssh ruser= rhost=<*>")
  }

  /// The second pass's parts can be switched off (for the leave-one-system-out grid): no trailing
  /// fields, or no families.
  @Test func partsSwitchOff() {
    let base = "authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=10.0.0."
    var noFields = TemplateMiner(trailingFields: 0)
    let short = (1...3).map { noFields.add("\(base)\($0)") }
    let long = (4...6).map { noFields.add("\(base)\($0)  user=root") }
    noFields.consolidate()
    #expect(noFields.resolve(short[0]) != noFields.resolve(long[0]))
    var noFamilies = TemplateMiner(mergesFamilies: false)
    let users = ["alice", "bob", "carol"].map { noFamilies.add("job done for user \($0) in queue main") }
    #expect(noFamilies.consolidate() == 0)
    #expect(Set(users.map(noFamilies.resolve)).count == 3)
  }

  /// Leave one system out: each system's configuration is chosen on the others' scores alone.
  @Test func leaveOneOutNeverLooksAtTheHeldOutSystem() {
    // Configuration 1 is best on system 0 alone; 2 is best on systems 1 and 2 together, 0 on 0 and 2.
    let objective: [[Double]] = [
      [0.5, 0.5, 0.9],
      [1.0, 0.1, 0.1],
      [0.1, 0.9, 0.9],
    ]
    #expect(TemplateEvaluation.leaveOneOut(objective: objective) == [2, 0, 1])
    // Ties go to the first configuration (the defaults).
    #expect(TemplateEvaluation.leaveOneOut(objective: [[0.5, 0.5], [0.5, 0.5]]) == [0, 0])
    #expect(TemplateEvaluation.leaveOneOut(objective: []) == [])
  }

  /// Real lines (HPC, Proxifier): every line of these labelled events falls in one group once the
  /// file is mined (the second pass included), and in more than one without it.
  @Test(.enabled(if: RepositoryPaths.sharedCorpus != nil, "the shared corpus (../shared/corpus) is absent"))
  func realEventsAreOneGroup() throws {
    let root = RepositoryPaths.sharedCorpus!.appendingPathComponent("logs/loghub")
    let events = [
      "HPC": "ClusterFileSystem: ServerFileSystem domain <*> is no longer served by node node-<*>",
      "Proxifier": "<*> error : Could not connect to proxy <*> - Could not resolve <*> error <*>",
    ]
    for (name, event) in events.sorted(by: { $0.key < $1.key }) {
      let d = try #require(try TemplateEvaluation.loadLoghub(root.appendingPathComponent(name), labels: .corrected))
      let rows = d.templates.indices.filter { d.templates[$0] == event }
      #expect(rows.count >= 20, "\(name)")
      let run = LogTemplateMining.mine(lines: d.lines, referenceDate: Date(timeIntervalSince1970: 1_700_000_000))
      #expect(Set(rows.map { run.ids[$0] }).count == 1, "\(name)")
      // The group holds those lines only.
      #expect(run.ids.indices.filter { run.ids[$0] == run.ids[rows[0]] } == rows, "\(name)")
      // Streaming alone splits them.
      var miner = TemplateMiner()
      let messages = LogTemplateMining.messages(
        lines: d.lines, referenceDate: Date(timeIntervalSince1970: 1_700_000_000))
      let ids = messages.map { miner.add($0) }
      #expect(Set(rows.map { miner.resolve(ids[$0]) }).count > 1, "\(name)")
    }
  }
}
