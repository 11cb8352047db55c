import Foundation
import Testing

@testable import Ingest

/// `.pst` stores through readpst: counts equal readpst's own, folders in the locators.
@Suite(.enabled(if: OfficeMailCorpus.hasReadpst, "readpst (Debian package pst-utils) is not installed"))
struct PSTExtractorTests {
  /// The item files `readpst -M` writes for `path` (its own count, independent of our flags). One job
  /// (`-j 0`, as `ReadPST` runs it): with readpst's forked children, twice under the full parallel
  /// suite it left one item file fewer than the store has (3 of 4), twice in a row.
  static func readpstCount(_ path: String) throws -> Int {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("readpst-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["readpst", "-q", "-M", "-j", "0", "-o", dir.path, path]
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else { throw CocoaError(.executableLoad, userInfo: ["status": p.terminationStatus]) }
    var count = 0
    let walker = FileManager.default.enumerator(atPath: dir.path)
    while let relative = walker?.nextObject() as? String {
      var isDir: ObjCBool = false
      if FileManager.default.fileExists(atPath: dir.appendingPathComponent(relative).path, isDirectory: &isDir),
        !isDir.boolValue
      {
        count += 1
      }
    }
    return count
  }

  @Test(
    .enabled(if: OfficeMailCorpus.isPresent, OfficeMailCorpus.skipReason),
    arguments: ["pst/testPST_variousBodyTypes.pst", "pst/dist-list.pst"])
  func countsEqualReadpst(_ relative: String) throws {
    let expected = try OfficeMailCorpus.expected(relative)
    let doc = try #require(try OfficeMailCorpus.extract(relative, kind: .pst).document)
    #expect(doc.kind == .pst)
    #expect(doc.sections.count == Int(expected["messages"] ?? ""))
    #expect(doc.metadata["messages"] == expected["messages"])
    #expect(doc.metadata["folders"] == expected["folders"])
    #expect(doc.metadata["skipped"] == expected["skipped"])
    let path = OfficeMailCorpus.root.appendingPathComponent(relative).path
    #expect(doc.sections.count == (try Self.readpstCount(path)))
    // Keys are unique within the store.
    #expect(Set(doc.sections.compactMap(\.locator.message)).count == doc.sections.count)
  }

  @Test(.enabled(if: OfficeMailCorpus.isPresent, OfficeMailCorpus.skipReason))
  func messagesCiteTheirFolders() throws {
    let extraction = try OfficeMailCorpus.extract("pst/testPST_variousBodyTypes.pst", kind: .pst)
    let doc = try #require(extraction.document)
    #expect(doc.title == "Outlook Data File")
    #expect(doc.sections.map(\.locator.folder) == Array(repeating: "Inbox/tmp", count: 4))
    let first = try #require(doc.sections.first)
    #expect(
      first.locator.description
        == "testPST_variousBodyTypes.pst#folder=Inbox/tmp&msg=MWHPR09MB1391E30131B0D193163AA6E0C79C0@MWHPR09MB1391.namprd09.prod.outlook.com"
    )
    #expect(Locator(citation: Substring(first.locator.description)) == first.locator)
    #expect(first.text.hasPrefix("From: \"Allison, Timothy B.\" <tallison@mitre.org>\n"))
    #expect(first.text.contains("Subject: original email\n"))
    #expect(first.text.contains("This is the original email (html)"))
    // Three forwards of the first message: one thread.
    #expect(doc.metadata["threads"] == "1")
    #expect(doc.sections.filter { $0.text.contains("Subject: FW: original email\n") }.count == 3)
    // readpst's rtf-body.rtf copy of a body is not an attachment.
    #expect(doc.metadata["attachments"] == nil)
    #expect(extraction.children.isEmpty)
  }

  @Test(.enabled(if: OfficeMailCorpus.isPresent, OfficeMailCorpus.skipReason))
  func appointmentsAndContactsAreItems() throws {
    let doc = try #require(try OfficeMailCorpus.extract("pst/dist-list.pst", kind: .pst).document)
    #expect(
      doc.sections.map(\.locator.description) == [
        "dist-list.pst#folder=Calendar&msg=1", "dist-list.pst#folder=Contacts&msg=2",
      ])
    #expect(doc.sections[0].text.hasPrefix("Subject: Test appointment\n"))
    #expect(doc.sections[0].text.contains("DESCRIPTION:This is a complete test"))
    // readpst stamps appointments with its own run time: left out, so the text is the same on every run.
    #expect(!doc.sections[0].text.contains("DTSTAMP"))
    #expect(doc.sections[1].text.contains("EMAIL:contact1@rjohnson.id.au"))
    #expect(doc.warnings.contains { $0.hasPrefix("readpst skipped 1 items") })
  }

  @Test func unreadableStoreIsOneSentence() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pst-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let file = dir.appendingPathComponent("broken.pst")
    try Data(("!BDN" + String(repeating: "not a store ", count: 100)).utf8).write(to: file)
    let input = ExtractionInput(path: file.path, displayPath: "broken.pst", options: IngestOptions(base: dir))
    let error = #expect(throws: IngestError.self) { try PSTExtractor().extract(input) }
    #expect(
      error?.errorDescription
        == "Cannot read the Outlook store broken.pst: readpst failed (exit 1): \"Error opening File\".")
    let timeout = #expect(throws: IngestError.self) { try PSTExtractor(timeLimit: 0).extract(input) }
    #expect(
      timeout?.errorDescription
        == "Cannot read the Outlook store broken.pst: readpst did not finish within 0 s and was stopped.")
  }

  /// Messages a second through the extractor and through plain readpst, on the same stores in one run.
  @Test(.enabled(if: OfficeMailCorpus.isPresent, OfficeMailCorpus.skipReason))
  func throughputAgainstPlainReadpst() throws {
    let stores = ["pst/testPST_variousBodyTypes.pst", "pst/dist-list.pst"]
    let rounds = 5
    var messages = 0
    let start = Date()
    for _ in 0..<rounds {
      for s in stores { messages += try #require(try OfficeMailCorpus.extract(s, kind: .pst).document).sections.count }
    }
    let ours = Date().timeIntervalSince(start)
    var plain = 0
    let start2 = Date()
    for _ in 0..<rounds {
      for s in stores { plain += try Self.readpstCount(OfficeMailCorpus.root.appendingPathComponent(s).path) }
    }
    let theirs = Date().timeIntervalSince(start2)
    // Equal counts are `countsEqualReadpst`'s to check (once per store); here readpst's files are only timed
    // (one of five rounds under a heavy load once wrote a file fewer, which that test would have caught).
    #expect(messages % rounds == 0 && messages > 0)
    if messages != plain { print("PST throughput: readpst wrote \(plain) files for \(messages) items over the rounds") }
    print(
      "PST throughput: extractor \(Int(Double(messages) / ours)) messages/s, plain readpst "
        + "\(Int(Double(plain) / theirs)) messages/s, ratio \(String(format: "%.2f", ours / theirs))")
  }
}
