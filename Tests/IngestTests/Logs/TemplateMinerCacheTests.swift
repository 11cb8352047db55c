import Foundation
import Testing
import _LongctxTestSupport

@testable import Ingest

/// The miner's message cache answers messages that differ only in digits
/// without tokenising them again; it must never change a template.
@Suite struct TemplateMinerCacheTests {
  @Test func theWordMaskMatchesAByteByByteRule() {
    // Every byte value at every position of a word, against the obvious rule.
    for position in 0..<8 {
      for value in 0...255 {
        let filler: UInt64 = 0x4142_4344_3930_2F3A  // "A B C D 9 0 / :" mixed digits and neighbours
        let w = (filler & ~(UInt64(0xFF) << (8 * UInt64(position)))) | (UInt64(value) << (8 * UInt64(position)))
        var expected: UInt64 = 0
        for k in 0..<8 {
          let b = UInt8(truncatingIfNeeded: w >> (8 * UInt64(k)))
          expected |= UInt64(b >= 0x30 && b <= 0x39 ? 0x30 : b) << (8 * UInt64(k))
        }
        #expect(TemplateMiner.MessageCache.normalised(w) == expected, "byte \(value) at \(position)")
      }
    }
  }

  @Test func messagesDifferingInDigitsAreAnsweredFromTheCache() {
    var miner = TemplateMiner()
    let a = miner.add("took 12 ms to serve /api/v1 for user alice")
    let b = miner.add("took 7 ms to serve /api/v1 for user alice")  // a different length too
    #expect(a == b)
    #expect(miner.cacheHits == 0, "the lengths differ: no hit")
    let c = miner.add("took 98 ms to serve /api/v9 for user alice")
    #expect(c == a)
    #expect(miner.cacheHits == 1)
    #expect(miner.template(miner.resolve(a)).count == 3)
    // A constant's digits (`v2beta`) are part of the template: the cache answers
    // only a message with the same ones.
    var other = TemplateMiner()
    let first = other.add("api v2beta ready in 10 ms")
    let again = other.add("api v2beta ready in 25 ms")
    #expect(other.cacheHits == 1)
    #expect(first == again)
    let three = other.add("api v3beta ready in 10 ms")
    #expect(other.cacheHits == 1, "v3beta reads as v0beta like v2beta, yet is another constant")
    #expect(three != first)
    #expect(other.template(three).text == "api v3beta ready in <*>")
    // A rewritten constant with a digit (`(HWID=<*>)` keeps `HW1D`) is not cached.
    var rewritten = TemplateMiner()
    _ = rewritten.add("probe (HW1D=5) ok")
    _ = rewritten.add("probe (HW1D=6) ok")
    #expect(rewritten.cacheHits == 0)
  }

  /// On every loghub 2k log of the shared corpus, the miner with its cache gives
  /// every line the same template as the miner without it.
  @Test(.enabled(if: RepositoryPaths.sharedCorpus != nil, "the shared corpus (../shared/corpus) is absent"))
  func theCacheChangesNoTemplateOnRealLogs() throws {
    let root = RepositoryPaths.sharedCorpus!.appendingPathComponent("logs/loghub")
    var checked = 0
    for name in try FileManager.default.contentsOfDirectory(atPath: root.path).sorted() {
      guard let d = try TemplateEvaluation.loadLoghub(root.appendingPathComponent(name)) else { continue }
      let date = Date(timeIntervalSince1970: 1_700_000_000)
      let cached = LogTemplateMining.mine(lines: d.lines, referenceDate: date)
      let plain = LogTemplateMining.mine(lines: d.lines, referenceDate: date, miner: TemplateMiner(messageCache: false))
      #expect(cached.miner.cacheHits > d.lines.count / 2, "\(name): \(cached.miner.cacheHits) hits")
      #expect(plain.miner.cacheHits == 0)
      #expect(cached.ids == plain.ids, "\(name)")
      #expect(cached.miner.templates == plain.miner.templates, "\(name)")
      checked += 1
    }
    #expect(checked == 7)
  }
}
