import Testing

@testable import Ingest

/// Every locator the code writes reads back equal from its citation, whatever its path,
/// message id, folder or sheet name holds (`#`, `&`, `=`, `!`, `%`, spaces, non-ASCII).
@Suite struct LocatorCitationTests {
  /// Locators from a deterministic stream (the target's `SplitMix64`), so a failure names a reproducible case.
  struct Generator {
    var random: SplitMix64

    init(state: UInt64) { random = SplitMix64(state: state) }

    mutating func next() -> UInt64 { random.next() }

    mutating func int(_ range: ClosedRange<Int>) -> Int {
      range.lowerBound + Int(next() % UInt64(range.upperBound - range.lowerBound + 1))
    }

    /// Text made of pieces that trouble a citation: its separators, its escapes, fragments.
    mutating func text(maxPieces: Int = 6) -> String {
      let pieces = [
        "#", "&", "=", "!", "%", "%23", "%25", "%26", "%21", "%2", " ", "é", "日本", "/", "@", "msg=", "&msg=",
        "#L5", "#page=2", "#msg=x", "#para=3", "!A1", "!B2:C9", "L7", "page=1", "sheet=", "folder=", "<", ">", "a",
        "Q3", "x.y", "-", "$A$1",
      ]
      var out = ""
      for _ in 0..<int(1...maxPieces) { out += pieces[int(0...(pieces.count - 1))] }
      return out
    }

    /// A locator of one kind, as the extractors make them.
    mutating func locator() -> Locator {
      let path = text()
      let n = int(1...2_000)
      switch int(0...7) {
      case 0: return Locator(path: path, page: n)
      case 1: return Locator(path: path, lineStart: n, lineEnd: n + int(0...50))
      case 2: return Locator(path: path, message: text())
      case 3: return Locator(path: path, message: text(), folder: text())
      case 4: return Locator(path: path, paragraph: n, paragraphEnd: n + int(0...9))
      case 5: return Locator(path: path, sheet: text(), cells: int(0...1) == 0 ? nil : "A1:F\(n)")
      case 6: return Locator(path: path, slide: n)
      default: return Locator(path: path)
      }
    }
  }

  @Test func generatedLocatorsReadBackEqual() throws {
    var generator = Generator(state: 29)
    for _ in 0..<20_000 {
      let locator = generator.locator()
      let citation = locator.description
      if locator == Locator(path: locator.path) {
        // A whole file: its bare path, which reads as a citation only when the path ends in one.
        #expect(citation == locator.path)
      } else {
        #expect(Locator(citation: citation[...]) == locator, "\(citation) from \(locator)")
      }
    }
  }

  /// The cases the last `#` once broke, and their citations: plain text unless escaping is needed.
  @Test(arguments: [
    (Locator(path: "a.mbox", message: "x#y@host"), "a.mbox#msg=x%23y@host"),
    (Locator(path: "a.mbox", message: "x#L5"), "a.mbox#msg=x%23L5"),
    (Locator(path: "a.mbox", message: "100%@host"), "a.mbox#msg=100%@host"),
    (Locator(path: "a.mbox", message: "a%23b"), "a.mbox#msg=a%2523b"),
    (Locator(path: "a.mbox", message: "a&msg=b!c"), "a.mbox#msg=a&msg=b!c"),
    (Locator(path: "s.pst", message: "1", folder: "Inbox/#2 R&D"), "s.pst#folder=Inbox/%232 R%26D&msg=1"),
    (Locator(path: "s.pst", message: "1", folder: "R&D"), "s.pst#folder=R&D&msg=1"),
    (Locator(path: "s.pst", message: "1", folder: "a&msg=b"), "s.pst#folder=a%26msg=b&msg=1"),
    (Locator(path: "b.xlsx", sheet: "Q#3", cells: "A1:B2"), "b.xlsx#sheet=Q%233!A1:B2"),
    (Locator(path: "b.xlsx", sheet: "Sales!B2"), "b.xlsx#sheet=Sales%21B2"),
    (Locator(path: "b.xlsx", sheet: "Sales!B2", cells: "C3"), "b.xlsx#sheet=Sales!B2!C3"),
    (Locator(path: "notes #1.txt", lineStart: 1, lineEnd: 4), "notes #1.txt#L1-L4"),
    (Locator(path: "a.mbox#msg=k#1/attachment=r #2.pdf", page: 2), "a.mbox#msg=k#1/attachment=r #2.pdf#page=2"),
    (Locator(path: "ünï code & space.txt", lineStart: 3, lineEnd: 3), "ünï code & space.txt#L3"),
  ])
  func citationIsPlainUnlessItMustEscape(_ locator: Locator, _ citation: String) {
    #expect(locator.description == citation)
    #expect(Locator(citation: citation[...]) == locator)
  }

  @Test(arguments: [
    "a.log#L05-L7x", "a.log#L-5", "a.log#L5-", "a.log#L5-L", "a.pdf#page=+2", "a.pdf#page=-2", "a.pdf#page=",
    "a.pdf#page=1234567890123456789", "#page=2", "a.txt", "a.txt#", "s.pst#folder=a&msg=", "a.docx#para=1-2-3",
  ])
  func notCitations(_ text: String) {
    #expect(Locator(citation: text[...]) == nil)
  }

  /// A path holding `#msg=` is a path: the fragment is what follows the last `#`.
  @Test func aPathHoldingAFragmentIsAPath() throws {
    let child = try #require(Locator(citation: "m.mbox#msg=<a#1@x>/attachment=r.pdf#page=3"))
    #expect(child.path == "m.mbox#msg=<a#1@x>/attachment=r.pdf" && child.page == 3)
    // The one form that does not read back: a whole file whose path ends in a fragment.
    let whole = Locator(path: "z.zip#member=x#L5")
    #expect(Locator(citation: whole.description[...]) == Locator(path: "z.zip#member=x", lineStart: 5, lineEnd: 5))
  }
}
