import Testing

@testable import Ingest

/// The citation forms of paragraphs, sheets, slides, store folders and
/// documents inside documents: each prints and parses back to itself.
@Suite struct LocatorKindsTests {
  @Test(arguments: [
    "report.docx#para=12",
    "report.docx#para=12-18",
    "book.xlsx#sheet=Q3!A1:F40",
    "book.xlsx#sheet=Q3",
    "book.xlsx#sheet=Sales!Europe!B2:C9",
    "book.xlsx#sheet=Totals!$A$1",
    "deck.pptx#slide=7",
    "archive.pst#folder=Inbox/Projects&msg=<a1@x.example>",
    "archive.pst#folder=R&D&msg=17",
    "bundle.zip#member=dir/memo.docx#para=3",
    "inbox.mbox#msg=a1@x/attachment=deck.pptx#slide=2",
    "bundle.zip#member=a/b.zip#member=c.txt#L1-L9",
  ])
  func citationsRoundTrip(_ citation: String) throws {
    let locator = try #require(Locator(citation: Substring(citation)))
    #expect(locator.description == citation)
  }

  @Test func partsAreWhereTheyBelong() throws {
    let nested = try #require(Locator(citation: "bundle.zip#member=dir/memo.docx#para=3-5"))
    #expect(nested.path == "bundle.zip#member=dir/memo.docx")
    #expect(nested.paragraph == 3 && nested.paragraphEnd == 5)
    let sheet = try #require(Locator(citation: "book.xlsx#sheet=Sales!Europe!B2:C9"))
    #expect(sheet.sheet == "Sales!Europe" && sheet.cells == "B2:C9")
    let store = try #require(Locator(citation: "archive.pst#folder=R&D&msg=17"))
    #expect(store.folder == "R&D" && store.message == "17")
  }

  @Test(arguments: ["a.docx#para=0", "a.docx#para=5-2", "a.docx#para=x", "a.pptx#slide=", "a.xlsx#sheet="])
  func malformedCitationsAreNotLocators(_ text: String) {
    #expect(Locator(citation: Substring(text)) == nil)
  }

  @Test func newUnitsDoNotMergeAsLines() {
    let a = Locator(path: "a.docx", paragraph: 1, paragraphEnd: 2)
    let b = Locator(path: "a.docx", paragraph: 3)
    #expect(a.merged(with: b) == nil)
  }
}
