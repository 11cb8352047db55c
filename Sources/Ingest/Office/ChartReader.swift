/// The text of a DrawingML chart part (`word/charts/chart1.xml`, `ppt/charts/chart1.xml`):
/// its title, its axis titles and, per series, its name with its categories and values,
/// as a reviewer reads them off the chart.
enum ChartReader {
  /// At most this many points of a series are listed (a chart of thousands is a data dump).
  static let maxPoints = 200

  /// The lines of each chart among `relationships` (a part's), by relationship id.
  static func charts(_ parts: any OfficePartSource, relationships: [OfficeRelationship]) -> [String: [String]] {
    var out: [String: [String]] = [:]
    for chart in relationships where chart.type == "chart" && !chart.isExternal {
      guard let (bytes, _) = try? parts.read(chart.target, limit: OfficeLimits.maxXMLPartBytes) else { continue }
      out[chart.id] = lines(bytes)
    }
    return out
  }

  /// `[chart] Title`, `[chart axis] Revenue`, `[chart series] North: Q1 10 | Q2 20`.
  static func lines(_ bytes: [UInt8]) -> [String] {
    var scanner = XMLScanner(bytes)
    var stack: [String] = []
    var title: String?
    var axisTitles: [String] = []
    var series: [(name: String, categories: [String: String], values: [String: String], order: [String])] = []
    // The text being collected: a title's runs, or one cached point's value.
    var text = ""
    var collecting = false
    var titleDepth: Int?
    var point: String?
    while let token = scanner.next() {
      switch token {
      case .start(let tag):
        stack.append(tag.name)
        switch tag.name {
        case "title":
          if titleDepth == nil {
            titleDepth = stack.count
            text = ""
          }
        case "ser": series.append(("", [:], [:], []))
        case "pt": point = tag.value("idx")
        case "t" where titleDepth != nil: collecting = true
        case "v":
          collecting = true
          text = titleDepth == nil ? "" : text
        default: break
        }
      case .end(let name):
        guard let depth = stack.lastIndex(of: name) else { continue }
        let parents = stack[..<depth]
        stack.removeSubrange(depth...)
        switch name {
        case "t", "v":
          collecting = false
          guard name == "v", titleDepth == nil, !series.isEmpty else { continue }
          let last = series.count - 1
          if parents.contains("tx") {
            series[last].name = text
          } else if parents.contains("cat") || parents.contains("xVal") {
            if let point { series[last].categories[point] = text }
          } else if parents.contains("val") || parents.contains("yVal"), let point {
            if series[last].values[point] == nil { series[last].order.append(point) }
            series[last].values[point] = text
          }
        case "p" where titleDepth != nil && !text.isEmpty && !text.hasSuffix(" "):
          text += " "
        case "title":
          guard titleDepth == depth + 1 else { continue }
          titleDepth = nil
          let found = text.trimmingWhitespace
          guard !found.isEmpty else { continue }
          // The chart's own title sits right under `chart`; an axis's under its axis.
          if parents.last == "chart" { title = found } else { axisTitles.append(found) }
        default: break
        }
      case .text(let range, let cdata):
        if collecting { text += scanner.text(range, cdata: cdata) }
      }
    }
    var out: [String] = []
    if let title { out.append("[chart] \(title)") } else if !series.isEmpty { out.append("[chart]") }
    out += axisTitles.map { "[chart axis] \($0)" }
    for s in series {
      var points: [String] = []
      for idx in s.order.prefix(maxPoints) {
        let value = s.values[idx] ?? ""
        points.append(s.categories[idx].map { "\($0) \(value)" } ?? value)
      }
      // Categories without values (an empty series) are still the chart's labels.
      if points.isEmpty {
        points = s.categories.sorted { (Int($0.key) ?? 0) < (Int($1.key) ?? 0) }.prefix(maxPoints).map(\.value)
      }
      if s.order.count > maxPoints { points.append("… \(s.order.count - maxPoints) more") }
      let name = s.name.isEmpty ? "series" : s.name
      out.append("[chart series] \(name): " + points.joined(separator: " | "))
    }
    return out
  }
}
