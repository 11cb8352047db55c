import Foundation
import GRDB
import Ingest
import Pipeline
import Storage
import Testing
import _LongctxTestSupport

/// Task records keep their locators typed; the column keeps the text it always had.
@Suite struct StoredLocatorsTests {
  /// One locator of each kind, a nested path and a path outside ASCII.
  static let locators = [
    Locator(path: "logs/app.log", lineStart: 1, lineEnd: 40), Locator(path: "logs/app.log", lineStart: 7, lineEnd: 7),
    Locator(path: "contract.pdf", page: 2), Locator(path: "mail/ops.mbox", message: "weekly-10.tf@example"),
    Locator(path: "archive.pst", message: "17", folder: "Inbox/R&D"),
    Locator(path: "report.docx", paragraph: 12, paragraphEnd: 18), Locator(path: "page.html", paragraph: 3),
    Locator(path: "book.xlsx", sheet: "Sales!Europe", cells: "B2:C9"), Locator(path: "book.xlsx", sheet: "Notes"),
    Locator(path: "deck.pptx", slide: 7), Locator(path: "bundle.zip#member=dir/memo.docx", paragraph: 3),
    Locator(path: "notes/ünïcode & \"space\".txt", lineStart: 1, lineEnd: 12),
  ]

  /// The column's text as task records wrote it before they were typed: `JSONEncoder` over the citations.
  static func oldText(_ citations: [String]) -> String {
    String(decoding: (try? JSONEncoder().encode(citations)) ?? Data("[]".utf8), as: UTF8.self)
  }

  @Test func textIsTheJSONArrayOfCitationsAsItWasWritten() {
    let text = StoredLocators(wrappedValue: Self.locators).text
    #expect(
      text
        == #"["logs\/app.log#L1-L40","logs\/app.log#L7","contract.pdf#page=2","mail\/ops.mbox#msg=weekly-10.tf@example","archive.pst#folder=Inbox\/R&D&msg=17","report.docx#para=12-18","page.html#para=3","book.xlsx#sheet=Sales!Europe!B2:C9","book.xlsx#sheet=Notes","deck.pptx#slide=7","bundle.zip#member=dir\/memo.docx#para=3","notes\/ünïcode & \"space\".txt#L1-L12"]"#
    )
    #expect(text == Self.oldText(Self.locators.map(\.description)))
    #expect(StoredLocators(wrappedValue: []).text == "[]")
  }

  @Test func textReadsBackAsTheSameLocators() {
    let read = StoredLocators(text: StoredLocators(wrappedValue: Self.locators).text).wrappedValue
    // A paragraph read back has its end (`#para=3` is paragraphs 3 to 3); everything else is as written.
    var expected = Self.locators
    expected[6].paragraphEnd = 3
    expected[10].paragraphEnd = 3
    #expect(read == expected)
  }

  /// Citations that do not parse back exactly are kept as whole-file locators of the same text.
  @Test(arguments: [
    "notes.txt", "bundle.zip#member=dir/memo.txt", "a.log#L5-L5", "b.xlsx#sheet=Q#3!A1", "a.log#L03", "x#page=",
  ])
  func citationsThatDoNotParseBackKeepTheirText(citation: String) {
    let text = Self.oldText(["a.log#L1-L2", citation])
    let stored = StoredLocators(text: text)
    #expect(stored.wrappedValue == [Locator(path: "a.log", lineStart: 1, lineEnd: 2), Locator(path: citation)])
    #expect(stored.text == text)
  }

  /// Odd citations read as `Locator(citation:)` reads them, else keep their text.
  @Test func oddCitationsReadAsTheParseReadsThemOrKeepTheirText() {
    let citations = [
      "a.log#L1-L40", "a.log#L7", "a#L0", "a#page=0", "dir/c.pdf#page=12", "a#b#L3-L4", "z.zip#member=x.pdf#page=2",
      "#L1", "#page=1", "a#L1-", "a#L1-L", "a#L1-L2-L3", "a#page=12x", "a#page=-1", "a#L99999999999999999999",
      "a#L-1", "a#l1-l2", "a#L2-L1", "a#page=012", "ü/é.log#L3-L4", "a#L1L2", "m.mbox#msg=a%23b", "m.mbox#msg=a#b",
    ]
    let read = StoredLocators(text: Self.oldText(citations)).wrappedValue
    let parsed = citations.map { c in Locator(citation: c[...]).flatMap { $0.description == c ? $0 : nil } }
    #expect(read == zip(citations, parsed).map { c, g in g ?? Locator(path: c) })
    #expect(read.citations == citations)
    #expect(parsed.filter { $0 != nil }.count == 10)
    #expect(read[21] == Locator(path: "m.mbox", message: "a#b"))
  }

  @Test func textThatIsNotAnArrayOfStringsReadsAsNoLocators() {
    for text in ["", "not json", "{}", "[1, 2]"] { #expect(StoredLocators(text: text).wrappedValue.isEmpty) }
  }

  @Test func equalWhenTheyCiteAlike() {
    let a = StoredLocators(wrappedValue: [Locator(path: "r.docx", paragraph: 3)])
    let b = StoredLocators(wrappedValue: [Locator(path: "r.docx", paragraph: 3, paragraphEnd: 3)])
    #expect(a == b && a.hashValue == b.hashValue)
    #expect(a != StoredLocators(wrappedValue: [Locator(path: "r.docx", paragraph: 4)]))
  }

  @Test func codersOtherThanTheDatabaseSeeTheColumnText() throws {
    let stored = StoredLocators(wrappedValue: Self.locators)
    let json = try JSONEncoder().encode([stored])
    #expect(try JSONDecoder().decode([String].self, from: json) == [stored.text])
    #expect(try JSONDecoder().decode([StoredLocators].self, from: json) == [stored])
  }

  @Test func aTaskRecordWritesTheOldBytesAndReadsItsLocatorsTyped() throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    let task = TaskRecord(
      id: "t1", job: "j", kind: .map, level: 0, ordinal: 0, inputHash: "h", locators: Self.locators)
    try ws.db.write { db in try task.insert(db) }
    let bytes = try ws.db.read { db in
      try Data.fetchOne(db, sql: "SELECT CAST(locators AS BLOB) FROM task WHERE id = 't1'")
    }
    #expect(bytes == Data(Self.oldText(Self.locators.map(\.description)).utf8))
    let read = try #require(try TaskStore(workspace: ws).task(id: "t1"))
    #expect(read.locators.citations == Self.locators.citations)
    #expect(read.locators[2] == Locator(path: "contract.pdf", page: 2))
    #expect(read.locatorList == Self.locators.map(\.description))
    #expect(read == task)
  }
}
