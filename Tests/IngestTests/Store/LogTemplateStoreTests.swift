import Foundation
import GRDB
import Storage
import Testing
import _LongctxTestSupport

@testable import Ingest

/// Templates mined during ingest, stored in the workspace with stable ids.
@Suite struct LogTemplateStoreTests {
  static let referenceDate = Date(timeIntervalSince1970: 1_700_000_000)

  /// The pass ingest runs (over the file's bytes, event-starting lines only)
  /// groups the real loghub logs as well as the miner does on their lines:
  /// same Grouping Accuracy floors, every line accounted for.
  @Test(.enabled(if: RepositoryPaths.sharedCorpus != nil, "the shared corpus (../shared/corpus) is absent"))
  func theIngestPassGroupsLoghubLikeTheMiner() throws {
    let root = RepositoryPaths.sharedCorpus!.appendingPathComponent("logs/loghub")
    var gas: [Double] = []
    for name in try FileManager.default.contentsOfDirectory(atPath: root.path).sorted() {
      let dir = root.appendingPathComponent(name)
      guard let d = try TemplateEvaluation.loadLoghub(dir) else { continue }
      let data = try Data(contentsOf: dir.appendingPathComponent("\(name)_2k.log"))
      let index = data.withUnsafeBytes {
        LogTemplateIndex.mine($0.bindMemory(to: UInt8.self), referenceDate: Self.referenceDate)
      }
      #expect(index.lineTemplates.count == d.lines.count, "\(name)")
      // A line ingest takes for a continuation is its own group here (counted wrong unless alone).
      let predicted = index.lineTemplates.enumerated().map { i, t in t >= 0 ? Int(t) : -1 - i }
      let ga = TemplateEvaluation.groupingAccuracy(predicted: predicted, truth: d.eventIDs)
      gas.append(ga)
      #expect(ga >= 0.95, "\(name) GA \(ga)")
      let events = index.lineTemplates.filter { $0 >= 0 }.count
      #expect(index.templates.reduce(0) { $0 + $1.count } == events, "\(name)")
      for (id, t) in index.templates.enumerated() {
        #expect(index.lineTemplates[t.firstLine - 1] == Int32(id))
        #expect(index.lineTemplates[t.lastLine - 1] == Int32(id))
        #expect(!t.examples.isEmpty && t.examples.count <= 3 && t.examples.first == t.firstLine)
        if let f = t.firstTime, let l = t.lastTime { #expect(f <= l) }
      }
      // Local ids are in order of first line.
      #expect(index.templates.map(\.firstLine) == index.templates.map(\.firstLine).sorted())
    }
    #expect(gas.count == 7)
    #expect(gas.reduce(0, +) / Double(gas.count) >= 0.98, "\(gas)")
  }

  /// A large file is mined in parts at once (each with its own miner, templates
  /// joined by text): on every loghub log cut into 2 and 3 parts (of 700-1000
  /// lines: ingest's parts are at least 16 MB), grouping stays within 0.03 of the
  /// one-pass figure and above the issue's 0.90 floor, every line and count
  /// is accounted for, and event times are the one pass's.
  @Test(.enabled(if: RepositoryPaths.sharedCorpus != nil, "the shared corpus (../shared/corpus) is absent"))
  func partsMinedAtOnceGroupLikeOnePass() throws {
    let root = RepositoryPaths.sharedCorpus!.appendingPathComponent("logs/loghub")
    var checked = 0
    for name in try FileManager.default.contentsOfDirectory(atPath: root.path).sorted() {
      let dir = root.appendingPathComponent(name)
      guard let d = try TemplateEvaluation.loadLoghub(dir) else { continue }
      let data = try Data(contentsOf: dir.appendingPathComponent("\(name)_2k.log"))
      func ga(_ index: LogTemplateIndex) -> Double {
        let predicted = index.lineTemplates.enumerated().map { i, t in t >= 0 ? Int(t) : -1 - i }
        return TemplateEvaluation.groupingAccuracy(predicted: predicted, truth: d.eventIDs)
      }
      let whole = data.withUnsafeBytes {
        LogTemplateIndex.mine($0.bindMemory(to: UInt8.self), referenceDate: Self.referenceDate)
      }
      for parts in [2, 3] {
        let index = data.withUnsafeBytes {
          LogTemplateIndex.mine(
            $0.bindMemory(to: UInt8.self), referenceDate: Self.referenceDate, parts: parts, minPartBytes: 1)
        }
        print(
          "\(name) in \(parts) parts: GA \(ga(index)) (one pass \(ga(whole))), templates \(index.templates.count) (\(whole.templates.count))"
        )
        #expect(index.lineTemplates.count == d.lines.count, "\(name)")
        #expect(index.lineTemplates.map { $0 < 0 } == whole.lineTemplates.map { $0 < 0 }, "\(name)")
        #expect(ga(index) >= max(0.90, ga(whole) - 0.03), "\(name) in \(parts) parts: GA \(ga(index)) vs \(ga(whole))")
        #expect(index.templates.reduce(0) { $0 + $1.count } == whole.templates.reduce(0) { $0 + $1.count })
        #expect(Set(index.templates.map(\.text)).count == index.templates.count, "one entry per text")
        for (id, t) in index.templates.enumerated() {
          #expect(index.lineTemplates[t.firstLine - 1] == Int32(id))
          #expect(index.lineTemplates[t.lastLine - 1] == Int32(id))
          #expect(index.lineTemplates.filter { $0 == Int32(id) }.count == t.count)
        }
        #expect(index.templates.map(\.firstLine) == index.templates.map(\.firstLine).sorted())
        // The same times overall: parts read each header as one pass does.
        #expect(index.templates.compactMap(\.firstTime).min() == whole.templates.compactMap(\.firstTime).min())
        #expect(index.templates.compactMap(\.lastTime).max() == whole.templates.compactMap(\.lastTime).max())
      }
      checked += 1
    }
    #expect(checked == 7)
  }

  /// Syslog headers carry no year: a part takes it from the lines before it. A log
  /// of a year and a month (January to December, then January), whose parts start in
  /// other years, gets the one pass's times in any number of parts.
  @Test func yearlessHeadersGetTheOnePassYearsInParts() {
    let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "Jan"]
    var text = ""
    for (k, m) in months.enumerated() {
      for day in 1...28 {
        text += "\(m) \(day < 10 ? " " : "")\(day) 10:0\(k % 10):00 host sshd[42]: Accepted password for alice\n"
      }
    }
    // Modified in February of the year after the first January.
    let mtime = Date(timeIntervalSince1970: 1_770_000_000)  // 2026-02-02
    let whole = text.withUTF8 { LogTemplateIndex.mine($0, referenceDate: mtime) }
    #expect(whole.layout == LogHeaderLayout.syslog3164.rawValue)
    #expect(whole.templates.count == 1)
    for parts in [2, 3, 5, 8] {
      let index = text.withUTF8 { LogTemplateIndex.mine($0, referenceDate: mtime, parts: parts, minPartBytes: 1) }
      #expect(index == whole, "\(parts) parts")
    }
  }

  /// A part with no year-less header at all (a long dump between syslog lines)
  /// passes the year on: the part after it still gets the one pass's years.
  @Test func aPartWithoutHeadersPassesTheYearOn() {
    let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "Jan", "Feb"]
    var text = ""
    for (k, m) in months.prefix(4).enumerated() {
      for day in 1...28 { text += "\(m) \(day < 10 ? " " : "")\(day) 10:0\(k):00 host cron[7]: job ran\n" }
    }
    // A headerless stretch as long as the rest (continuation-like lines, no syslog header).
    for i in 0..<800 { text += "    dump line \(i) of the core file follows here\n" }
    for (k, m) in months.dropFirst(4).enumerated() {
      for day in 1...28 { text += "\(m) \(day < 10 ? " " : "")\(day) 10:0\(k % 10):00 host cron[7]: job ran\n" }
    }
    let mtime = Date(timeIntervalSince1970: 1_772_500_000)  // 2026-03-03
    let whole = text.withUTF8 { LogTemplateIndex.mine($0, referenceDate: mtime) }
    for parts in [3, 4, 6] {
      let index = text.withUTF8 { LogTemplateIndex.mine($0, referenceDate: mtime, parts: parts, minPartBytes: 1) }
      #expect(index.templates.map(\.firstTime) == whole.templates.map(\.firstTime), "\(parts) parts")
      #expect(index.templates.map(\.lastTime) == whole.templates.map(\.lastTime), "\(parts) parts")
    }
  }

  /// What parts cost: a template that generalises in one part only (`job done for <*>`
  /// from eight jobs) and stays constant in the other (`job done for A`) is two
  /// entries where one pass has one; the workspace binds both to one id
  /// (`LogTemplateStore`: the general one takes the constant one).
  @Test func aTemplateGeneralisedInOnePartOnlyIsTwoEntries() {
    var text = ""
    for i in 0..<200 {
      text += "2026-03-09T02:54:01Z INFO job done for \(["A", "B", "C", "D", "E", "F", "G", "H"][i % 8])\n"
    }
    for _ in 0..<200 { text += "2026-03-09T02:55:01Z INFO job done for A\n" }
    let whole = text.withUTF8 { LogTemplateIndex.mine($0, referenceDate: Self.referenceDate) }
    let parts = text.withUTF8 {
      LogTemplateIndex.mine($0, referenceDate: Self.referenceDate, parts: 2, minPartBytes: 1)
    }
    #expect(whole.templates.map(\.text) == ["job done for <*>"])
    #expect(parts.templates.map(\.text) == ["job done for <*>", "job done for A"])
    // The cut falls at the end of the line holding the middle byte (line 201).
    #expect(parts.templates.map(\.count) == [201, 199])
    #expect(parts.templates[1].firstLine == 202)
    #expect(parts.lineTemplates == Array(repeating: 0, count: 201) + Array(repeating: 1, count: 199))
  }

  /// Stack-trace lines belong to their event: no template of their own.
  @Test func continuationLinesHaveNoTemplate() {
    let text = """
      2026-03-09T02:54:01Z ERROR request failed id=17
      java.lang.IllegalStateException: boom
          at com.example.A.run(A.java:10)
          at com.example.B.run(B.java:20)
      2026-03-09T02:54:02Z ERROR request failed id=18

      """
    var t = text
    let index = t.withUTF8 { LogTemplateIndex.mine($0, referenceDate: Self.referenceDate) }
    #expect(index.lineTemplates.count == 5)
    #expect(index.lineTemplates[2] == -1 && index.lineTemplates[3] == -1)
    #expect(index.lineTemplates[0] == index.lineTemplates[4])
    #expect(index.templates[Int(index.lineTemplates[0])].count == 2)
    #expect(LogTemplateIndex.decodeLines(index.encodedLines) == index.lineTemplates)
  }

  /// Binary junk, invalid UTF-8 and a 1 MB line are mined without a crash,
  /// and a file of distinct lines past the cap is bounded, with its flag set.
  @Test func badInputStaysBounded() {
    var junk = Data((0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) })
    junk.append(contentsOf: Array(repeating: UInt8(ascii: "x"), count: 1 << 20))
    junk.append(contentsOf: [0xFF, 0xFE, 0x0A])
    let index = junk.withUnsafeBytes {
      LogTemplateIndex.mine($0.bindMemory(to: UInt8.self), referenceDate: Self.referenceDate)
    }
    #expect(index.lineTemplates.count > 100)
    let distinct = (0..<3000).map { "INFO word\($0)a word\($0)b word\($0)c" }.joined(separator: "\n")
    var d = distinct
    let capped = d.withUTF8 {
      LogTemplateIndex.mine($0, referenceDate: Self.referenceDate, miner: TemplateMiner(maxTemplates: 100))
    }
    #expect(capped.saturated)
    #expect(capped.templates.count <= 101)
    #expect(capped.lineTemplates.allSatisfy { $0 >= 0 })
    // Distinct words everywhere: one leaf of the tree fills up, and a line then costs at most
    // its cap of comparisons (a file of such lines once took 10 s per 16 MB).
    var words = (0..<6000).map { "INFO alpha\($0 * 7919 % 6000)x beta\($0)y gamma\($0 * 31 % 6000)z" }.joined(
      separator: "\n")
    let leafCapped = words.withUTF8 {
      LogTemplateIndex.mine($0, referenceDate: Self.referenceDate, miner: TemplateMiner(maxLeafTemplates: 500))
    }
    #expect(leafCapped.saturated)
    // The capped leaf (the tree's `<*>` branch), plus up to 100 first-token and 100 second-token leaves.
    #expect(leafCapped.templates.count <= 500 + 2 * 100 + 2, "\(leafCapped.templates.count)")
  }

  /// Ingest stores a real log's templates; an unchanged re-ingest does no
  /// template work and ids stay; `templates` counts every event.
  @Test(.enabled(if: RepositoryPaths.sharedCorpus != nil, "the shared corpus (../shared/corpus) is absent"))
  func ingestStoresARealLogsTemplatesOnce() async throws {
    let f = try IngestFixture()
    defer { f.remove() }
    let source = RepositoryPaths.sharedCorpus!.appendingPathComponent("logs/loghub/OpenStack/OpenStack_2k.log")
    try FileManager.default.copyItem(at: source, to: f.dir.url.appendingPathComponent("nova.log"))
    _ = try await f.ingest(["nova.log"])
    let first = try LogTemplateStore.templates(f.workspace)
    #expect(first.reduce(0) { $0 + $1.count } == 2000)
    #expect(first.count >= 40 && first.count <= 50, "\(first.count)")
    #expect(first.allSatisfy { $0.firstLocator.path == "nova.log" && $0.files == 1 })
    let catalog = try LogTemplateStore.catalog(f.workspace)
    _ = try await f.ingest(["nova.log"])
    #expect(try LogTemplateStore.catalog(f.workspace).mapValues(\.createdAt) == catalog.mapValues(\.createdAt))
    #expect(try LogTemplateStore.templates(f.workspace) == first)
    let lines = try #require(try LogTemplateStore.lines(f.workspace, displayPath: "nova.log"))
    #expect(lines.count == 2000)
    let top = first[0]
    #expect(lines.filter { $0.id == top.id }.count == top.count)
    #expect(lines[top.firstLocator.lineStart! - 1].text == top.text)
  }

  /// A template that generalises in a later file (a constant becomes `<*>`)
  /// keeps its id: earlier lines stay valid, and it is one template.
  @Test func aGeneralisedTemplateKeepsItsId() async throws {
    let f = try IngestFixture()
    defer { f.remove() }
    let head = "Mar  9 02:54:01 host sshd[42]: "
    try f.dir.write(
      "a.log", (1...3).map { _ in "\(head)session opened for user alice by (uid=0)" }.joined(separator: "\n") + "\n")
    _ = try await f.ingest(["a.log"])
    let before = try LogTemplateStore.templates(f.workspace)
    let alice = try #require(before.first { $0.text.contains("user alice") })
    let created = try LogTemplateStore.catalog(f.workspace)[alice.id]?.createdAt
    let users = ["bob", "carol", "dave", "erin", "frank", "grace", "heidi"]
    try f.dir.write(
      "b.log", users.map { "\(head)session opened for user \($0) by (uid=0)" }.joined(separator: "\n") + "\n")
    _ = try await f.ingest(["a.log", "b.log"])
    let after = try LogTemplateStore.templates(f.workspace)
    let general = try #require(after.first { $0.text.contains("user <*>") }, "\(after.map(\.text))")
    #expect(general.id == alice.id)
    #expect(general.count == 10 && general.files == 2)
    #expect(after.count == 1, "\(after.map(\.text))")
    #expect(try LogTemplateStore.catalog(f.workspace)[alice.id]?.createdAt == created)
    // a.log's lines answer to the generalised template.
    let lines = try #require(try LogTemplateStore.lines(f.workspace, displayPath: "a.log"))
    #expect(lines.allSatisfy { $0.id == alice.id && $0.text == general.text })
  }

  /// A JSON-lines log whose records lack a message field: a warning, and the lines still get templates.
  @Test func jsonLinesWithoutAMessageAreAWarning() async throws {
    let f = try IngestFixture()
    defer { f.remove() }
    var lines = (0..<20).map { #"{"time":"2026-03-09T02:54:0\#($0 % 10)Z","level":"info","msg":"job \#($0) done"}"# }
    lines += (0..<3).map { #"{"time":"2026-03-09T02:55:0\#($0)Z","level":"warn","detail":"no message here"}"# }
    try f.dir.write("app.jsonl.log", lines.joined(separator: "\n") + "\n")
    _ = try await f.ingest(["app.jsonl.log"])
    let warnings = try Corpus(workspace: f.workspace).exceptions().filter { $0.severity == .warning }
    #expect(warnings.contains { $0.reason.contains("3 JSON lines have no message field") }, "\(warnings)")
    let stored = try LogTemplateStore.templates(f.workspace)
    #expect(stored.reduce(0) { $0 + $1.count } == 23)
    #expect(stored.contains { $0.text.hasPrefix("job <*> done") && $0.count == 20 }, "\(stored.map(\.text))")
  }

  /// Binding rules on their own: conflicting constants never bind, a shared constant is needed.
  @Test func compatibility() {
    func t(_ s: String) -> [Substring] { s.split(separator: " ", omittingEmptySubsequences: false) }
    #expect(LogTemplateStore.sharedConstants(t("VM Started <*>"), t("VM Stopped <*>")) == nil)
    #expect(LogTemplateStore.sharedConstants(t("user <*> logged in"), t("user bob logged in")) == 3)
    #expect(LogTemplateStore.sharedConstants(t("<*> <*>"), t("a b")) == nil)
    #expect(LogTemplateStore.sharedConstants(t("a b c"), t("a b")) == nil)
    #expect(LogTemplateStore.covers(t("user <*> logged in"), t("user bob logged in")))
    #expect(!LogTemplateStore.covers(t("user bob logged in"), t("user <*> logged in")))
  }
}
