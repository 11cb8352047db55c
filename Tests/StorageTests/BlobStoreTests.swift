import Foundation
import Testing

@testable import Storage

@Suite struct BlobStoreTests {
  func makeWorkspace() throws -> (Workspace, URL) {
    let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("ws-\(UUID().uuidString)")
    return (try Workspace(root: dir, schemas: []), dir)
  }

  @Test func storesOnceAndReadsBack() throws {
    let (ws, dir) = try makeWorkspace()
    defer { try? FileManager.default.removeItem(at: dir) }
    let data = Data("hello, blobs".utf8)
    let a = try ws.blobs.put(data)
    let b = try ws.blobs.put(data)
    #expect(a == b)
    #expect(a == Hashing.sha256(data))
    #expect(try ws.blobs.get(a) == data)
  }

  /// Large blobs hash and compress at once (level 1, worker threads): same name, same bytes back.
  @Test func largeBlobWithThreadsStoresTheSameBlob() throws {
    let (ws, dir) = try makeWorkspace()
    defer { try? FileManager.default.removeItem(at: dir) }
    var data = Data(count: 9 << 20)
    data.withUnsafeMutableBytes { raw in
      for i in 0..<raw.count { raw[i] = UInt8(truncatingIfNeeded: i &* 2_654_435_761 >> 13) }
    }
    for threads: Int32 in [0, 2] {
      let c = try Zstd.compress(data, level: 1, threads: threads)
      let back = try Zstd.decompress(c)
      #expect(back.count == data.count, "threads \(threads)")
      #expect(back == data, "threads \(threads)")
    }
    let hash = try ws.blobs.put(data, level: 1, threads: 2)
    #expect(hash == Hashing.sha256(data))
    #expect(try ws.blobs.get(hash) == data)
    #expect(try ws.blobs.put(data, level: 1, threads: 2) == hash)  // already there
  }

  @Test func corruptBlobIsReported() throws {
    let (ws, dir) = try makeWorkspace()
    defer { try? FileManager.default.removeItem(at: dir) }
    let hash = try ws.blobs.put(Data(repeating: 7, count: 10_000))
    let file = dir.appendingPathComponent("blobs/\(hash.prefix(2))/\(hash).zst")
    try Data("garbage".utf8).write(to: file)
    #expect(throws: WorkspaceError.blobCorrupt(hash: hash)) { try ws.blobs.get(hash) }
    #expect(throws: WorkspaceError.blobMissing(hash: String(repeating: "0", count: 64))) {
      try ws.blobs.get(String(repeating: "0", count: 64))
    }
  }

  @Test func secondLockOnAJobFails() throws {
    let (ws, dir) = try makeWorkspace()
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = ws.locksDirectory.appendingPathComponent("job.lock").path
    let first = try FileLock(path: path)
    // flock locks belong to open file descriptions, so a second open in the
    // same process conflicts just as another process would.
    #expect(throws: WorkspaceError.self) { try FileLock(path: path) }
    withExtendedLifetime(first) {}
  }

  /// The tables themselves are the modules' (`WorkspaceSchemaTests`,
  /// `WorkspaceMigrationTests` in PipelineTests).
  @Test func databaseIsInWALMode() throws {
    let (ws, dir) = try makeWorkspace()
    defer { try? FileManager.default.removeItem(at: dir) }
    // Ask the writer connection: the mode it set is what every commit uses.
    let mode = try ws.db.writeWithoutTransaction { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
    #expect(mode == "wal")
  }
}
