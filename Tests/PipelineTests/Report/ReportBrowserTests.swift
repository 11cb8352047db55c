import Foundation
import Ingest
import Pipeline
import Storage
import Testing
import _LongctxTestSupport

/// The HTML report in a real browser: Debian's headless `chromium` (installed
/// by `scripts/test-packages.sh`) loads it with no console errors, a click on a
/// citation shows its source text in place, and the charts are there.
@Suite struct ReportBrowserTests {
  static let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first {
    FileManager.default.isExecutableFile(atPath: $0)
  }

  /// Runs headless chromium on `file` and returns its stdout and stderr.
  static func browse(_ file: URL, profile: URL, extra: [String]) throws -> (out: String, err: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: chromium ?? "/usr/bin/chromium")
    p.arguments =
      [
        "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
        "--user-data-dir=\(profile.path)", "--enable-logging=stderr", "--v=0", "--virtual-time-budget=3000",
      ] + extra + [file.absoluteString]
    let out = Pipe()
    let err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    nonisolated(unsafe) var errData = Data()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async {
      errData = err.fileHandleForReading.readDataToEndOfFile()
      group.leave()
    }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    p.waitUntilExit()
    return (String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
  }

  @Test func theReportLoadsWithoutErrorsAndACitationRevealsItsText() async throws {
    guard Self.chromium != nil else {
      print("skipped: no chromium (scripts/test-packages.sh installs it)")
      return
    }
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let spec = try ReportCitationTests.setUp(
      tmp, folders: ["logs", "pdfs"].map { RepositoryPaths.samples.appendingPathComponent($0) })
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    try await ReportCitationTests.run(ws, spec)
    let tasks = try TaskStore(workspace: ws).currentTasks(job: "checked")
    let window = try #require(tasks.first { $0.kind == .map && $0.locatorList.contains { $0.contains("#L") } })
    let cited = try #require(window.locatorList.first { $0.contains("#L") })
    try ReportCitationTests.setOutput(
      ws, window, "Work went on [\(cited)]. A page that is not there [pdfs/contract.pdf#page=40].")
    let html = try ReportWriter(workspace: ws).render(job: "checked", format: .html, spec: spec)
    // The page as a reader gets it, plus a probe: errors are recorded from the
    // first script on; after load the probe clicks the first verified citation.
    let probeHead =
      "<script>window.__errors=[];window.addEventListener('error',function(e){window.__errors.push(String(e.message))});</script>"
    let probeEnd = """
      <script>
      window.addEventListener('load',function(){
        var a=document.querySelector('a.cite.verified');var before=document.querySelectorAll('blockquote.src').length;
        if(a)a.click();
        var q=document.querySelector('blockquote.src');
        var r={errors:window.__errors,link:a?a.textContent:null,before:before,revealed:q?q.textContent:null,
          charts:document.querySelectorAll('svg.chart').length,bars:document.querySelectorAll('#chart-hours rect').length,
          sortable:document.querySelectorAll('table.sortable').length};
        var pre=document.createElement('pre');pre.id='probe';pre.textContent=JSON.stringify(r);document.body.appendChild(pre);
      });
      </script>
      """
    let probed = html.replacingOccurrences(of: "<head>", with: "<head>" + probeHead)
      .replacingOccurrences(of: "</body>", with: probeEnd + "</body>")
    let file = tmp.url.appendingPathComponent("report.html")
    try Data(probed.utf8).write(to: file)
    let (dom, log) = try Self.browse(file, profile: tmp.url.appendingPathComponent("profile"), extra: ["--dump-dom"])
    let start = try #require(dom.range(of: "<pre id=\"probe\">"), "no probe output; chromium said: \(log.suffix(2000))")
    let end = try #require(dom[start.upperBound...].range(of: "</pre>"))
    let json = String(dom[start.upperBound..<end.lowerBound]).replacingOccurrences(of: "&lt;", with: "<")
      .replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&amp;", with: "&")
    let probe = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    #expect((probe["errors"] as? [Any])?.isEmpty == true, "\(probe)")
    #expect(!log.contains("Uncaught"), "console: \(log.split(separator: "\n").filter { $0.contains("CONSOLE") })")
    #expect(probe["link"] as? String == cited)
    #expect(probe["before"] as? Int == 0, "source texts are hidden until asked for")
    // The revealed text is the cited lines as stored.
    let stored = try SourceLookup(workspace: ws).text(of: try #require(Locator(citation: cited[...]))).text
    let revealed = try #require(probe["revealed"] as? String)
    #expect(revealed.hasPrefix("[\(cited)]"))
    #expect(revealed.contains(stored.split(separator: "\n").first.map(String.init) ?? "—"))
    #expect((probe["charts"] as? Int ?? 0) >= 2)
    #expect((probe["bars"] as? Int ?? 0) > 0)
    #expect((probe["sortable"] as? Int ?? 0) >= 3)
  }
}
