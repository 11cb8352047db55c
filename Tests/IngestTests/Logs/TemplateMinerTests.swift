import Foundation
import Testing
import _LongctxTestSupport

@testable import Ingest

@Suite struct TemplateMinerTests {
  /// Grouping Accuracy on every loghub 2k dataset of the shared corpus, whole
  /// lines as ingest sees them (header found by LogHeader), one configuration.
  /// Floors sit just under the figures in BENCHMARKS.md.
  @Test(.enabled(if: RepositoryPaths.sharedCorpus != nil, "the shared corpus (../shared/corpus) is absent"))
  func loghubGroupingAccuracy() throws {
    let root = RepositoryPaths.sharedCorpus!.appendingPathComponent("logs/loghub")
    let floors: [String: Double] = [
      "HPC": 0.97, "Hadoop": 0.98, "HealthApp": 0.99, "Mac": 0.95, "OpenStack": 0.99, "Proxifier": 0.98,
      "Windows": 0.99,
    ]
    var gas: [Double] = []
    var pas: [Double] = []
    for name in try FileManager.default.contentsOfDirectory(atPath: root.path).sorted() {
      guard let d = try TemplateEvaluation.loadLoghub(root.appendingPathComponent(name)) else { continue }
      let run = LogTemplateMining.mine(lines: d.lines, referenceDate: Date(timeIntervalSince1970: 1_700_000_000))
      let ga = TemplateEvaluation.groupingAccuracy(predicted: run.ids, truth: d.eventIDs)
      let pa = TemplateEvaluation.parsingAccuracy(
        predicted: run.ids.map { run.miner.template($0).text }, truth: d.templates)
      print("\(name): GA \(ga) PA \(pa) templates \(run.miner.templateCount) events \(Set(d.eventIDs).count)")
      #expect(ga >= floors[name] ?? 0.9, "\(name) GA \(ga)")
      gas.append(ga)
      pas.append(pa)
    }
    #expect(gas.count == 7, "loghub datasets found: \(gas.count)")
    let mean = gas.reduce(0, +) / Double(gas.count)
    #expect(mean >= 0.98, "mean GA \(mean)")
    #expect(pas.reduce(0, +) / Double(pas.count) >= 0.6)
  }

  /// Grouping Accuracy itself, on a hand-made case: a split and a merge are both wrong.
  @Test func groupingAccuracyDefinition() {
    let truth = ["A", "A", "B", "B", "C"]
    #expect(TemplateEvaluation.groupingAccuracy(predicted: [1, 1, 2, 2, 3], truth: truth) == 1)
    #expect(TemplateEvaluation.groupingAccuracy(predicted: [1, 2, 3, 3, 4], truth: truth) == 0.6)
    #expect(TemplateEvaluation.groupingAccuracy(predicted: [1, 1, 2, 2, 2], truth: truth) == 0.4)
    #expect(TemplateEvaluation.parsingAccuracy(predicted: ["a <*> <*> b", "x"], truth: ["a <*> b", "y"]) == 0.5)
  }

  /// Numbers, ids, addresses and paths are masked before mining; a run of variables is one `<*>`.
  @Test func masking() {
    #expect(TemplateMiner.masked("Took 12.5 seconds to spawn 0x1f3a") == "Took <*> to spawn <*>")
    #expect(TemplateMiner.masked("connect 10.0.0.1:8080 /var/log/x.log (HWID=1973)") == "connect <*> (HWID=<*>)")
    #expect(TemplateMiner.masked("lifetime <1 sec, 0 bytes (0 KB) sent") == "lifetime <*> sent")
    #expect(TemplateMiner.masked("onExtend:1514038530000 14 0 4") == "onExtend:<*> <*>")
    #expect(TemplateMiner.masked("using SOCKS5 over IPv4") == "using SOCKS5 over IPv4")
    #expect(
      TemplateMiner.masked("[instance: b9000564-fe1a-409b-b8cc-1e88b294cd1d] VM Started")
        == "[instance: <*>] VM Started")
  }

  /// A constant that turns out to vary generalises to `<*>` and the template
  /// keeps the id the first of its lines got; a constant with few values
  /// (Started / Stopped) stays a constant and its templates stay apart.
  @Test func stableIdsWhenGeneralising() {
    var miner = TemplateMiner()
    let users = ["alice", "bob", "carol", "dave", "erin", "frank", "grace"]
    let ids = users.map { miner.add("session opened for user \($0) by sshd") }
    #expect(Set(ids.prefix(4)).count == 4, "four values are not yet a variable")
    #expect(Set(ids.map(miner.resolve)) == [ids[0]], "ids \(ids) resolve to the first")
    #expect(miner.template(ids[0]).text == "session opened for user <*> by sshd")
    #expect(miner.templateCount == 1)
    let started = miner.add("VM Started (Lifecycle Event)")
    let stopped = miner.add("VM Stopped (Lifecycle Event)")
    #expect(started != stopped)
    #expect(miner.add("VM Started (Lifecycle Event)") == started)
    // Masked numbers never split a template.
    let a = miner.add("request 17 took 4 ms")
    #expect(miner.add("request 90321 took 1200 ms") == a)
  }

  /// Memory is bounded by the template cap, not by the number of distinct lines.
  @Test func boundedTemplates() {
    var miner = TemplateMiner(maxTemplates: 500)
    var rng = SystemRandomNumberGenerator()
    let words = (0..<5000).map { _ in
      String((0..<8).map { _ in "abcdefghijklmnopqrstuvwxyz".randomElement(using: &rng)! })
    }
    for i in 0..<20_000 {
      _ = miner.add("\(words[i % 5000]) \(words[(i * 7) % 5000]) \(words[(i * 13) % 5000])")
    }
    #expect(miner.saturated)
    #expect(miner.templateCount <= 501)
  }

  /// A 1 MB line, binary junk and invalid UTF-8 are mined like any line; a JSON
  /// line without a message field is mined whole; nothing is dropped.
  @Test func badInput() {
    var junk = [UInt8]()
    var rng = SystemRandomNumberGenerator()
    for _ in 0..<4096 { junk.append(UInt8.random(in: 0...255, using: &rng)) }
    let lines = [
      #"{"time":"2026-03-09T02:54:06Z","level":"info","msg":"started worker 3"}"#,
      #"{"time":"2026-03-09T02:54:07Z","level":"info","detail":"no message field here"}"#,
      String(repeating: "word\(7) ", count: 200_000),
      String(decoding: junk, as: UTF8.self),
      String(decoding: [0x66, 0x6F, 0xFF, 0xFE, 0x20, 0x31], as: UTF8.self),
      #"{"time":"2026-03-09T02:54:08Z","level":"info","msg":"started worker 12"}"#,
    ]
    let run = LogTemplateMining.mine(lines: lines, referenceDate: Date())
    #expect(run.layout == .jsonLines)
    #expect(run.ids.count == lines.count)
    #expect(run.ids[0] == run.ids[5], "the two 'started worker' messages share a template")
    #expect(run.miner.template(run.ids[1]).text.contains("no message field"))
    #expect(run.miner.template(run.ids[2]).tokens.count == 200_000, "a 1.2 MB line of 200,000 words")
  }

  /// A copied miner is independent of the original (the tree is a value too).
  @Test func copiesAreIndependent() {
    var a = TemplateMiner()
    _ = a.add("disk sda full")
    var b = a
    let inB = b.add("fan 2 stopped")
    #expect(b.templateCount == 2)
    #expect(a.templateCount == 1)
    let inA = a.add("cpu hot")
    #expect(inA == inB, "both copies hand out the next id on their own")
    #expect(a.template(inA).text == "cpu hot")
    #expect(b.template(inB).text == "fan <*> stopped")
  }
}
