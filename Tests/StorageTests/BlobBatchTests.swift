import Foundation
import Testing

@testable import Storage

/// Blobs written together: absent under their names until the batch commits, whole after.
@Suite struct BlobBatchTests {
  func files(in dir: URL) -> [String] {
    (FileManager.default.enumerator(atPath: dir.path)?.allObjects as? [String] ?? []).filter {
      $0.hasSuffix("tmp") || $0.hasSuffix(".zst")
    }
  }

  @Test func blobsAppearWholeAtCommitAndNotBefore() throws {
    let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("batch-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: dir) }
    let store = BlobStore(directory: dir)
    let batch = BlobBatch(store)
    let texts = (0..<50).map { Data("member \($0) of the archive\n".utf8) }
    let hashes = try texts.map { try batch.put($0) }
    // The same bytes twice are one blob.
    #expect(try batch.put(texts[0]) == hashes[0])
    #expect(hashes == texts.map { Hashing.sha256($0) })
    for hash in hashes { #expect(throws: WorkspaceError.self) { try store.get(hash) } }
    #expect(files(in: dir).filter { $0.hasSuffix(".zst") }.isEmpty)
    try batch.commit()
    for (hash, text) in zip(hashes, texts) { #expect(try store.get(hash) == text) }
    #expect(files(in: dir).filter { $0.hasSuffix("tmp") }.isEmpty)
    #expect(files(in: dir).count == 50)
  }

  @Test func aBatchDroppedBeforeCommitLeavesNothing() throws {
    let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("batch-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: dir) }
    let store = BlobStore(directory: dir)
    do {
      let batch = BlobBatch(store)
      _ = try batch.put(Data("never committed".utf8))
      #expect(files(in: dir).count == 1)  // its temporary file
    }
    #expect(files(in: dir).isEmpty)
  }

  @Test func unsyncedFilesHoldTheirBytes() throws {
    let url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("unsynced-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: url) }
    let data = Data((0..<300_000).map { UInt8($0 % 251) })
    try UnsyncedFile.write(data, to: url)
    #expect(try Data(contentsOf: url) == data)
    try UnsyncedFile.write(Data(), to: url)
    #expect(try Data(contentsOf: url).isEmpty)
  }
}
