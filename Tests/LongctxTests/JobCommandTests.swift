import Foundation
import Pipeline
import Storage
import Testing
import _LongctxTestSupport

@testable import LongctxCommands

/// The one path of the commands that run a job (`JobCommand`): how a typed job is resolved
/// (`JobReference`), and that `run`, `plan`, `export-batch`, `import-batch`, `produce` and
/// `templates --job` all go through it.
@Suite struct JobCommandTests {
  /// A job whose engine is a server that is never called: planning needs no model.
  static func job(_ name: String) -> String {
    """
    name: \(name)
    inputs: [in]
    model: {engine: openai, base_url: "http://127.0.0.1:9/v1", name: m, context: 4096}
    map: {prompt: "{{window}}"}
    reduce: {prompt: "{{outputs}}"}

    """
  }

  @Test func aPathEndingInYamlOrYmlOrNamingAFileIsAJobFileAndAnythingElseAName() throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    #expect(JobReference("jobs/missing.yaml") == .file("jobs/missing.yaml"))
    #expect(JobReference("missing.yml") == .file("missing.yml"))
    #expect(JobReference("nightly") == .name("nightly"))
    let plain = try tmp.write("jobfile", Self.job("plain"))
    #expect(JobReference(plain.path) == .file(plain.path))
    // A directory is not a job file: its name is a job's name.
    #expect(JobReference(tmp.url.path) == .name(tmp.url.path))
    #expect(try JobReference(plain.path).name() == "plain")
    #expect(try JobReference("nightly").name() == "nightly")
    #expect(try JobReference("nightly").spec() == nil)
  }

  @Test func aNameIsLookedForAsNAMEyamlThenNAMEyml() throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let dir = tmp.url.path
    try tmp.write("b.yml", Self.job("b"))
    #expect(try JobReference("b").file(in: dir) == tmp.url.appendingPathComponent("b.yml").path)
    try tmp.write("b.yaml", Self.job("b"))
    #expect(try JobReference("b").file(in: dir) == tmp.url.appendingPathComponent("b.yaml").path)
    #expect(try JobReference("given.yaml").file(in: dir) == "given.yaml")
    #expect(throws: PipelineError.self) { try JobReference("c").file(in: dir) }
    do {
      _ = try JobReference("c").file(in: dir)
    } catch {
      #expect(
        error.localizedDescription
          == "Cannot read job file c: no such file, and no c.yaml or c.yml in \(dir); give the job file's path.")
    }
  }

  @Test func commandsRunAJobByItsFileOrItsName() throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try tmp.write("in/note.txt", "The shipment left dock 4 on Tuesday.\n")
    try tmp.write("nightly.yml", Self.job("nightly"))
    let byName = try CLI.run(["plan", "nightly", "--workspace", "ws", "--json"], cwd: tmp.url)
    #expect(byName.code == 0, "\(byName.stderr)")
    #expect(byName.stdout.contains("\"windows\""), "\(byName.stdout)")
    let byFile = try CLI.run(["plan", "nightly.yml", "--workspace", "ws", "--json"], cwd: tmp.url)
    #expect(byFile.code == 0 && byFile.stdout == byName.stdout, "\(byFile.stderr)")
    let missing = try CLI.run(["plan", "weekly", "--workspace", "ws"], cwd: tmp.url)
    #expect(missing.code == 2)
    #expect(missing.stderr.contains("Cannot read job file weekly: no such file, and no weekly.yaml or weekly.yml"))
    // export-batch resolves the same way, and still refuses an embedded engine.
    try tmp.write("local.yaml", Self.job("local").replacingOccurrences(of: "engine: openai", with: "engine: llama"))
    let batch = try CLI.run(["export-batch", "local", "-o", "t.jsonl", "--workspace", "ws"], cwd: tmp.url)
    #expect(batch.code == 2)
    #expect(batch.stderr.contains("export-batch needs a job with model.engine: openai"), "\(batch.stderr)")
  }

  @Test func templatesOfAJobTakeItsLock() throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try tmp.write("in/app.log", "2024-01-01 10:00:00 INFO started\n2024-01-01 10:00:01 INFO started\n")
    try tmp.write("job.yaml", Self.job("logs"))
    let free = try CLI.run(["templates", "--job", "job.yaml", "--workspace", "ws"], cwd: tmp.url)
    #expect(free.code == 0, "\(free.stderr)")
    let held = try FileLock(path: tmp.url.appendingPathComponent("ws/locks/logs.lock").path)
    let locked = try CLI.run(["templates", "--job", "job.yaml", "--workspace", "ws"], cwd: tmp.url)
    #expect(locked.code == 3, "\(locked.stdout) \(locked.stderr)")
    #expect(locked.stderr.contains("pid \(getpid())"), "\(locked.stderr)")
    withExtendedLifetime(held) {}
  }
}
