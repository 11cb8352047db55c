import Foundation
import Logging
import Storage
import Testing
import _LongctxTestSupport

@testable import Ingest
@testable import Pipeline

/// The new kinds in a production, from documents stored as their extractors will store
/// them (the `.pst`, `.msg` and Office extractors are written elsewhere): two stores whose
/// messages are families of their own (the stores not produced), an Outlook reply without
/// threading headers, an Office attachment with its metadata, and a message found in both
/// stores produced once.
@Suite struct ProductionStoreTests {
  struct Stored {
    var hash: String
    var doc: EncodedDocument
    var links: [AttachmentLink] = []
  }

  static func stored(
    _ kind: DocumentKind, _ meta: [String: String], _ text: String, pages: Int? = nil, bytes: String? = nil,
    links: [AttachmentLink] = []
  ) -> Stored {
    let doc = ExtractedDocument(
      kind: kind, metadata: meta, sections: [Section(locator: Locator(path: "x"), text: text)], pageCount: pages,
      extractor: "test 1")
    return Stored(hash: Hashing.sha256(Data((bytes ?? text).utf8)), doc: EncodedDocument(doc), links: links)
  }

  static func link(_ suffix: String, _ s: Stored, _ name: String) -> AttachmentLink {
    AttachmentLink(suffix: suffix, documentHash: s.hash, fileName: name, contentType: "application/octet-stream")
  }

  @Test func storesMessagesOfficeFilesAndThreads() throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    let ingestor = Ingestor(workspace: ws, logger: Logger(label: "test"))
    var options = IngestOptions(base: tmp.url)
    options.redact = false

    let minutes = Self.stored(.text, ["attachment.fileName": "minutes.txt"], "Minutes of the budget call.\n")
    let memo = Self.stored(
      .office,
      [
        "attachment.fileName": "memo.docx", "author": "Ann Lee", "lastModifiedBy": "Bob Roe",
        "created": "2024-03-01T10:00:00Z", "modified": "2024-03-02T11:00:00Z", "lastPrinted": "2024-03-03T12:00:00Z",
        "title": "Budget memo", "company": "Acme & Sons", "revision": "7", "application": "Microsoft Office Word",
      ], "The budget memo.", pages: 2)
    let mail: [String: String] = [
      "from": "Ann Lee <ann@x.com>", "to": "bob@x.com", "subject": "Budget", "date": "Mon, 6 Jan 2025 09:00:00 +0000",
      "message-id": "<m1@x>",
    ]
    let body = "From: Ann Lee <ann@x.com>\nTo: bob@x.com\nSubject: Budget\n\nPlease see the memo and the minutes."
    let m1 = Self.stored(
      .email, mail, body,
      links: [
        Self.link("/attachment=minutes.txt", minutes, "minutes.txt"),
        Self.link("/attachment=memo.docx", memo, "memo.docx"),
      ])
    // The same message in the other store (another delivery: other bytes, the same email hash).
    let m1copy = Self.stored(.email, mail, body, bytes: body + "\nReceived: elsewhere")
    // An Outlook reply: no Message-ID, In-Reply-To or References.
    let m2 = Self.stored(
      .outlook,
      ["from": "bob@x.com", "to": "Ann Lee <ann@x.com>", "subject": "RE: Budget", "date": "2025-01-06T10:00:00Z"],
      "From: bob@x.com\nSubject: RE: Budget\n\nLooks good.\n\n> Please see the memo and the minutes.")
    let a = Self.stored(
      .pst, [:], "",
      bytes: "store a",
      links: [Self.link("#folder=Inbox&msg=m1", m1, "m1"), Self.link("#folder=Inbox&msg=m2", m2, "m2")])
    let b = Self.stored(.pst, [:], "", bytes: "store b", links: [Self.link("#folder=Sent&msg=m1", m1copy, "m1")])
    for s in [minutes, memo, m1, m1copy, m2, a, b] {
      try ingestor.store.store(s.doc, hash: s.hash, options: options, links: s.links)
    }
    for (name, s) in [("a.pst", a), ("b.pst", b)] {
      let file = try tmp.write(name, "not really a store")
      try ws.db.write { db in
        try SourceRow(
          path: file.path, displayPath: name, size: 18, mtime: 0, contentHash: s.hash, kind: "pst", status: .ok,
          reason: nil, seenAt: 0
        ).save(db)
      }
    }
    let files = [
      ("a.pst", a), ("a.pst#folder=Inbox&msg=m1", m1), ("a.pst#folder=Inbox&msg=m1/attachment=minutes.txt", minutes),
      ("a.pst#folder=Inbox&msg=m1/attachment=memo.docx", memo), ("a.pst#folder=Inbox&msg=m2", m2), ("b.pst", b),
      ("b.pst#folder=Sent&msg=m1", m1copy),
    ].map { IngestedFile(displayPath: $0.0, documentHash: $0.1.hash) }

    let yaml = """
      name: store
      inputs: [in]
      model: {engine: llama, context: 4096}
      map: {prompt: "{{window}}"}
      reduce: {prompt: "{{outputs}}"}
      production: {prefix: ST-, digits: 4, images: true}
      """
    let spec = try JobFile.parse(yaml, path: "j.yaml", baseDirectory: tmp.url.path)
    let out = tmp.url.appendingPathComponent("out")
    let summary = try Production(workspace: ws, spec: spec).produce(files: files, into: out)
    let (header, table) = try #require(
      Production.readDAT(try Data(contentsOf: out.appendingPathComponent("DATA/store.dat"))))
    let rows = table.map { Dictionary(uniqueKeysWithValues: zip(header, $0)) }
    // The stores are not documents; the copy in b.pst is a duplicate.
    #expect(rows.map { $0["FILEPATH"]! } == Array(files.map(\.displayPath)[1...4]))
    #expect(summary.duplicatesRemoved == 1 && summary.documents == 4)
    let (r1, rMinutes, rMemo, r2) = (rows[0], rows[1], rows[2], rows[3])
    #expect(r1["PARENTBATES"] == "" && r2["PARENTBATES"] == "" && r1["DOCTYPE"] == "Email")
    #expect(rMinutes["PARENTBATES"] == r1["BEGBATES"] && rMemo["PARENTBATES"] == r1["BEGBATES"])
    #expect(r1["ALLCUSTODIANS"] == "" && r1["ATTACHNAMES"] == "minutes.txt; memo.docx")
    // The Office attachment's metadata, its two pages, each a placeholder naming the renderer.
    #expect(rMemo["AUTHOR"] == "Ann Lee" && rMemo["LASTMODIFIEDBY"] == "Bob Roe" && rMemo["COMPANY"] == "Acme & Sons")
    #expect(
      rMemo["REVISION"] == "7" && rMemo["APPLICATION"] == "Microsoft Office Word" && rMemo["TITLE"] == "Budget memo")
    #expect(rMemo["DATECREATED"] == "2024-03-01T10:00:00Z" && rMemo["DATEMODIFIED"] == "2024-03-02T11:00:00Z")
    #expect(rMemo["DATELASTPRINTED"] == "2024-03-03T12:00:00Z" && rMemo["PAGECOUNT"] == "2")
    #expect(rMemo["FILENAME"] == "memo.docx" && rMemo["FILEEXT"] == "docx" && rMemo["DOCTYPE"] == "Attachment")
    #expect(summary.images == 5 && summary.placeholderImages == 5)
    // Messages: fields, ISO dates, and the Outlook reply threaded by subject and participants.
    #expect(
      r1["FROM"] == "Ann Lee <ann@x.com>" && r1["MESSAGEID"] == "m1@x" && r1["DATESENT"] == "2025-01-06T09:00:00Z")
    #expect(r2["THREADID"] == r1["THREADID"] && r1["THREADPOSITION"] == "1" && r2["THREADPOSITION"] == "1.1")
    // The reply quotes the message but drops its attachments: both are inclusive.
    #expect(r1["INCLUSIVE"] == "Y" && r2["INCLUSIVE"] == "Y")
    // No store extractor here to read the children's bytes again: said, and hashed over text.
    #expect(
      summary.warnings.contains { $0.hasPrefix("a.pst: 4 file(s) inside it could not be read again") },
      "\(summary.warnings)")
    #expect(rMemo["NATIVEPATH"] == "" && rMemo["SHA256HASH"] == Hashing.sha256(Data("The budget memo.".utf8)))
    #expect(Production.check(directory: out).isEmpty, "\(Production.check(directory: out))")
  }
}
