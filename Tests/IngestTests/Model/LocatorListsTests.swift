import Ingest
import Testing

/// The algebra of locator lists: compacting line ranges, each citation once.
@Suite struct LocatorListsTests {
  static func lines(_ path: String, _ start: Int, _ end: Int) -> Locator {
    Locator(path: path, lineStart: start, lineEnd: end)
  }

  @Test func compactedMergesAdjacentAndOverlappingLineRangesOfOneFileInOrder() {
    let list = [
      Self.lines("a.log", 1, 40), Self.lines("a.log", 41, 80), Self.lines("a.log", 70, 90),
      Self.lines("a.log", 92, 95), Self.lines("b.log", 96, 99), Self.lines("a.log", 96, 99),
    ]
    #expect(
      list.compacted().citations == [
        "a.log#L1-L90", "a.log#L92-L95", "b.log#L96-L99", "a.log#L96-L99",
      ])
  }

  @Test func compactedKeepsOtherUnitsAndDropsOnlyARepeatOfTheOneBefore() {
    let page2 = Locator(path: "c.pdf", page: 2)
    let page3 = Locator(path: "c.pdf", page: 3)
    let message = Locator(path: "s.pst", message: "<1@x>", folder: "Inbox/R&D")
    let list = [page2, page2, page3, message, page2, Self.lines("a.log", 1, 1), Self.lines("a.log", 2, 2)]
    #expect(list.compacted() == [page2, page3, message, page2, Self.lines("a.log", 1, 2)])
    #expect([Locator]().compacted().isEmpty)
  }

  @Test func uniquedKeepsTheFirstOfEachCitationInOrder() {
    // One paragraph, with and without its end: the same citation, `#para=3`.
    let para = Locator(path: "r.docx", paragraph: 3)
    let paraWithEnd = Locator(path: "r.docx", paragraph: 3, paragraphEnd: 3)
    let sheet = Locator(path: "b.xlsx", sheet: "Q3", cells: "A1:F40")
    let list = [sheet, para, Self.lines("a.log", 1, 5), paraWithEnd, sheet, Locator(path: "d.pptx", slide: 7)]
    #expect(list.uniqued() == [sheet, para, Self.lines("a.log", 1, 5), Locator(path: "d.pptx", slide: 7)])
    #expect(list.uniqued().citations == ["b.xlsx#sheet=Q3!A1:F40", "r.docx#para=3", "a.log#L1-L5", "d.pptx#slide=7"])
  }

  @Test func citationsAreTheDescriptionsInOrder() {
    let list = [
      Locator(path: "mail/box.mbox", message: "m1"), Locator(path: "x.log", lineStart: 4, lineEnd: 4),
      Locator(path: "notes.txt"),
    ]
    #expect(list.citations == ["mail/box.mbox#msg=m1", "x.log#L4", "notes.txt"])
  }
}
