import Foundation
import Testing

@testable import Storage

@Suite struct ZstdTests {
  @Test(arguments: [0, 1, 100, 200_000, 3_000_000])
  func roundTrip(size: Int) throws {
    var data = Data(count: size)
    for i in 0..<size { data[i] = UInt8((i * 31 + i / 7) % 251) }
    let compressed = try Zstd.compress(data, level: 3)
    #expect(try Zstd.decompress(compressed) == data)
  }

  @Test func truncatedFrameIsAnError() throws {
    let data = Data((0..<100_000).map { UInt8($0 % 13) })
    let compressed = try Zstd.compress(data)
    #expect(throws: WorkspaceError.self) { try Zstd.decompress(compressed.prefix(compressed.count / 2)) }
  }

  @Test func flippedByteIsDetected() throws {
    let data = Data((0..<50_000).map { UInt8(($0 * 7) % 256) })
    var compressed = try Zstd.compress(data)
    compressed[compressed.count / 2] ^= 0xFF
    #expect(throws: WorkspaceError.self) { try Zstd.decompress(compressed) }
  }

  @Test func limitStopsABomb() throws {
    let data = Data(count: 10_000_000)
    let compressed = try Zstd.compress(data, level: 19)
    #expect(compressed.count < 2000)
    #expect(throws: WorkspaceError.decompressionLimit(limit: 1_000_000)) {
      try Zstd.decompress(compressed, limit: 1_000_000)
    }
  }
}
