import Foundation
import Ingest

/// Citation helpers: compacting window locators and checking a model's own citations.
public enum Citations {
  /// Merges adjacent line ranges of the same file: [a#L1-L40, a#L41-L80] → [a#L1-L80].
  public static func compact(_ locators: [Locator]) -> [Locator] {
    var out: [Locator] = []
    for loc in locators {
      if let last = out.last, let end = last.lineEnd, let start = loc.lineStart, start <= end + 1,
        let merged = last.merged(with: loc)
      {
        out[out.count - 1] = merged
      } else if out.last != loc {
        out.append(loc)
      }
    }
    return out
  }

  /// The strings of `list` without repeats, in first-seen order.
  public static func unique(_ list: [String]) -> [String] {
    var seen = Set<String>()
    return list.filter { seen.insert($0).inserted }
  }

  /// Citations the text itself makes, in `[path#page=N]` / `[path#Lx-Ly]` form.
  public static func mentioned(in text: String) -> [Locator] {
    var out: [Locator] = []
    var rest = text[...]
    while let open = rest.firstIndex(of: "["), let close = rest[open...].firstIndex(of: "]") {
      if let loc = Locator(citation: rest[rest.index(after: open)..<close]) { out.append(loc) }
      rest = rest[rest.index(after: close)...]
    }
    return out
  }

  /// Whether `cited` lies within one of `covered` (same file; same page, or a line range inside).
  public static func isCovered(_ cited: Locator, by covered: [Locator]) -> Bool {
    covered.contains { c in
      guard c.path == cited.path else { return false }
      if let p = cited.page { return c.page == p }
      if let m = cited.message { return c.message == m }
      guard let s = cited.lineStart, let e = cited.lineEnd, let cs = c.lineStart, let ce = c.lineEnd else {
        return false
      }
      return s >= cs && e <= ce
    }
  }
}
