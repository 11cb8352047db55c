import Foundation
import Storage
import Testing
import _LongctxTestSupport

/// Every command that ingests a job's inputs takes the job's lock, as `run` does: `plan` and
/// `produce` refuse (exit 3, naming the holder) while another process holds it.
@Suite struct JobLockCLITests {
  @Test func planAndProduceWaitForNoOneAndRefuseWhileTheJobIsLocked() throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try tmp.write("in/note.txt", "The shipment left dock 4 on Tuesday.\n")
    // A server engine that is never called: planning and producing need no model.
    try tmp.write(
      "job.yaml",
      """
      name: locked-job
      inputs: [in]
      model: {engine: openai, base_url: "http://127.0.0.1:9/v1", name: m, context: 4096}
      map: {prompt: "{{window}}"}
      reduce: {prompt: "{{outputs}}"}

      """)
    let ws = tmp.url.appendingPathComponent("ws")
    let free = try CLI.run(["plan", "job.yaml", "--workspace", "ws"], cwd: tmp.url)
    #expect(free.code == 0, "\(free.stderr)")

    // Another process's run, as far as the lock can tell (flock is per open file description).
    let held = try FileLock(path: ws.appendingPathComponent("locks/locked-job.lock").path)
    let plan = try CLI.run(["plan", "job.yaml", "--workspace", "ws"], cwd: tmp.url)
    #expect(plan.code == 3, "\(plan.stdout) \(plan.stderr)")
    #expect(plan.stderr.contains("pid \(getpid())"), "\(plan.stderr)")
    let produce = try CLI.run(["produce", "job.yaml", "-o", "out", "--workspace", "ws"], cwd: tmp.url)
    #expect(produce.code == 3, "\(produce.stdout) \(produce.stderr)")
    #expect(!FileManager.default.fileExists(atPath: tmp.url.appendingPathComponent("out/DATA").path))
    withExtendedLifetime(held) {}
  }
}
