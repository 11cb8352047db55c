import Foundation
import Testing
import _LongctxTestSupport

@testable import Ingest

/// A deterministic pseudo-English text of `words` words.
func generatedText(seed: UInt64, words: Int) -> String {
  let vocabulary = """
    the contract party shall deliver goods within days of notice payment invoice supplier customer \
    agreement term period warranty liability damages clause section schedule annex obligation \
    confidential information disclosure breach remedy termination renewal price quantity order \
    shipment acceptance inspection defect repair replace refund insurance law court dispute
    """.split(separator: " ").map(String.init)
  var state = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
  var out: [String] = []
  for i in 0..<words {
    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    out.append(vocabulary[Int(state >> 33) % vocabulary.count])
    if i % 12 == 11 { out[out.count - 1] += "." }
  }
  return out.joined(separator: " ")
}

@Suite struct SimHashTests {
  private func fingerprint(_ s: String) -> (hash: UInt64, words: Int) {
    SectionsCodec.withUTF8(s) { SimHash.fingerprint($0) }
  }

  /// The definition, bit by bit and byte by byte: what the table-driven
  /// `SimHash.fingerprint` must reproduce exactly (stored fingerprints stay valid).
  private func referenceFingerprint(_ bytes: [UInt8]) -> (hash: UInt64, words: Int) {
    var counts = [Int](repeating: 0, count: 64)
    var window: (UInt64, UInt64) = (0, 0)
    var words = 0
    let basis: UInt64 = 0xcbf2_9ce4_8422_2325
    var word = basis
    var inWord = false
    func shingle(_ h: UInt64) {
      var z = h &+ 0x9e37_79b9_7f4a_7c15
      z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
      z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
      let x = z ^ (z >> 31)
      for i in 0..<64 { counts[i] += (x >> UInt64(i)) & 1 == 1 ? 1 : -1 }
    }
    func rotate(_ x: UInt64, _ k: UInt64) -> UInt64 { x << k | x >> (64 - k) }
    func endWord() {
      guard inWord else { return }
      words += 1
      if words >= 3 { shingle(window.0 ^ rotate(window.1, 21) ^ rotate(word, 42)) }
      window = (window.1, word)
      word = basis
      inWord = false
    }
    for var b in bytes {
      if (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b >= 0x80 {
        if b >= 0x41 && b <= 0x5A { b |= 0x20 }
        word = (word ^ UInt64(b)) &* 0x0000_0100_0000_01B3
        inWord = true
      } else {
        endWord()
      }
    }
    endWord()
    if words > 0 && words < 3 {
      shingle(window.1)
      if words == 2 { shingle(window.0) }
    }
    var hash: UInt64 = 0
    for i in 0..<64 where counts[i] > 0 { hash |= 1 << UInt64(i) }
    return (hash, words)
  }

  @Test func fingerprintsMatchTheBitByBitDefinition() {
    var state: UInt64 = 42
    func next() -> UInt64 {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return state >> 33
    }
    // Every byte value appears: digits, both cases, punctuation, controls, UTF-8 and stray high bytes.
    let alphabet: [UInt8] = Array(0...255) + Array("abcdefghij KLMNOP 0123 .,\n".utf8)
    for round in 0..<40 {
      let length = [0, 1, 2, 5, 17, 300, 5000][round % 7] + Int(next() % 50)
      let bytes = (0..<length).map { _ in alphabet[Int(next()) % alphabet.count] }
      let got = bytes.withUnsafeBufferPointer { SimHash.fingerprint($0) }
      let want = referenceFingerprint(bytes)
      #expect(got.hash == want.hash && got.words == want.words, "round \(round), \(length) bytes")
    }
    let prose = Array(generatedText(seed: 7, words: 2000).utf8)
    let got = prose.withUnsafeBufferPointer { SimHash.fingerprint($0) }
    #expect(got.hash == referenceFingerprint(prose).hash && got.words == 2000)
  }

  @Test func nearIdenticalTextsAreCloseAndUnrelatedTextsAreFar() {
    let a = generatedText(seed: 1, words: 800)
    var words = a.split(separator: " ").map(String.init)
    words[100] = "amended"
    words[500] = "revised"
    let nearA = words.joined(separator: " ") + " Signed and dated."
    let b = generatedText(seed: 2, words: 800)
    let fa = fingerprint(a)
    #expect(fa.words == 800)
    let dNear = SimHash.distance(fa.hash, fingerprint(nearA).hash)
    let dFar = SimHash.distance(fa.hash, fingerprint(b).hash)
    #expect(dNear <= SimHash.maxDistance, "near: \(dNear) bits")
    #expect(dFar > 16, "unrelated: \(dFar) bits")
    // Case and punctuation do not matter; word order does.
    #expect(fingerprint(a.uppercased().replacingOccurrences(of: ".", with: ",")).hash == fa.hash)
    #expect(fingerprint(words.reversed().joined(separator: " ")).hash != fa.hash)
  }

  @Test func sectionsFingerprintEqualsTheJoinedText() {
    let sections = (0..<5).map {
      Section(
        locator: Locator(path: "x", lineStart: $0 + 1, lineEnd: $0 + 1),
        text: generatedText(seed: UInt64($0), words: 50))
    }
    let joined = sections.map(\.text).joined(separator: "\n")
    #expect(SimHash.fingerprint(sections: sections).hash == fingerprint(joined).hash)
    #expect(fingerprint("").words == 0)
    #expect(fingerprint("one two").words == 2)
  }

  @Test func groupsUseBandsButFindEveryCloseNeighbour() {
    // Fingerprints that differ in spread-out bits share few bands; grouping must still find them.
    let base: UInt64 = 0x0123_4567_89AB_CDEF
    let items: [(id: String, hash: UInt64)] = [
      ("a", base),
      ("b", base ^ (1 << 0 | 1 << 10 | 1 << 20 | 1 << 30 | 1 << 40 | 1 << 50)),  // 6 bits from a
      ("c", base ^ (1 << 0 | 1 << 10 | 1 << 20 | 1 << 30 | 1 << 40 | 1 << 50 | 1 << 60)),  // 1 from b, 7 from a
      ("d", ~base),  // far from all
      ("e", base ^ 0xFF00_0000_0000_00FF),  // 16 bits
    ]
    #expect(NearDuplicates.groups(items) == [["a", "b", "c"]])
    #expect(NearDuplicates.groups(items, maxDistance: 0).isEmpty)
    // Brute force agrees on random fingerprints with planted neighbours.
    var rng = SystemRandomNumberGenerator()
    var random: [(id: String, hash: UInt64)] = []
    for i in 0..<300 {
      let h = UInt64.random(in: .min ... .max, using: &rng)
      random.append(("r\(i)", h))
      var flipped = h
      for _ in 0..<Int.random(in: 0...6, using: &rng) { flipped ^= 1 << UInt64.random(in: 0..<64, using: &rng) }
      random.append(("s\(i)", flipped))
    }
    let groups = NearDuplicates.groups(random)
    for i in 0..<300 {
      #expect(SimHash.distance(random[2 * i].hash, random[2 * i + 1].hash) <= 6)
      #expect(groups.contains { $0.contains("r\(i)") && $0.contains("s\(i)") })
    }
  }
}

@Suite struct DuplicateReportTests {
  @Test func exactAndNearDuplicatesAreRecordedAndReported() async throws {
    let fixture = try IngestFixture()
    defer { fixture.remove() }
    let dir = fixture.dir.url.appendingPathComponent("docs")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let a = generatedText(seed: 11, words: 600)
    var words = a.split(separator: " ").map(String.init)
    words[42] = "amended"
    let files = [
      "memo.txt": a, "memo-copy.txt": a, "memo-v2.txt": words.joined(separator: " "),
      "other.txt": generatedText(seed: 12, words: 600), "short.txt": "too short to group",
      "short-2.txt": "too short to group!",
    ]
    for (name, text) in files {
      try text.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8)
    }
    _ = try await fixture.ingest(["docs"])
    let report = try Corpus(workspace: fixture.workspace).duplicates()
    #expect(report.exact.map(\.paths) == [["docs/memo-copy.txt", "docs/memo.txt"]])
    #expect(report.near.count == 1)
    let paths = report.near.first?.documents.map(\.paths)
    #expect(paths?.count == 2)
    #expect(paths?.contains(["docs/memo-copy.txt", "docs/memo.txt"]) == true)
    #expect(paths?.contains(["docs/memo-v2.txt"]) == true)
    #expect(report.near.first?.documents.allSatisfy { $0.distance <= SimHash.maxDistance } == true)

    // A deleted file leaves its group at the next ingest.
    try FileManager.default.removeItem(at: dir.appendingPathComponent("memo-v2.txt"))
    _ = try await fixture.ingest(["docs"])
    #expect(try Corpus(workspace: fixture.workspace).duplicates().near.isEmpty)
  }

  /// A mailed attachment joins the group of the file it nearly repeats, cited at its
  /// message's path (both messages that carry it).
  @Test func attachmentsAreGroupedWithTheFilesTheyNearlyRepeat() async throws {
    let fixture = try IngestFixture()
    defer { fixture.remove() }
    let text = generatedText(seed: 21, words: 600)
    var words = text.split(separator: " ").map(String.init)
    words[100] = "revised"
    try fixture.dir.write("case/contract.txt", text)
    let attachment = [("contract-v2.txt", "text/plain", Data(words.joined(separator: " ").utf8))]
    let mbox =
      "From a@harbor.example Mon Mar  9 08:00:00 2026\n"
      + EmailAttachmentTests.message(id: "m1@harbor.example", subject: "Draft", attachments: attachment)
      + "\nFrom a@harbor.example Mon Mar  9 09:00:00 2026\n"
      + EmailAttachmentTests.message(id: "m2@harbor.example", subject: "Draft again", attachments: attachment)
    try fixture.dir.write("case/mail.mbox", mbox)
    _ = try await fixture.ingest(["case"])
    let near = try Corpus(workspace: fixture.workspace).duplicates().near
    #expect(near.count == 1)
    #expect(
      near.first?.documents.map(\.paths) == [
        ["case/contract.txt"],
        [
          "case/mail.mbox#msg=m1@harbor.example/attachment=contract-v2.txt",
          "case/mail.mbox#msg=m2@harbor.example/attachment=contract-v2.txt",
        ],
      ])
  }
}
