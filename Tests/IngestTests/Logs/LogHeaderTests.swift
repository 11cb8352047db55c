import Foundation
import Testing
import _LongctxTestSupport

@testable import Ingest

/// One self-made line per header layout: the layout detected from it, and the
/// fields and message split out of it. Expected times come from Foundation's
/// calendar, not from the parser's own date arithmetic.
@Suite struct LogHeaderTests {
  static func utc(_ y: Int, _ mo: Int, _ d: Int, _ h: Int, _ mi: Int, _ s: Int, offset: Int = 0) -> Double {
    var c = DateComponents()
    (c.year, c.month, c.day, c.hour, c.minute, c.second) = (y, mo, d, h, mi, s)
    var cal = Calendar(identifier: .gregorian)
    cal.timeZone = TimeZone(secondsFromGMT: offset)!
    return cal.date(from: c)!.timeIntervalSince1970
  }

  struct Case: Sendable, CustomStringConvertible {
    var line: String
    var layout: LogHeaderLayout
    var time: Double
    var level: String?
    var component: String?
    var pid: String?
    var message: String
    var description: String { layout.rawValue }
  }

  // The reference date (a file's mtime) for formats without a year: 2026-06-30.
  static let reference = Date(timeIntervalSince1970: utc(2026, 6, 30, 12, 0, 0))

  static let cases: [Case] = [
    Case(
      line: #"{"time":"2026-03-09T02:54:06Z","level":"warn","logger":"db","msg":"pool exhausted"}"#,
      layout: .jsonLines, time: utc(2026, 3, 9, 2, 54, 6), level: "WARN", component: "db", message: "pool exhausted"),
    Case(
      line:
        "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su 77 ID47 [exampleSDID@32473 iut=\"3\"] 'su root' failed",
      layout: .syslog5424, time: utc(2003, 10, 11, 22, 14, 15) + 0.003, component: "su", pid: "77",
      message: "'su root' failed"),
    Case(
      line: "Mar  9 02:10:01 web1 CRON[4242]: (root) CMD (run-parts /etc/cron.hourly)", layout: .syslog3164,
      time: utc(2026, 3, 9, 2, 10, 1), component: "CRON", pid: "4242",
      message: "(root) CMD (run-parts /etc/cron.hourly)"),
    Case(
      line:
        "- 1117838570 2005.06.03 R02-M1-N0-C:J12-U11 2005-06-03-15.42.50.675872 R02-M1-N0-C:J12-U11 RAS KERNEL INFO instruction cache parity error corrected",
      layout: .rasEpoch, time: 1_117_838_570, level: "INFO", component: "KERNEL",
      message: "instruction cache parity error corrected"),
    Case(
      line:
        "- 1131566461 2005.11.09 dn228 Nov 9 12:01:01 dn228/dn228 crond(pam_unix)[2915]: session closed for user root",
      layout: .rasEpoch, time: 1_131_566_461, component: "crond(pam_unix)", pid: "2915",
      message: "session closed for user root"),
    Case(
      line:
        "134681 node-246 unix.hw state_change.unavailable 1077804742 1 Component State Change: Component is in the unavailable state",
      layout: .epochColumns, time: 1_077_804_742, component: "unix.hw",
      message: "Component State Change: Component is in the unavailable state"),
    Case(
      line:
        "081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block blk_38865049064139660 terminating",
      layout: .hdfs, time: utc(2008, 11, 9, 20, 36, 15), level: "INFO", component: "dfs.DataNode$PacketResponder",
      pid: "148", message: "PacketResponder 1 for block blk_38865049064139660 terminating"),
    Case(
      line: "03-17 16:13:38.811  1702  2395 D WindowManager: printFreezingDisplayLogsopening app wtoken",
      layout: .logcat,
      time: utc(2026, 3, 17, 16, 13, 38) + 0.811, level: "DEBUG", component: "WindowManager", pid: "1702",
      message: "printFreezingDisplayLogsopening app wtoken"),
    Case(
      line: "[Sun Dec 04 04:47:44 2005] [error] mod_jk child workerEnv in error state 6", layout: .apacheError,
      time: utc(2005, 12, 4, 4, 47, 44), level: "ERROR", message: "mod_jk child workerEnv in error state 6"),
    Case(
      line: "10.0.0.1 - frank [10/Oct/2025:13:55:36 -0700] \"GET /apache_pb.gif HTTP/1.0\" 200 2326", layout: .access,
      time: utc(2025, 10, 10, 13, 55, 36, offset: -7 * 3600), message: "\"GET /apache_pb.gif HTTP/1.0\" 200 2326"),
    Case(
      line:
        "2015-10-18 18:01:47,978 INFO [main] org.apache.hadoop.mapreduce.v2.app.MRAppMaster: Created MRAppMaster for application appattempt_1445144423722_0020_000001",
      layout: .general, time: utc(2015, 10, 18, 18, 1, 47) + 0.978, level: "INFO",
      component: "org.apache.hadoop.mapreduce.v2.app.MRAppMaster",
      message: "Created MRAppMaster for application appattempt_1445144423722_0020_000001"),
    Case(
      line: "2016-09-28 04:30:30, Info                  CBS    Loaded Servicing Stack v6.1.7601.23505 with Core",
      layout: .general,
      time: utc(2016, 9, 28, 4, 30, 30), level: "INFO", component: "CBS",
      message: "Loaded Servicing Stack v6.1.7601.23505 with Core"),
    Case(
      line:
        "2025/10/10 13:55:36 [error] 1234#0: *1 open() \"/usr/share/nginx/html/x\" failed (2: No such file or directory)",
      layout: .general, time: utc(2025, 10, 10, 13, 55, 36), level: "ERROR", component: "1234#0",
      message: "*1 open() \"/usr/share/nginx/html/x\" failed (2: No such file or directory)"),
    Case(
      line:
        "17/06/09 20:10:40 INFO executor.CoarseGrainedExecutorBackend: Registered signal handlers for [TERM, HUP, INT]",
      layout: .general, time: utc(2017, 6, 9, 20, 10, 40), level: "INFO",
      component: "executor.CoarseGrainedExecutorBackend",
      message: "Registered signal handlers for [TERM, HUP, INT]"),
    Case(
      line: "[2023-05-15 18:19:32] local.ERROR: Target class [Fruitcake\\Cors\\HandleCors] does not exist.",
      layout: .general,
      time: utc(2023, 5, 15, 18, 19, 32), level: "ERROR", component: "local",
      message: "Target class [Fruitcake\\Cors\\HandleCors] does not exist."),
    Case(
      line: "20171223-22:15:29:606|Step_LSC|30002312|onStandStepChanged 3579", layout: .general,
      time: utc(2017, 12, 23, 22, 15, 29) + 0.606, component: "Step_LSC", pid: "30002312",
      message: "onStandStepChanged 3579"),
    Case(
      line:
        "[10.30 16:49:06] chrome.exe *64 - proxy.cse.cuhk.edu.hk:5070 open through proxy proxy.cse.cuhk.edu.hk:5070 HTTPS",
      layout: .general, time: utc(2025, 10, 30, 16, 49, 6), component: "chrome.exe *64",
      message: "proxy.cse.cuhk.edu.hk:5070 open through proxy proxy.cse.cuhk.edu.hk:5070 HTTPS"),
  ]

  @Test(arguments: cases)
  func splitsHeader(c: Case) throws {
    #expect(LogHeaderLayout.detect([c.line]) == c.layout, "\(c.line)")
    var parser = LogHeaderParser(layout: c.layout, referenceDate: Self.reference)
    let parsed = parser.parse(c.line)
    let h = try #require(parsed, "\(c.line)")
    let time = try #require(h.time, "no time: \(c.line)")
    #expect(abs(time - c.time) < 0.001, "\(c.line): \(time) != \(c.time)")
    #expect(h.level == c.level)
    #expect(h.component == c.component)
    #expect(h.pid == c.pid)
    let message =
      c.layout == .jsonLines
      ? LogHeaderParser.jsonMessage(c.line)
      : String(decoding: Array(c.line.utf8).dropFirst(h.messageStart), as: UTF8.self)
    #expect(message == c.message)
  }

  /// Ingest's sections carry the header's event time for every layout (the
  /// byte-level pass asks the file's layout, with years from its modification time).
  @Test(arguments: cases)
  func sectionsCarryTheHeadersTime(c: Case) throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try tmp.write("x.log", c.line + "\n" + c.line + "\n")
    let path = tmp.url.appendingPathComponent("x.log").path
    try FileManager.default.setAttributes([.modificationDate: Self.reference], ofItemAtPath: path)
    let doc = try LogExtractor().extract(path: path, displayPath: "x.log")
    let first = try #require(doc.sections.first?.firstTimestamp, "no time: \(c.line)")
    #expect(abs(first - c.time) < 0.001, "\(c.line): \(first) != \(c.time)")
    #expect(doc.sections.first?.lastTimestamp.map { abs($0 - c.time) < 0.001 } == true)
  }

  /// A year-less log that crosses New Year: the year comes from the file's
  /// modification time and the order of lines, never from today's date.
  @Test func yearFromReferenceAndOrder() throws {
    let lines = ["Dec 31 23:59:58 h app: a", "Jan  1 00:00:01 h app: b", "Jan  1 00:05:00 h app: c"]
    var parser = LogHeaderParser(
      sample: lines, referenceDate: Date(timeIntervalSince1970: Self.utc(2024, 1, 1, 0, 10, 0)))
    #expect(parser.layout == .syslog3164)
    let times = lines.map { parser.parse($0)?.time }
    #expect(times[0] == Self.utc(2023, 12, 31, 23, 59, 58))
    #expect(times[1] == Self.utc(2024, 1, 1, 0, 0, 1))
    #expect(times[2] == Self.utc(2024, 1, 1, 0, 5, 0))
    // Same lines, a file last written in mid-2019: all of them fall in 2018/2019.
    var old = LogHeaderParser(
      layout: .syslog3164, referenceDate: Date(timeIntervalSince1970: Self.utc(2019, 7, 1, 0, 0, 0)))
    let first = old.parse(lines[0])?.time
    let second = old.parse(lines[1])?.time
    #expect(first == Self.utc(2018, 12, 31, 23, 59, 58))
    #expect(second == Self.utc(2019, 1, 1, 0, 0, 1))
    // Lines out of order (a sample): a step back of a few months is not a new year.
    var sampled = LogHeaderParser(
      layout: .general, referenceDate: Date(timeIntervalSince1970: Self.utc(2026, 12, 3, 0, 0, 0)))
    let october = sampled.parse("[10.30 16:49:06] chrome.exe - x")?.time
    let july = sampled.parse("[07.26 10:00:00] chrome.exe - x")?.time
    #expect(october == Self.utc(2026, 10, 30, 16, 49, 6))
    #expect(july == Self.utc(2026, 7, 26, 10, 0, 0))
  }

  /// The real logs of the shared corpus: each file's layout, and every header line yields its time.
  @Test(.enabled(if: RepositoryPaths.sharedCorpus != nil, "the shared corpus (../shared/corpus) is absent"))
  func sharedCorpusLayouts() throws {
    let root = RepositoryPaths.sharedCorpus!.appendingPathComponent("logs")
    let expected: [(String, LogHeaderLayout)] = [
      ("loghub/HPC/HPC_2k.log", .epochColumns), ("loghub/Hadoop/Hadoop_2k.log", .general),
      ("loghub/HealthApp/HealthApp_2k.log", .general), ("loghub/Mac/Mac_2k.log", .syslog3164),
      ("loghub/OpenStack/OpenStack_2k.log", .general), ("loghub/Proxifier/Proxifier_2k.log", .general),
      ("loghub/Windows/Windows_2k.log", .general), ("other/lnav/logfile_syslog.3", .syslog3164),
      ("other/lnav/logfile_bunyan.0", .jsonLines), ("other/lnav/logfile_shop_access_log.0", .access),
      ("other/otroslogviewer/log4j_pattern1.log", .general), ("other/lnav/logfile_laravel.0", .general),
    ]
    for (path, layout) in expected {
      // Tenths of lines with a header: syslog.3 and log4j_pattern1 wrap messages over lines.
      // Laravel's stack traces: 82 header lines of 1414.
      let minimum =
        path.hasSuffix("syslog.3") ? 4 : path.hasSuffix("log4j_pattern1.log") ? 8 : path.contains("laravel") ? 0 : 10
      let url = root.appendingPathComponent(path)
      // Split bytes, not Characters ("\r\n" is one Character).
      let lines = [UInt8](try Data(contentsOf: url)).split(separator: 0x0A)
        .map { String(decoding: $0.last == 0x0D ? $0.dropLast() : $0, as: UTF8.self) }.filter { !$0.isEmpty }
      let mtime = try FileManager.default.attributesOfItem(atPath: url.path)[.modificationDate] as! Date
      var parser = LogHeaderParser(sample: Array(lines.prefix(200)), referenceDate: mtime)
      #expect(parser.layout == layout, "\(path)")
      var timed = 0
      var headers = 0
      for line in lines {
        guard let h = parser.parse(line) else { continue }
        headers += 1
        if let t = h.time, t <= mtime.timeIntervalSince1970 + 86400 { timed += 1 }
      }
      #expect(headers * 10 >= lines.count * minimum, "\(path): \(headers) of \(lines.count) lines have the header")
      #expect(
        headers > 0 && timed == headers, "\(path): \(timed) of \(headers) header lines have a time not after the mtime")
    }
  }

  /// Ingest's passes parse headers without their fields (`keepsFields = false`): the same
  /// time and message start as a full parse on every fixture and every line of the corpus's
  /// logs, and no String made for component, pid or host.
  @Test func headersWithoutFieldsSplitTheSame() throws {
    var files: [(name: String, lines: [String])] = [("fixtures", Self.cases.map(\.line))]
    if let root = RepositoryPaths.sharedCorpus?.appendingPathComponent("logs"),
      let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)
    {
      for case let url as URL in walker where url.pathExtension == "log" || url.lastPathComponent.contains(".log") {
        guard let data = try? Data(contentsOf: url), !url.hasDirectoryPath else { continue }
        let lines = [UInt8](data).split(separator: 0x0A).prefix(5000)
          .map { String(decoding: $0.last == 0x0D ? $0.dropLast() : $0, as: UTF8.self) }
        files.append((url.lastPathComponent, lines))
      }
    }
    var compared = 0
    for (name, lines) in files {
      let layouts = name == "fixtures" ? Self.cases.map(\.layout) : [LogHeaderLayout.detect(Array(lines.prefix(200)))]
      for layout in Set(layouts) where layout != .none {
        var full = LogHeaderParser(layout: layout, referenceDate: Self.reference)
        var bare = full
        bare.keepsFields = false
        for line in lines {
          let a = full.parse(line)
          let b = bare.parse(line)
          #expect((a == nil) == (b == nil), "\(name): \(line)")
          guard let a, let b else { continue }
          compared += 1
          #expect(a.time == b.time && a.messageStart == b.messageStart, "\(name) \(layout): \(line)")
          if layout != .jsonLines {
            #expect(b.component == nil && b.pid == nil && b.host == nil, "\(name) \(layout): \(line)")
            #expect(b.level == nil || b.level == a.level, "\(name) \(layout): \(line)")
          }
        }
      }
    }
    #expect(compared >= Self.cases.count)
    if RepositoryPaths.sharedCorpus != nil { #expect(compared > 14_000, "\(compared) headers compared") }
  }

  /// The level words matched as packed constants are the table's, in any case; other
  /// words (one letter off, a prefix, a lone lower-case letter, non-ASCII) are no level.
  @Test func levelsMatchTheirTable() {
    for (word, level) in LogHeaderParser.levels {
      #expect(LogHeaderParser.level(word) == level, "\(word)")
      #expect(LogHeaderParser.level(word.capitalized) == level, "\(word)")
      #expect(LogHeaderParser.level(word.lowercased()) == (word.count == 1 ? nil : level), "\(word)")
      #expect(LogHeaderParser.level(word + "X") == LogHeaderParser.levels[word + "X"], "\(word)X")
      #expect(LogHeaderParser.level(String(word.dropLast())) == LogHeaderParser.levels[String(word.dropLast())])
      #expect(LogHeaderParser.level(word + "é") == nil)
    }
    for word in ["", "INF", "WARNINGS", "ERRORS", "B", "Z", "info:", "[INFO]", "0", "É", "INFORMATIONAL", "Warn\0"] {
      #expect(LogHeaderParser.level(word) == LogHeaderParser.levels[word.uppercased()], "\(word)")
    }
    // A header keeps a table level as a code and any other word as it is.
    for word in ["INFO", "EMERGENCY", "KERNDTLB", "APPREAD", "info", ""] {
      var h = LogHeader(level: word)
      #expect(h.level == word && h == LogHeader(level: word) && h != LogHeader(), "\(word)")
      h.level = nil
      #expect(h.level == nil && h == LogHeader())
    }
    // Fields are values: a copy keeps its own, and a header whose fields were cleared equals one that never had any.
    var a = LogHeader(level: "SEVERE", component: "c", pid: "1", host: "h")
    let b = a
    a.pid = "2"
    a.host = nil
    #expect(b.pid == "1" && b.host == "h" && b.level == "SEVERE" && a.pid == "2" && a.host == nil && a != b)
    a.component = nil
    a.pid = nil
    a.level = nil
    #expect(a == LogHeader())
  }

  /// A syslog tag is `name[pid]:`: without the colon there is no tag, so neither pid nor
  /// component, and the message starts after the host.
  @Test func aSyslogTagNeedsItsColon() throws {
    var parser = LogHeaderParser(layout: .syslog3164, referenceDate: Self.reference)
    let first = parser.parse("Mar  9 02:10:01 host foo[12]: bar")
    let tagged = try #require(first)
    #expect(tagged.component == "foo" && tagged.pid == "12" && tagged.host == "host")
    let line = "Mar  9 02:10:01 host foo[12] bar"
    let second = parser.parse(line)
    let untagged = try #require(second)
    #expect(untagged.component == nil && untagged.pid == nil && untagged.host == "host")
    #expect(String(decoding: Array(line.utf8).dropFirst(untagged.messageStart), as: UTF8.self) == "foo[12] bar")
  }

  /// Month names at the cursor: each of the twelve, nothing else (case, a letter off, cut short).
  @Test func monthNames() {
    let names = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    func month(_ text: String) -> (Int?, Int) {
      var t = text
      return t.withUTF8 { b in
        var s = Scan(b: b)
        let m = s.month()
        return (m, s.i)
      }
    }
    for (k, name) in names.enumerated() {
      #expect(month(name + " 9").0 == k + 1 && month(name).1 == 3, "\(name)")
      #expect(month(name.uppercased()).0 == nil && month(name.lowercased()).0 == nil, "\(name)")
      #expect(month(String(name.dropLast())).0 == nil && month(String(name.dropLast()) + "x").0 == nil, "\(name)")
    }
    #expect(month("").0 == nil && month("Ja").0 == nil && month("Jān").0 == nil)
  }

  /// Lines of one minute read only their seconds (the parser keeps the minute of the last
  /// ISO time): every line gets the time a fresh parser gives it, across minutes, hours,
  /// days and years, with fractions, offsets, invalid seconds and look-alike minutes.
  @Test func isoTimesOfOneMinuteReadAsAFreshParserReadsThem() {
    var state: UInt64 = 17
    func next(_ n: Int) -> Int {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Int(state >> 33) % n
    }
    var minute = (y: 2024, mo: 12, d: 31, h: 23, mi: 58)
    var lines: [String] = []
    for _ in 0..<20_000 {
      if next(6) == 0 {
        // The next minute (rolling over into the next hour, day and year), or a jump.
        minute.mi += 1
        if minute.mi == 60 { (minute.mi, minute.h) = (0, minute.h + 1) }
        if minute.h == 24 { (minute.h, minute.d) = (0, minute.d + 1) }
        if minute.d == 32 { (minute.d, minute.mo) = (1, minute.mo % 12 + 1) }
        if minute.mo == 1 && minute.d == 1 && minute.h == 0 && minute.mi == 0 { minute.y += 1 }
        if next(10) == 0 { minute = (2000 + next(40), 1 + next(12), 1 + next(28), next(24), next(60)) }
      }
      let sep = next(4) == 0 ? " " : "T"
      let ss = next(20) == 0 ? 60 + next(40) : next(60)
      let tails = ["", "Z", ".5", ",123", ".123456789Z", "+02:00", "-0530", "+01", ".25-08:00", ":x", "."]
      let stamp = String(
        format: "%04d-%02d-%02d%@%02d:%02d:%02d%@", minute.y, minute.mo, minute.d, sep, minute.h, minute.mi, ss,
        tails[next(tails.count)])
      let cut = next(30) == 0 ? String(stamp.prefix(17 + next(3))) : stamp
      lines.append(cut + " INFO svc: message \(next(1000))")
      // The line's minute alone, cut to 16-18 bytes, or with a seconds field that is no number.
      if next(40) == 0 { lines.append(String(stamp.prefix(16 + next(3)))) }
      if next(40) == 0 { lines.append(String(stamp.prefix(17)) + "x5 INFO svc: m") }
    }
    var kept = LogHeaderParser(layout: .general, referenceDate: Self.reference)
    var parsed = 0
    for line in lines {
      var fresh = LogHeaderParser(layout: .general, referenceDate: Self.reference)
      let a = kept.parse(line)
      let b = fresh.parse(line)
      #expect(a?.time == b?.time && a?.messageStart == b?.messageStart, "\(line)")
      if a?.time != nil { parsed += 1 }
    }
    #expect(parsed > 15_000 && parsed < lines.count, "\(parsed) of \(lines.count) lines timed")
  }

  /// Fractions of a second are read without making a String: the same Double as
  /// `Double("0." + digits)` for every length a header uses.
  @Test func fractionsReadAsStringParsingWould() {
    var rng = SystemRandomNumberGenerator()
    for length in 1...9 {
      for _ in 0..<2000 {
        let digits = String((0..<length).map { _ in Character(String(Int.random(in: 0...9, using: &rng))) })
        var text = digits + " rest"
        let f = text.withUTF8 { b -> Double? in
          var s = Scan(b: b)
          return s.fraction(1...9)
        }
        #expect(f == Double("0." + digits), "\(digits)")
      }
    }
    var long = "1234567890"
    #expect(
      long.withUTF8 { b -> Double? in
        var s = Scan(b: b)
        return s.fraction(1...9)
      } == nil)
  }
}
