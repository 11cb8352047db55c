import Foundation
import Testing
import _LongctxTestSupport

/// `longctx ingest --denist FILE` through the real CLI: known files are skipped and counted,
/// with the hash list made by Python (hashlib, sqlite3) in the RDSv3 SQLite form and as a
/// plain MD5 list.
@Suite struct IngestDenistCLITests {
  func python(_ script: String, _ args: [String], cwd: URL) throws {
    #expect(try Python.run(script, args, cwd: cwd).status == 0)
  }

  struct Summary: Decodable {
    var knownFiles: Int
    var skipped: Int
    var files: [File]
    var exceptions: [Exception]
    struct File: Decodable { var displayPath: String }
    struct Exception: Decodable {
      var path: String
      var reason: String
    }
  }

  /// Real PDFs from the shared corpus (nil, with a message, when it is absent).
  func corpusPDFs(into dir: URL) throws -> [String]? {
    guard let corpus = RepositoryPaths.sharedCorpus else {
      print("the shared corpus is absent: skipped")
      return nil
    }
    // Four small ones (distinct names), in a fixed order.
    var seen = Set<String>()
    let pdfs = RepositoryPaths.files(under: corpus.appendingPathComponent("pdf"), suffixes: [".pdf"])
      .sorted { $0.path < $1.path }
      .filter { url in
        let size = (try? url.resourceValues(forKeys: [.fileSizeKey]).fileSize) ?? .max
        return size < 100_000 && seen.insert(url.lastPathComponent).inserted
      }
      .prefix(4)
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    for pdf in pdfs {
      try FileManager.default.copyItem(at: pdf, to: dir.appendingPathComponent(pdf.lastPathComponent))
    }
    return pdfs.map(\.lastPathComponent)
  }

  @Test func anRDSv3DatabaseSkipsKnownFilesAtIngest() throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    guard let names = try corpusPDFs(into: tmp.url.appendingPathComponent("in")), names.count >= 2 else { return }
    // RDSv3: a METADATA table and the RDSv2-like FILE view over it; upper-case hex, as NIST writes.
    try python(
      """
      import hashlib, sqlite3, sys
      db = sqlite3.connect("rds.db")
      db.execute("CREATE TABLE METADATA (sha256 TEXT, sha1 TEXT, md5 TEXT, crc32 TEXT, file_name TEXT, file_size INTEGER, package_id INTEGER)")
      db.execute("CREATE INDEX sha1_idx ON METADATA (sha1)")
      db.execute("CREATE VIEW FILE AS SELECT sha1, md5, crc32, file_name, file_size, package_id FROM METADATA")
      d = open("in/" + sys.argv[1], "rb").read()
      db.execute("INSERT INTO METADATA VALUES (?, ?, ?, ?, ?, ?, ?)", (hashlib.sha256(d).hexdigest().upper(),
          hashlib.sha1(d).hexdigest().upper(), hashlib.md5(d).hexdigest().upper(), "00000000", sys.argv[1], len(d), 1))
      db.execute("INSERT INTO METADATA VALUES ('0', 'DA39A3EE5E6B4B0D3255BFEF95601890AFD80709', 'D41D8CD98F00B204E9800998ECF8427E', '0', 'empty', 0, 2)")
      db.commit()
      """, [names[0]], cwd: tmp.url)
    let ws = tmp.url.appendingPathComponent("ws").path
    let r = try CLI.run(["ingest", "in", "--denist", "rds.db", "--workspace", ws, "--json"], cwd: tmp.url)
    #expect(r.code == 0, "\(r.stderr)")
    let summary = try JSONDecoder().decode(Summary.self, from: Data(r.stdout.utf8))
    #expect(summary.knownFiles == 1 && summary.skipped >= 1)
    #expect(summary.exceptions.contains { $0.path.hasSuffix(names[0]) && $0.reason == "known file (NSRL)" })
    #expect(!summary.files.contains { $0.displayPath.hasSuffix(names[0]) })
    #expect(summary.files.filter { !$0.displayPath.contains("#") }.count == names.count - 1)
    // The text summary says it too.
    let text = try CLI.run(["ingest", "in", "--denist", "rds.db", "--workspace", ws], cwd: tmp.url)
    #expect(text.stdout.contains("(1 known files, NSRL)"), "\(text.stdout)")
  }

  @Test func aPlainListAJobSettingAndABadListAreHandled() throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    guard let names = try corpusPDFs(into: tmp.url.appendingPathComponent("in")), names.count >= 2 else { return }
    try python(
      """
      import hashlib, sys
      open("md5.txt", "w").write("".join(hashlib.md5(open("in/" + n, "rb").read()).hexdigest() + "\\n" for n in sys.argv[1:]))
      """, Array(names.prefix(2)), cwd: tmp.url)
    // A job's ingest.denist, through produce: the known files never reach the production.
    try tmp.write(
      "job.yaml",
      """
      name: denist
      inputs: [{path: in, custodian: "Roe, Rich"}]
      model: {engine: llama, context: 4096}
      map: {prompt: "{{window}}"}
      reduce: {prompt: "{{outputs}}"}
      ingest: {redact: false, denist: md5.txt}
      production: {prefix: DN-, digits: 4}
      """)
    let ws = tmp.url.appendingPathComponent("ws").path
    let r = try CLI.run(["produce", "job.yaml", "-o", "out", "--workspace", ws, "--json"], cwd: tmp.url)
    #expect(r.code == 0, "\(r.stderr)")
    struct Produced: Decodable {
      var documents: Int
      var knownFilesRemoved: Int
    }
    let produced = try JSONDecoder().decode(Produced.self, from: Data(r.stdout.utf8))
    #expect(produced.knownFilesRemoved == 2 && produced.documents == names.count - 2, "\(r.stdout)")
    // Not a hash list: a clear error, nothing ingested.
    try python(
      "import sqlite3; db = sqlite3.connect('other.db'); db.execute('CREATE TABLE t (x)'); db.commit()", [],
      cwd: tmp.url)
    let bad = try CLI.run(["ingest", "in", "--denist", "other.db", "--workspace", ws], cwd: tmp.url)
    #expect(bad.code != 0 && bad.stderr.contains("known-file (de-NIST) list"), "\(bad.stderr)")
  }
}
