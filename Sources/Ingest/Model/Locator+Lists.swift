/// Lists of locators: what a window or a task read, merged and without repeats.
///
/// These work on `Locator` values end to end, from the planner's windows to the
/// task records; citation strings are made only where text is written (prompts,
/// reports, a schema's enum of a task's own locators).
extension Sequence where Element == Locator {
  /// The locators in order, adjacent line ranges of one file merged:
  /// `[a#L1-L40, a#L41-L80, b#page=2]` → `[a#L1-L80, b#page=2]`.
  ///
  /// A line range merges into the one before it when it starts at most one line
  /// after that one ends; a locator equal to the one before it is dropped.
  ///
  /// - Returns: The compacted list; the same locators when none are adjacent.
  public func compacted() -> [Locator] {
    var out: [Locator] = []
    for loc in self {
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

  /// Each citation once, in first-seen order.
  ///
  /// Two locators that cite alike (the same `description`) count as one.
  ///
  /// - Returns: The locators without repeats.
  public func uniqued() -> [Locator] {
    var seen = Set<String>()
    return filter { seen.insert($0.description).inserted }
  }

  /// The citation forms (`description`), in order: what prompts and reports show.
  public var citations: [String] { map(\.description) }
}
