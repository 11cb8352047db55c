import Crypto
import Foundation
import Testing
import _LongctxTestSupport

/// Families, natives, de-NIST, email threads and the EDRM XML of a production, through the
/// real CLI on a crafted mailbox: a message with an attachment and an attached message that
/// has its own attachment (three levels), replies quoting each other, a branch, and an
/// attachment on the known-file list. The DAT is read by Python's csv module and the EDRM
/// XML by Python's xml.etree, independently of the code that wrote them.
@Suite struct ProduceFamiliesCLITests {
  let base = ProduceCLITests()

  static let budget = "line 1\nline 4: travel 1200\n"
  static let notes = "Travel notes: economy only.\n"
  static let known = "KNOWN FILE CONTENT, SHIPPED WITH EVERY COPY\n"

  static func part(_ name: String, _ text: String) -> String {
    """
    --b1
    Content-Type: text/plain; name="\(name)"
    Content-Disposition: attachment; filename="\(name)"
    Content-Transfer-Encoding: base64

    \(Data(text.utf8).base64EncodedString())

    """
  }

  static func message(
    id: String, date: String, from: String, to: String, subject: String, replyTo: [String] = [], body: String,
    parts: [String] = []
  ) -> String {
    var out =
      "From \(from) \(date)\nFrom: \(from)\nTo: \(to)\nSubject: \(subject)\nDate: \(date)\nMessage-ID: <\(id)>\n"
    if let last = replyTo.last {
      out += "In-Reply-To: <\(last)>\nReferences: \(replyTo.map { "<\($0)>" }.joined(separator: " "))\n"
    }
    guard !parts.isEmpty else { return out + "\n" + body + "\n\n" }
    out += "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b1\"\n\n"
    out += "--b1\nContent-Type: text/plain\n\n\(body)\n" + parts.joined() + "--b1--\n\n"
    return out
  }

  static func quote(_ text: String) -> String {
    text.split(separator: "\n", omittingEmptySubsequences: false).map { "> " + $0 }.joined(separator: "\n")
  }

  static func mailbox() -> String {
    let forwarded = """
      --b1
      Content-Type: message/rfc822
      Content-Disposition: attachment; filename="fwd.eml"

      From: cy@example.com
      To: ann@example.com
      Subject: Travel policy
      Date: Sun, 5 Jan 2025 09:00:00 +0000
      Message-ID: <f@x>
      MIME-Version: 1.0
      Content-Type: multipart/mixed; boundary="b2"

      --b2
      Content-Type: text/plain

      See the attached notes.
      --b2
      Content-Type: text/plain; name="notes.txt"
      Content-Disposition: attachment; filename="notes.txt"

      \(notes)
      --b2--

      """
    let a = "Here is the Q3 budget draft & the travel policy.\nPlease review by Friday."
    let b = "Numbers look fine to me.\n\nOn Mon, Ann wrote:\n" + quote(a)
    let c = "Agreed, ship it.\n\nOn Tue, Bob wrote:\n" + quote(b)
    let d = "One question on line 4.\n\nOn Mon, Ann wrote:\n" + quote(a)
    return message(
      id: "a@x", date: "Mon, 6 Jan 2025 09:00:00 +0000", from: "ann@example.com", to: "bob@example.com",
      subject: "Q3 budget <draft>", body: a, parts: [part("budget.txt", budget), forwarded])
      + message(
        id: "b@x", date: "Mon, 6 Jan 2025 10:00:00 +0000", from: "bob@example.com", to: "ann@example.com",
        subject: "Re: Q3 budget <draft>", replyTo: ["a@x"], body: b)
      + message(
        id: "c@x", date: "Tue, 7 Jan 2025 08:00:00 +0000", from: "ann@example.com", to: "bob@example.com",
        subject: "RE: Q3 budget <draft>", replyTo: ["a@x", "b@x"], body: c, parts: [part("known.txt", known)])
      + message(
        id: "d@x", date: "Mon, 6 Jan 2025 11:00:00 +0000", from: "cy@example.com", to: "ann@example.com",
        subject: "Re: Q3 budget <draft>", replyTo: ["a@x"], body: d, parts: [part("budget.txt", budget)])
  }

  /// The EDRM XML as Python's ElementTree reads it.
  func readEDRM(_ path: URL) throws -> (root: [String: String], documents: [[String: Any]], links: [[String]]) {
    let script = """
      import json, sys
      import xml.etree.ElementTree as ET
      root = ET.parse(sys.argv[1]).getroot()
      docs = []
      for d in root.iter("Document"):
          files = [{"type": f.get("FileType"), "path": e.get("FilePath"), "name": e.get("FileName"),
                    "hash": e.get("Hash") or "", "size": e.get("FileSize") or ""}
                   for f in d.iter("File") for e in f.iter("ExternalFile")]
          docs.append({"id": d.get("DocID"), "type": d.get("DocType"),
                       "tags": {t.get("TagName"): t.get("TagValue") for t in d.iter("Tag")},
                       "tagCount": len(list(d.iter("Tag"))), "files": files,
                       "custodian": d.findtext("Locations/Location/Custodian"),
                       "uri": d.findtext("Locations/Location/LocationURI")})
      links = [[r.get("Type"), r.get("ParentDocId"), r.get("ChildDocId")] for r in root.iter("Relationship")]
      print(json.dumps({"root": dict(root.attrib), "docs": docs, "links": links}))
      """
    let (data, status) = try Python.run(script, [path.path])
    #expect(status == 0, "\(String(decoding: data, as: UTF8.self))")
    let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    return (
      json["root"] as? [String: String] ?? [:], json["docs"] as? [[String: Any]] ?? [],
      json["links"] as? [[String]] ?? []
    )
  }

  @Test func familiesNativesDenistThreadsAndEDRM() throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try tmp.write("mail/inbox.mbox", Self.mailbox())
    let sha1 = Insecure.SHA1.hash(data: Data(Self.known.utf8)).map { String(format: "%02x", $0) }.joined()
    try tmp.write("known.txt", sha1 + "\n")
    try tmp.write(
      "job.yaml",
      """
      name: fam
      inputs: [{path: mail, custodian: "Able, Ann"}]
      model: {engine: llama, context: 4096}
      map: {prompt: "{{window}}"}
      reduce: {prompt: "{{outputs}}"}
      ingest: {redact: false}
      production: {prefix: FAM-, digits: 4, images: true}
      """)
    let ws = tmp.url.appendingPathComponent("ws").path
    let r = try CLI.run(
      ["produce", "job.yaml", "-o", "out", "--workspace", ws, "--json", "--denist", "known.txt"], cwd: tmp.url)
    #expect(r.code == 0, "\(r.stderr)")
    struct Summary: Decodable {
      var documents: Int
      var knownFilesRemoved: Int
      var threads: Int
      var inclusiveMessages: Int
      var warnings: [String]
    }
    let summary = try JSONDecoder().decode(Summary.self, from: Data(r.stdout.utf8))
    #expect(summary.knownFilesRemoved == 1, "\(r.stdout)")
    // A's thread and the forwarded message's; A, C, D and the forwarded message must be read.
    #expect(summary.threads == 2 && summary.inclusiveMessages == 4, "\(r.stdout)")
    let rows = try base.readDAT(tmp.url.appendingPathComponent("out/DATA/fam.dat"))
    func row(_ suffix: String) throws -> [String: String] {
      try #require(rows.first { $0["FILEPATH"]!.hasSuffix(suffix) }, "\(rows.map { $0["FILEPATH"]! })")
    }
    // Four messages, A's budget.txt, fwd.eml and its notes.txt, D's budget.txt; C's known.txt is gone.
    // (An attached message's attachments are its own children, not also the outer message's.)
    #expect(rows.count == 8 && summary.documents == 8, "\(rows.map { $0["FILEPATH"]! })")
    #expect(!rows.contains { $0["FILENAME"] == "known.txt" })
    let a = try row("#msg=a@x")
    let b = try row("#msg=b@x")
    let c = try row("#msg=c@x")
    let d = try row("#msg=d@x")
    let budget = try row("#msg=a@x/attachment=budget.txt")
    let fwd = try row("#msg=a@x/attachment=fwd.eml")
    let notes = try row("/attachment=fwd.eml#msg=f@x/attachment=notes.txt")

    // Families: three levels, each child under its direct parent, all in A's attachment range.
    #expect(budget["PARENTBATES"] == a["BEGBATES"] && fwd["PARENTBATES"] == a["BEGBATES"])
    #expect(notes["PARENTBATES"] == fwd["BEGBATES"])
    #expect(a["ENDATTACH"] == notes["ENDBATES"])
    #expect(!rows.contains { $0["FILEPATH"]!.hasSuffix("#msg=a@x/attachment=notes.txt") })
    for child in [budget, fwd, notes] {
      #expect(child["BEGATTACH"] == a["BEGBATES"] && child["ENDATTACH"] == a["ENDATTACH"], "\(child)")
    }
    #expect(a["ATTACHCOUNT"] == "2" && a["ATTACHNAMES"] == "budget.txt; fwd.eml", "\(a)")
    #expect(fwd["ATTACHCOUNT"] == "1" && fwd["ATTACHNAMES"] == "notes.txt")
    #expect(a["DOCTYPE"] == "Email" && budget["DOCTYPE"] == "Attachment" && fwd["DOCTYPE"] == "Email attachment")

    // Natives: every child's own bytes, its hashes over them.
    func native(_ row: [String: String]) throws -> Data {
      try Data(contentsOf: tmp.url.appendingPathComponent("out/" + row["NATIVEPATH"]!))
    }
    #expect(try native(budget) == Data(Self.budget.utf8) && budget["FILEEXT"] == "txt")
    #expect(try native(notes) == Data(Self.notes.utf8))
    #expect(budget["FILESIZE"] == String(Self.budget.utf8.count))
    #expect(
      budget["SHA256HASH"] == SHA256.hash(data: Data(Self.budget.utf8)).map { String(format: "%02x", $0) }.joined())
    let fwdSubject = try Python.run(
      "import email, sys; print(email.message_from_bytes(open(sys.argv[1], 'rb').read())['Subject'])",
      [tmp.url.appendingPathComponent("out/" + fwd["NATIVEPATH"]!).path])
    #expect(
      String(decoding: fwdSubject.0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) == "Travel policy")

    // Mail fields and dates (ISO 8601, UTC).
    #expect(a["FROM"] == "ann@example.com" && a["SUBJECT"] == "Q3 budget <draft>" && a["MESSAGEID"] == "a@x")
    #expect(a["DATESENT"] == "2025-01-06T09:00:00Z" && fwd["DATESENT"] == "2025-01-05T09:00:00Z")

    // Threads: A ← B ← C and A ← D in one thread; the forwarded message is a thread of its own.
    #expect(Set([a, b, c, d].map { $0["THREADID"]! }).count == 1 && !(a["THREADID"] ?? "").isEmpty)
    #expect(fwd["THREADID"] != a["THREADID"] && fwd["THREADPOSITION"] == "1" && fwd["INCLUSIVE"] == "Y")
    #expect([a, b, c, d].map { $0["THREADPOSITION"]! } == ["1", "1.1", "1.1.1", "1.2"])
    // B is carried whole by C; A's text is in D but not its fwd.eml: A, C and D must be read.
    #expect([a, b, c, d].map { $0["INCLUSIVE"]! } == ["Y", "N", "Y", "Y"])
    #expect(budget["THREADID"] == "" && budget["INCLUSIVE"] == "")

    // The EDRM XML, read by ElementTree: the DAT's documents, fields and families.
    let xmlURL = tmp.url.appendingPathComponent("out/DATA/fam.xml")
    let edrm = try readEDRM(xmlURL)
    #expect(edrm.root["MajorVersion"] == "1" && edrm.root["MinorVersion"] == "2")
    #expect(edrm.documents.count == rows.count)
    let fileColumns: Set<String> = ["TEXTPATH", "NATIVEPATH", "IMAGEPATH"]
    for (doc, row) in zip(edrm.documents, rows) {
      #expect(doc["id"] as? String == row["BEGBATES"])
      #expect(doc["type"] as? String == (row["DOCTYPE"]!.hasPrefix("Email") ? "Message" : "File"))
      let tags = doc["tags"] as? [String: String] ?? [:]
      #expect(doc["tagCount"] as? Int == row.filter { !$0.value.isEmpty && !fileColumns.contains($0.key) }.count)
      for (tag, column) in [
        ("BegBates", "BEGBATES"), ("EndBates", "ENDBATES"), ("BegAttach", "BEGATTACH"), ("#From", "FROM"),
        ("#Subject", "SUBJECT"), ("#FileName", "FILENAME"), ("#MD5Hash", "MD5HASH"), ("ThreadID", "THREADID"),
        ("Inclusive", "INCLUSIVE"), ("ParentBates", "PARENTBATES"), ("#DateSent", "DATESENT"),
      ] {
        #expect(tags[tag] ?? "" == row[column]!, "\(row["BEGBATES"]!) \(tag)")
      }
      let files = doc["files"] as? [[String: String]] ?? []
      let nativeFile = files.first { $0["type"] == "Native" }
      #expect(nativeFile.map { $0["path"]! + "/" + $0["name"]! } == row["NATIVEPATH"], "\(files)")
      #expect(nativeFile?["hash"] == row["MD5HASH"])
      #expect(files.first { $0["type"] == "Text" }.map { $0["path"]! + "/" + $0["name"]! } == row["TEXTPATH"])
      #expect(files.filter { $0["type"] == "Image" }.count == Int(row["PAGECOUNT"]!))
      #expect(doc["custodian"] as? String == "Able, Ann" && doc["uri"] as? String == row["FILEPATH"])
    }
    let expectedLinks = rows.filter { !$0["PARENTBATES"]!.isEmpty }.map {
      ["Attachment", $0["PARENTBATES"]!, $0["BEGBATES"]!]
    }
    #expect(edrm.links == expectedLinks)

    let check = try CLI.run(["produce", "--check", "out"], cwd: tmp.url)
    #expect(check.code == 0 && check.stdout.contains("sound"), "\(check.stdout)")
    // A field changed in the XML, and a relationship dropped, are found out.
    var xml = try String(contentsOf: xmlURL, encoding: .utf8)
    xml = xml.replacingOccurrences(of: "TagValue=\"ann@example.com\"", with: "TagValue=\"eve@example.com\"")
    xml = xml.replacingOccurrences(
      of:
        "<Relationship Type=\"Attachment\" ParentDocId=\"\(fwd["BEGBATES"]!)\" ChildDocId=\"\(notes["BEGBATES"]!)\"/>",
      with: "")
    try xml.write(to: xmlURL, atomically: true, encoding: .utf8)
    let damaged = try CLI.run(["produce", "--check", "out"], cwd: tmp.url)
    #expect(damaged.code == 1, "\(damaged.stdout)")
    #expect(
      damaged.stdout.contains("tag #From is “eve@example.com” where the DAT has “ann@example.com”"), "\(damaged.stdout)"
    )
    #expect(
      damaged.stdout.contains("no Attachment relationship \(fwd["BEGBATES"]!) → \(notes["BEGBATES"]!)"),
      "\(damaged.stdout)")
  }
}
