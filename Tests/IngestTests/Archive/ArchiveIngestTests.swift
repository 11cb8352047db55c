import Foundation
import Testing
import _LongctxTestSupport

@testable import Ingest

/// Archives through `Ingestor.ingest`: members become documents in the archive's family, cited inside it.
@Suite struct ArchiveIngestTests {
  @Test func zipMembersAreCitedInsideTheArchive() async throws {
    let f = try IngestFixture()
    defer { f.remove() }
    let work = try TemporaryDirectory()
    defer { work.remove() }
    _ = try ArchiveFixtures.zip("inner.zip", [("deep.txt", "inside the inner zip\n")], in: work.url)
    let inner = try Data(contentsOf: work.url.appendingPathComponent("inner.zip")).base64EncodedString()
    let script = """
      import base64, sys, zipfile
      with zipfile.ZipFile('bundle.zip', 'w', zipfile.ZIP_DEFLATED) as z:
          z.writestr('dir/notes.txt', 'first line\\nsecond line\\nthird line\\n')
          z.writestr('inner.zip', base64.b64decode(sys.argv[1]))
          z.writestr('dir/', '')
      """
    try ArchiveFixtures.python(script, [inner], in: f.dir.url)

    let summary = try await f.ingest(["bundle.zip"])
    #expect(summary.failed == 0)
    #expect(
      summary.files.map(\.displayPath) == [
        "bundle.zip", "bundle.zip#member=dir/notes.txt", "bundle.zip#member=inner.zip",
        "bundle.zip#member=inner.zip#member=deep.txt",
      ])
    let corpus = Corpus(workspace: f.workspace)
    let notes = try #require(summary.files.first { $0.displayPath == "bundle.zip#member=dir/notes.txt" })
    let sections = try corpus.sections(ofDocument: notes.documentHash, displayPath: notes.displayPath)
    #expect(sections.map(\.locator.description) == ["bundle.zip#member=dir/notes.txt#L1-L3"])
    #expect(sections.map(\.text) == ["first line\nsecond line\nthird line"])

    let deep = try #require(summary.files.last)
    let deepSections = try corpus.sections(ofDocument: deep.documentHash, displayPath: deep.displayPath)
    #expect(deepSections.map(\.locator.description) == ["bundle.zip#member=inner.zip#member=deep.txt#L1"])

    let bundle = try #require(summary.files.first)
    let listing = try corpus.sections(ofDocument: bundle.documentHash, displayPath: bundle.displayPath)
    #expect(listing.map(\.locator.description) == ["bundle.zip#L1-L3"])
    #expect(
      listing.first?.text.split(separator: "\n").map { $0.split(separator: "\t").first ?? "" } == [
        "dir/notes.txt", "inner.zip", "dir",
      ])
    let metadata = try corpus.metadata(ofDocument: bundle.documentHash)
    #expect(metadata["members"] == "3")
    #expect(metadata["format"] == "ZIP")
  }

  /// A ZIP attached to a message is the message's child, and its members the ZIP's.
  @Test func zipAttachedToAMessage() async throws {
    let f = try IngestFixture()
    defer { f.remove() }
    let zip = try ArchiveFixtures.zip("bundle.zip", [("notes.txt", "attached inside a zip\n")], in: f.dir.url)
    let bytes = try Data(contentsOf: zip)
    try FileManager.default.removeItem(at: zip)
    try f.dir.write(
      "mail/one.eml",
      EmailAttachmentTests.message(
        id: "z1@harbor.example", subject: "Zip", attachments: [("bundle.zip", "application/zip", bytes)]))
    let summary = try await f.ingest(["mail"])
    #expect(summary.failed == 0)
    #expect(
      summary.files.map(\.displayPath) == [
        "mail/one.eml", "mail/one.eml#msg=z1@harbor.example/attachment=bundle.zip",
        "mail/one.eml#msg=z1@harbor.example/attachment=bundle.zip#member=notes.txt",
      ])
  }

  /// In the isolated worker (`longctx _extract --serve`) too, with the passwords passed to the child.
  @Test(
    .enabled(if: CLI.binary != nil && have("zip"), "no built longctx binary, or no zip"))
  func archiveInTheIsolatedWorker() async throws {
    let binary = try #require(CLI.binary)
    let f = try IngestFixture()
    defer { f.remove() }
    try f.dir.write("src/dir/notes.txt", "one\ntwo\n")
    try f.dir.write("src/secret.txt", "the secret text\n")
    try ArchiveFixtures.run(
      "cd src && zip -q ../bundle.zip dir/notes.txt && zip -q -P hunter2 ../bundle.zip secret.txt && cd .. && rm -r src",
      in: f.dir.url)
    var options = IngestOptions(base: f.dir.url, concurrency: 1)
    options.passwords = ["hunter2"]
    options.worker = ExtractionWorker(executable: binary, timeLimit: 60, memoryLimit: 2 << 30)
    let summary = try await f.ingestor.ingest(inputs: ["bundle.zip"], options: options)
    #expect(summary.failed == 0)
    #expect(
      summary.files.map(\.displayPath) == [
        "bundle.zip", "bundle.zip#member=dir/notes.txt", "bundle.zip#member=secret.txt",
      ])
    let secret = try #require(summary.files.last)
    let sections = try Corpus(workspace: f.workspace).sections(
      ofDocument: secret.documentHash, displayPath: secret.displayPath)
    #expect(sections.map(\.text) == ["the secret text"])
  }

  /// A `.tar.gz` is read by libarchive whole (not decompressed to a copy first); its members are cited inside it.
  @Test func tarballMembersThroughIngest() async throws {
    let f = try IngestFixture()
    defer { f.remove() }
    try f.dir.write("src/logs/app.txt", "alpha\nbeta\n")
    try f.dir.write("src/readme.md", "# Title\n\nBody.\n")
    try ArchiveFixtures.run("tar --sort=name -C src -czf bundle.tar.gz logs readme.md && rm -r src", in: f.dir.url)
    let summary = try await f.ingest(["bundle.tar.gz"])
    #expect(summary.failed == 0)
    #expect(
      summary.files.map(\.displayPath) == [
        "bundle.tar.gz", "bundle.tar.gz#member=logs/app.txt", "bundle.tar.gz#member=readme.md",
      ])
    let app = try #require(summary.files.first { $0.displayPath.hasSuffix("app.txt") })
    let sections = try Corpus(workspace: f.workspace).sections(
      ofDocument: app.documentHash, displayPath: app.displayPath)
    #expect(sections.map(\.locator.description) == ["bundle.tar.gz#member=logs/app.txt#L1-L2"])
    let bundle = try #require(summary.files.first)
    let metadata = try Corpus(workspace: f.workspace).metadata(ofDocument: bundle.documentHash)
    #expect(metadata["compression"] == "gzip")
    #expect(metadata["members"] == "3")
  }

  /// A member stored as `../../evil.txt` is cited as `evil.txt`, warned about, and never written outside.
  @Test func pathTraversalWritesNothingOutside() async throws {
    let f = try IngestFixture()
    defer { f.remove() }
    let nested = f.dir.url.appendingPathComponent("a/b")
    try FileManager.default.createDirectory(at: nested, withIntermediateDirectories: true)
    _ = try ArchiveFixtures.zip(
      "bundle.zip",
      [("../../evil.txt", "escaped\n"), ("../../../../../../../../tmp/evil-archive-member.txt", "deep\n")],
      in: nested)

    let summary = try await f.ingest(["a/b/bundle.zip"])
    #expect(summary.failed == 0)
    #expect(
      summary.files.map(\.displayPath) == [
        "a/b/bundle.zip", "a/b/bundle.zip#member=evil.txt", "a/b/bundle.zip#member=tmp/evil-archive-member.txt",
      ])
    #expect(
      summary.exceptions.contains {
        $0.reason == "member 1: its stored path ../../evil.txt tries to escape the archive; cited as evil.txt"
      })
    let fm = FileManager.default
    #expect(!fm.fileExists(atPath: f.dir.url.appendingPathComponent("evil.txt").path))
    #expect(!fm.fileExists(atPath: f.dir.url.appendingPathComponent("a/evil.txt").path))
    #expect(!fm.fileExists(atPath: "/tmp/evil-archive-member.txt"))
    #expect(
      !fm.fileExists(atPath: fm.temporaryDirectory.deletingLastPathComponent().appendingPathComponent("evil.txt").path))
    // Nothing but the archive (and the workspace) is under the input directory.
    let files = fm.enumerator(atPath: f.dir.url.path)?.compactMap { $0 as? String }.filter { !$0.hasPrefix(".longctx") }
    #expect(files?.sorted() == ["a", "a/b", "a/b/bundle.zip"])
  }

  /// `--password-file`'s passwords open an encrypted member through ingest too.
  @Test(.enabled(if: have("zip"), "zip is not installed"))
  func encryptedMemberThroughIngest() async throws {
    for passwords in [[], ["wrong", "hunter2"]] {
      let f = try IngestFixture()
      defer { f.remove() }
      try f.dir.write("src/secret.txt", "the secret text\n")
      try ArchiveFixtures.run("cd src && zip -q -P hunter2 ../enc.zip secret.txt", in: f.dir.url)
      try FileManager.default.removeItem(at: f.dir.url.appendingPathComponent("src"))
      var options = IngestOptions(base: f.dir.url, concurrency: 1)
      options.passwords = passwords
      let summary = try await f.ingestor.ingest(inputs: ["enc.zip"], options: options)
      if passwords.isEmpty {
        #expect(summary.files.map(\.displayPath) == ["enc.zip"])
        #expect(
          summary.exceptions.map(\.reason) == [
            "member secret.txt not read: encrypted; give its password with --password-file"
          ]
        )
      } else {
        #expect(summary.files.map(\.displayPath) == ["enc.zip", "enc.zip#member=secret.txt"])
        #expect(summary.exceptions.isEmpty)
      }
    }
  }
}
