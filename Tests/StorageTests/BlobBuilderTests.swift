import Foundation
import Testing

@testable import Storage

@Suite struct BlobBuilderTests {
  /// Pieces added in any order, on any threads, some empty, make the blob
  /// `prefix + non-empty pieces joined by separator + suffix`, named by its
  /// SHA-256, and read back as one stream of frames.
  @Test(arguments: [false, true])
  func piecesInAnyOrderMakeTheJoinedBlob(concurrently: Bool) throws {
    let pieces: [[UInt8]] = (0..<40).map { i in
      i % 7 == 3
        ? [] : Array("{\"piece\":\(i),\"text\":\"\(String(repeating: "log line \(i) ", count: i * 50))\"}".utf8)
    }
    let builder = BlobBuilder(level: 1, prefix: Data("[".utf8), separator: Data(",".utf8), suffix: Data("]".utf8))
    final class Count: @unchecked Sendable {  // under `lock`
      let lock = NSLock()
      var value = 0
    }
    let returned = Count()
    if concurrently {
      DispatchQueue.concurrentPerform(iterations: pieces.count) { i in
        let done = builder.add(pieces[i], index: i)
        returned.lock.withLock { returned.value += done.count }
      }
    } else {
      for i in pieces.indices.reversed() { returned.value += builder.add(pieces[i], index: i).count }
    }
    #expect(returned.value == pieces.count)  // every buffer comes back once hashed
    let blob = try builder.finish()
    var expected = Data("[".utf8)
    expected.append(Data(pieces.filter { !$0.isEmpty }.map { Data($0) }.joined(separator: Data(",".utf8))))
    expected.append(Data("]".utf8))
    #expect(blob.hash == Hashing.sha256(expected))
    #expect(try Zstd.decompress(Data(blob.frames.joined())) == expected)

    let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("ws-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: dir) }
    let ws = try Workspace(root: dir, schemas: [])
    #expect(try ws.blobs.put(blob) == blob.hash)
    #expect(try ws.blobs.get(blob.hash) == expected)
  }

  @Test func onlyEmptyPiecesMakeAnEmptyArray() throws {
    let builder = BlobBuilder(level: 1, prefix: Data("[".utf8), separator: Data(",".utf8), suffix: Data("]".utf8))
    _ = builder.add([], index: 0)
    _ = builder.add([], index: 1)
    let blob = try builder.finish()
    #expect(try Zstd.decompress(Data(blob.frames.joined())) == Data("[]".utf8))
  }
}
