import Foundation
import Ingest
import Testing
import _LongctxTestSupport

/// `longctx produce --images` through the real CLI: the Opticon cross-reference read back
/// with Python's csv module, each TIFF's header read by a small independent reader
/// (Python's struct), page sizes from poppler-utils' `pdfinfo`.
@Suite struct ProduceImagesCLITests {
  let base = ProduceCLITests()

  /// The OPT's lines as Python's csv module reads them, each with its image's TIFF tags
  /// (width, height, compression, x resolution) read from the file's first directory.
  func readOPT(_ dir: URL, name: String) throws -> [[String: String]] {
    let script = """
      import csv, json, os, struct, sys
      out = []
      def tiff(path):
          d = open(path, "rb").read()
          e = "<" if d[:2] == b"II" else ">"
          assert struct.unpack(e + "H", d[2:4])[0] == 42
          off = struct.unpack(e + "I", d[4:8])[0]
          n = struct.unpack(e + "H", d[off:off + 2])[0]
          tags = {}
          for i in range(n):
              t, ty, c, v = struct.unpack(e + "HHII", d[off + 2 + 12 * i: off + 14 + 12 * i])
              if ty == 3: v = struct.unpack(e + "H", d[off + 10 + 12 * i: off + 12 + 12 * i])[0]
              if ty == 5:
                  a, b = struct.unpack(e + "II", d[v:v + 8]); v = a / b
              tags[t] = v
          return {"width": str(tags[256]), "height": str(tags[257]), "compression": str(tags[259]),
                  "xres": str(round(tags.get(282, 0))), "bits": str(tags.get(258, 1))}
      with open(os.path.join(sys.argv[1], "DATA", sys.argv[2]), newline="") as f:
          for row in csv.reader(f):
              r = dict(zip(["bates", "volume", "image", "docbreak", "a", "b", "pages"], row))
              r["fields"] = str(len(row))
              p = os.path.join(sys.argv[1], r["image"])
              if os.path.exists(p): r.update(tiff(p))
              out.append(r)
      print(json.dumps(out))
      """
    let (data, status) = try Python.run(script, [dir.path, name])
    #expect(status == 0)
    return try JSONDecoder().decode([[String: String]].self, from: data)
  }

  /// Page sizes in points of a PDF, from `pdfinfo` (nil when poppler-utils is absent).
  func pdfPageSizes(_ url: URL) throws -> [(Double, Double)]? {
    guard FileManager.default.isExecutableFile(atPath: "/usr/bin/pdfinfo") else { return nil }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/pdfinfo")
    p.arguments = ["-f", "1", "-l", "9999", url.path]
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    return text.split(separator: "\n").filter { $0.hasPrefix("Page") && $0.contains("size:") }.compactMap { line in
      let parts = line.split(separator: " ")
      guard let i = parts.firstIndex(of: "size:"), i + 3 < parts.count, let w = Double(parts[i + 1]),
        let h = Double(parts[i + 3])
      else { return nil }
      return (w, h)
    }
  }

  @Test func imagesAndTheOpticonMatchTheDAT() throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try base.fixture(tmp)
    let ws = tmp.url.appendingPathComponent("ws").path
    let r = try CLI.run(
      ["produce", "jobs/production.yaml", "-o", "out", "--workspace", ws, "--json", "--images"], cwd: tmp.url)
    #expect(r.code == 0, "\(r.stderr)")
    struct Summary: Decodable {
      var pages: Int
      var images: Int
      var placeholderImages: Int
    }
    let summary = try JSONDecoder().decode(Summary.self, from: Data(r.stdout.utf8))
    let out = tmp.url.appendingPathComponent("out")
    let rows = try base.readDAT(out.appendingPathComponent("DATA/production.dat"))
    let opt = try readOPT(out, name: "production.opt")
    // One image per page, one OPT line per image.
    let files = try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("IMAGES").path)
    #expect(files.count == summary.pages && opt.count == summary.pages && summary.images == summary.pages)
    #expect(summary.placeholderImages == rows.filter { $0["FILEEXT"] != "pdf" }.count, "\(r.stdout)")
    // OPT lines follow the DAT's ranges; DOCBREAK and the page count on each document's first page.
    var i = 0
    for row in rows {
      let pages = Int(row["PAGECOUNT"]!)!
      #expect(opt[i]["bates"] == row["BEGBATES"] && opt[i]["docbreak"] == "Y" && opt[i]["pages"] == String(pages))
      #expect(row["IMAGEPATH"] == opt[i]["image"] && opt[i]["image"] == "IMAGES/\(row["BEGBATES"]!).tif")
      for k in 1..<pages { #expect(opt[i + k]["docbreak"] == "" && opt[i + k]["pages"] == "") }
      #expect(opt[i + pages - 1]["bates"] == row["ENDBATES"])
      i += pages
    }
    for line in opt {
      #expect(line["fields"] == "7" && line["volume"] == "production")
      // Black and white, CCITT Group 4 (compression 4), 300 dpi.
      #expect(line["compression"] == "4" && line["bits"] == "1" && line["xres"] == "300", "\(line)")
    }
    // A PDF page's image is its size at 300 dpi.
    let pdf = try #require(rows.first { $0["FILENAME"] == "contract.pdf" })
    if let sizes = try pdfPageSizes(tmp.url.appendingPathComponent("pdfs/contract.pdf")) {
      #expect(sizes.count == Int(pdf["PAGECOUNT"]!))
      let first = opt.firstIndex { $0["bates"] == pdf["BEGBATES"] }!
      for (k, (w, h)) in sizes.enumerated() {
        #expect(opt[first + k]["width"] == String(Int((w * 300 / 72).rounded())), "\(opt[first + k])")
        #expect(opt[first + k]["height"] == String(Int((h * 300 / 72).rounded())), "\(opt[first + k])")
      }
    } else {
      print("pdfinfo absent: the page sizes are not compared")
    }
    // The stamp is there: the tesseract CLI (its own leptonica G4 decoder) reads the Bates
    // number off the last page of the contract.
    if FileManager.default.isExecutableFile(atPath: "/usr/bin/tesseract") {
      let last = opt.last { $0["bates"] == pdf["ENDBATES"] }!
      let p = Process()
      p.executableURL = URL(fileURLWithPath: "/usr/bin/tesseract")
      p.arguments = [out.appendingPathComponent(last["image"]!).path, "stdout"]
      let pipe = Pipe()
      p.standardOutput = pipe
      p.standardError = FileHandle.nullDevice
      try p.run()
      let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      p.waitUntilExit()
      #expect(text.contains(last["bates"]!), "\(text)")
    } else {
      print("tesseract CLI absent: the stamp is not read back")
    }
    let check = try CLI.run(["produce", "--check", "out"], cwd: tmp.url)
    #expect(check.code == 0 && check.stdout.contains("sound"), "\(check.stdout)\(check.stderr)")

    // A missing image and a DOCBREAK moved are found out.
    try FileManager.default.removeItem(at: out.appendingPathComponent(opt[1]["image"]!))
    let optURL = out.appendingPathComponent("DATA/production.opt")
    var lines = try String(contentsOf: optURL, encoding: .utf8).components(separatedBy: "\r\n")
    lines[1] = lines[1].replacingOccurrences(of: ",,,,", with: ",Y,,,")
    try lines.joined(separator: "\r\n").write(to: optURL, atomically: true, encoding: .utf8)
    let damaged = try CLI.run(["produce", "--check", "out"], cwd: tmp.url)
    #expect(damaged.code == 1, "\(damaged.stdout)")
    #expect(damaged.stdout.contains("image \(opt[1]["image"]!) is missing"), "\(damaged.stdout)")
    if opt[1]["docbreak"] == "" {
      #expect(damaged.stdout.contains("DOCBREAK inside a document"), "\(damaged.stdout)")
    }
  }

  /// Pages are imaged in isolated children: a renderer that crashes on one PDF costs that
  /// document's images (placeholders saying why, a warning), not the production; the other
  /// PDF is rendered and the production checks sound.
  @Test func aRendererCrashCostsOneDocumentsImages() throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try base.fixture(tmp)
    let ws = tmp.url.appendingPathComponent("ws").path
    let r = try CLI.run(
      ["produce", "jobs/production.yaml", "-o", "out", "--workspace", ws, "--json", "--images"], cwd: tmp.url,
      environment: ["LONGCTX_FAULT_INJECTION": "render-crash=contract"])
    #expect(r.code == 0, "\(r.stderr)")
    struct Summary: Decodable {
      var pages: Int
      var images: Int
      var placeholderImages: Int
      var warnings: [String]
    }
    let summary = try JSONDecoder().decode(Summary.self, from: Data(r.stdout.utf8))
    let out = tmp.url.appendingPathComponent("out")
    let rows = try base.readDAT(out.appendingPathComponent("DATA/production.dat"))
    let contract = try #require(rows.first { $0["FILENAME"] == "contract.pdf" })
    let memo = try #require(rows.first { $0["FILENAME"] == "memo.pdf" })
    let nonPDF = rows.filter { $0["FILEEXT"] != "pdf" }.count
    // Every page has an image; the contract's are all placeholders, the memo's rendered.
    #expect(summary.images == summary.pages)
    #expect(summary.placeholderImages == nonPDF + Int(contract["PAGECOUNT"]!)!, "\(r.stdout)")
    #expect(
      summary.warnings.contains { $0.contains("contract.pdf") && $0.contains("renderer crashed") },
      "\(summary.warnings)")
    #expect(!summary.warnings.contains { $0.contains("memo.pdf") }, "\(summary.warnings)")
    let files = try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("IMAGES").path)
    #expect(files.count == summary.pages)
    let check = try CLI.run(["produce", "--check", "out"], cwd: tmp.url)
    #expect(check.code == 0 && check.stdout.contains("sound"), "\(check.stdout)\(check.stderr)")

    // Without the fault the same production renders the contract: the placeholders came from the
    // crash. Renders are byte-identical from run to run, so the memo's images are the same files
    // and the contract's are not.
    let clean = try CLI.run(
      ["produce", "jobs/production.yaml", "-o", "out2", "--workspace", ws, "--json", "--images"], cwd: tmp.url)
    let cleanSummary = try JSONDecoder().decode(Summary.self, from: Data(clean.stdout.utf8))
    #expect(cleanSummary.placeholderImages == nonPDF, "\(clean.stdout)")
    let image = { (dir: String, bates: String) in
      FileManager.default.contents(atPath: tmp.url.appendingPathComponent("\(dir)/IMAGES/\(bates).tif").path)
    }
    for bates in [memo["BEGBATES"]!, memo["ENDBATES"]!] {
      #expect(image("out", bates) != nil && image("out", bates) == image("out2", bates), "\(bates)")
    }
    for bates in [contract["BEGBATES"]!, contract["ENDBATES"]!] {
      #expect(image("out", bates) != nil && image("out", bates) != image("out2", bates), "\(bates)")
    }
  }
}

/// Office files in a production with images: LibreOffice renders each to a PDF, the PDF's
/// pages are its Bates range and its images (not placeholders).
@Suite struct ProduceOfficeImagesCLITests {
  let base = ProduceCLITests()

  @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/soffice"), "soffice absent"))
  func anOfficeFileIsImagedFromLibreOfficesPDF() throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    // Two pages: a page break between the two paragraphs.
    _ = try tmp.write(
      "office/memo.rtf",
      #"{\rtf1\ansi\deff0 {\fonttbl {\f0 Helvetica;}}\f0\fs96 Quarterly holdings memo\par\page Second page of the memo\par}"#
    )
    _ = try tmp.write(
      "jobs/office.yaml",
      """
      name: office
      inputs:
        - {path: ../office, custodian: "Doe, Jane"}
      model: {engine: llama, context: 4096}
      map:
        prompt: "{{window}}"
      reduce:
        prompt: "{{outputs}}"
      ingest: {redact: false}
      production: {prefix: OFF-, start: 1, digits: 4, images: true}
      """)
    let ws = tmp.url.appendingPathComponent("ws").path
    let r = try CLI.run(["produce", "jobs/office.yaml", "-o", "out", "--workspace", ws, "--json"], cwd: tmp.url)
    #expect(r.code == 0, "\(r.stderr)")
    struct Summary: Decodable {
      var pages: Int
      var images: Int
      var placeholderImages: Int
    }
    let summary = try JSONDecoder().decode(Summary.self, from: Data(r.stdout.utf8))
    let out = tmp.url.appendingPathComponent("out")
    let rows = try base.readDAT(out.appendingPathComponent("DATA/office.dat"))
    let row = try #require(rows.first)
    #expect(rows.count == 1)
    #expect(row["BEGBATES"] == "OFF-0001" && row["ENDBATES"] == "OFF-0002" && row["PAGECOUNT"] == "2", "\(row)")
    #expect(summary.pages == 2 && summary.images == 2 && summary.placeholderImages == 0, "\(r.stdout)")
    // The first image is the memo's first page: the tesseract CLI reads its words off it.
    if FileManager.default.isExecutableFile(atPath: "/usr/bin/tesseract") {
      let p = Process()
      p.executableURL = URL(fileURLWithPath: "/usr/bin/tesseract")
      p.arguments = [out.appendingPathComponent("IMAGES/OFF-0001.tif").path, "stdout"]
      let pipe = Pipe()
      p.standardOutput = pipe
      p.standardError = FileHandle.nullDevice
      try p.run()
      let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      p.waitUntilExit()
      #expect(text.contains("Quarterly") && text.contains("holdings"), "\(text)")
    }
  }
}
