import Foundation
import Inference
import Segmenter
import Testing
import _LongctxTestSupport

/// `checkpoints verify` tells a cron script whether anything was corrupt (issue 15):
/// exit 0 when all were intact, 1 when it removed any.
@Suite struct CheckpointsVerifyCLITests {
  @Test func exitsOneOnlyWhenItRemovedSomething() throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let ws = tmp.url.appendingPathComponent("ws")
    let kv = ws.appendingPathComponent("kv")
    let store = CheckpointStore(directory: kv)
    let state = Data((0..<30_000).map { UInt8(truncatingIfNeeded: $0 * 31 >> 5) })
    _ = try store.save(model: "m ctx=2048", tokens: Array(0..<256), state: state)
    let bad = try store.save(model: "m ctx=2048", tokens: Array(0..<257), state: state)

    let clean = try CLI.run(["checkpoints", "verify", "--workspace", ws.path], cwd: tmp.url)
    #expect(clean.code == 0, "\(clean.stdout)\(clean.stderr)")
    #expect(clean.stdout.contains("2 intact, 0 corrupt and removed"))

    var bytes = try Data(contentsOf: URL(fileURLWithPath: bad.path))
    bytes[bytes.count / 2] ^= 0xFF
    try bytes.write(to: URL(fileURLWithPath: bad.path))
    let dirty = try CLI.run(["checkpoints", "verify", "--workspace", ws.path], cwd: tmp.url)
    #expect(dirty.code == 1, "\(dirty.stdout)\(dirty.stderr)")
    #expect(dirty.stdout.contains("1 intact, 1 corrupt and removed"))

    let after = try CLI.run(["checkpoints", "verify", "--workspace", ws.path], cwd: tmp.url)
    #expect(after.code == 0)
  }
}
