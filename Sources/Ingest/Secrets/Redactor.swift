import Foundation

/// Replaces secrets in extracted text with `[REDACTED:kind]` and remembers
/// the kind and locator of each (never the secret) for the exceptions table.
///
/// Kinds: `private-key` (PEM/OpenSSH private key blocks), `aws-access-key`
/// (AKIA…/ASIA…), `github-token` (ghp_…, github_pat_…), `slack-token`
/// (xox…), `google-api-key` (AIza…), `stripe-key` (sk_live_…, rk_live_…),
/// `gitlab-token` (glpat-…), `npm-token` (npm_…), `jwt` (three base64url
/// parts), `pypi-token` (pypi-AgEIcHlwaS5vcmc…), and `secret-assignment`
/// (`password = "…"`, `api_key: …` and the like, when the value looks random
/// enough and is not an object dump such as `token=Token{a64f992 …}`).
struct Redactor {
  /// Whether to redact at all.
  var enabled = true
  /// One entry per redaction: kind and locator.
  private(set) var found: [(kind: String, locator: String)] = []

  /// The warnings to record, one per kind and locator.
  var warnings: [String] {
    var seen = Set<String>()
    var out: [String] = []
    for (kind, locator) in found {
      let line = "secret redacted (\(kind)) at \(locator)"
      if seen.insert(line).inserted { out.append(line) }
    }
    return out
  }

  /// Returns `text` with secrets replaced; records them under `locator`.
  mutating func redact(_ text: String, locator: Locator) -> String {
    guard enabled else { return text }
    let candidates = Self.candidateRules(text)
    guard candidates != 0 else { return text }
    var out = text
    for (index, rule) in Self.rules.enumerated() where candidates & (1 << index) != 0 {
      guard let regex = rule.regex else { continue }
      let ns = out as NSString
      let matches = regex.matches(in: out, range: NSRange(location: 0, length: ns.length))
      guard !matches.isEmpty else { continue }
      var result = ""
      var last = 0
      for match in matches {
        let range = match.range
        result += ns.substring(with: NSRange(location: last, length: range.location - last))
        result += "[REDACTED:\(rule.kind)]"
        last = range.location + range.length
        found.append((rule.kind, locator.description))
      }
      result += ns.substring(from: last)
      out = result
    }
    // Assignments last: `token = ghp_…` is a GitHub token before it is an assignment.
    if candidates & (1 << Self.assignmentRule) != 0 {
      let bytes = Array(out.utf8)
      let values = bytes.withUnsafeBufferPointer(SecretAssignments.values(in:))
      if !values.isEmpty {
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count)
        var last = 0
        for range in values {
          result += bytes[last..<range.lowerBound]
          result += Array("[REDACTED:secret-assignment]".utf8)
          last = range.upperBound
          found.append(("secret-assignment", locator.description))
        }
        result += bytes[last...]
        out = String(decoding: result, as: UTF8.self)
      }
    }
    return out
  }

  // MARK: - Rules

  struct Rule: @unchecked Sendable {  // NSRegularExpression is immutable and thread-safe
    var kind: String
    /// nil for `secret-assignment`, which `SecretAssignments` scans for.
    var regex: NSRegularExpression?
  }

  /// The index of `secret-assignment` in `rules`.
  static let assignmentRule = 4

  static let rules: [Rule] = {
    // The patterns are constants; the tests check that all of them compile.
    func rule(_ kind: String, _ pattern: String) -> Rule? {
      (try? NSRegularExpression(pattern: pattern)).map { Rule(kind: kind, regex: $0) }
    }
    return [
      rule(
        "private-key",
        #"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----[\s\S]*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|\z)"#),
      rule("aws-access-key", #"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"#),
      rule("github-token", #"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b"#),
      rule("slack-token", #"\bxox[abprse]-[A-Za-z0-9-]{10,}"#),
      Rule(kind: "secret-assignment", regex: nil),
      rule("google-api-key", #"\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])"#),
      rule("stripe-key", #"\b[rs]k_live_[0-9A-Za-z]{24,99}\b"#),
      rule("gitlab-token", #"\bglpat-[0-9A-Za-z_-]{20,}"#),
      rule("npm-token", #"\bnpm_[A-Za-z0-9]{36}\b"#),
      rule("jwt", #"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"#),
      rule("pypi-token", #"\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}"#),
    ].compactMap { $0 }
  }()

  // MARK: - Pre-filter

  /// Trigger words (ASCII case folded) and the rule each one enables;
  /// rules are in the order of `rules`.
  static let triggers: [(needle: [UInt8], rule: Int)] = [
    ("-----begin", 0), ("akia", 1), ("asia", 1), ("ghp_", 2), ("gho_", 2), ("ghu_", 2), ("ghs_", 2),
    ("ghr_", 2), ("github_pat_", 2), ("xox", 3), ("passw", 4), ("pwd", 4), ("secret", 4), ("token", 4),
    ("api_key", 4), ("api-key", 4), ("apikey", 4), ("access_key", 4), ("access-key", 4),
    ("private_key", 4), ("private-key", 4), ("aiza", 5), ("sk_live_", 6), ("rk_live_", 6), ("glpat-", 7),
    ("npm_", 8), ("eyj", 9), ("pypi-", 10),
  ].map { (Array($0.0.utf8).map { $0 | 0x20 }, $0.1) }  // folded like the scanned bytes

  /// One cheap pass over the bytes (ASCII case folded) that rules out most
  /// text before any regular expression runs: a bit mask of the rules worth
  /// running (regular expressions are slow on Linux Foundation).
  static func candidateRules(_ text: String) -> Int {
    if let mask = text.utf8.withContiguousStorageIfAvailable(candidateRules(bytes:)) { return mask }
    var copy = text
    return copy.withUTF8(candidateRules(bytes:))
  }

  /// `candidateRules` on UTF-8 bytes.
  static func candidateRules(bytes buffer: UnsafeBufferPointer<UInt8>) -> Int {
    guard let base = buffer.baseAddress, buffer.count >= 3 else { return 0 }
    let n = buffer.count
    var mask = 0
    // Sixteen positions at a time: a trigger can start only where the first
    // two (folded) bytes are a trigger's first two; lanes that pass go to the
    // exact test below. Bytes i ..< i + 17 are read, and positions up to
    // n - 3 tested, so the loop stops 18 bytes before the end.
    var i = 0
    while i + 18 <= n {
      let hits = firstPairs(base + i)
      if hits != 0 {
        var lanes = hits
        while lanes != 0 {
          let j = i + lanes.trailingZeroBitCount
          lanes &= lanes - 1
          mask |= candidateAt(base, j, n)
        }
      }
      i += 16
    }
    while i < n - 2 {
      mask |= candidateAt(base, i, n)
      i += 1
    }
    return mask
  }

  /// The bit mask of the sixteen positions from `p` whose two folded bytes
  /// begin a trigger: `--`, `ak as ap ac ai`, `gh gi gl`, `xo to`, `pa pw pr py`,
  /// `se sk`, `rk`, `np`, `ey`
  /// (the tests check every trigger is found, wherever it stands).
  @inline(__always) private static func firstPairs(_ p: UnsafePointer<UInt8>) -> UInt32 {
    let fold = SIMD16<UInt8>(repeating: 0x20)
    let a = UnsafeRawPointer(p).loadUnaligned(as: SIMD16<UInt8>.self) | fold
    let b = UnsafeRawPointer(p + 1).loadUnaligned(as: SIMD16<UInt8>.self) | fold
    func eq(_ v: SIMD16<UInt8>, _ c: Unicode.Scalar) -> SIMDMask<SIMD16<Int8>> {
      v .== SIMD16(repeating: UInt8(c.value))
    }
    let second = eq(b, "o")
    var hit = eq(a, "-") .& eq(b, "-")
    let k = eq(b, "k")
    hit .|= eq(a, "a") .& (k .| eq(b, "s") .| eq(b, "p") .| eq(b, "c") .| eq(b, "i"))
    hit .|= eq(a, "g") .& (eq(b, "h") .| eq(b, "i") .| eq(b, "l"))
    hit .|= (eq(a, "x") .| eq(a, "t")) .& second
    hit .|= eq(a, "p") .& (eq(b, "a") .| eq(b, "w") .| eq(b, "r") .| eq(b, "y"))
    hit .|= eq(a, "s") .& (eq(b, "e") .| k)
    hit .|= eq(a, "r") .& k
    hit .|= eq(a, "n") .& eq(b, "p")
    hit .|= eq(a, "e") .& eq(b, "y")
    // Lanes are 0x00 or 0xFF: read them as two words (the generic `any()`
    // and lane loops were not inlined), and gather each word's top bits.
    let words = unsafeBitCast(hit, to: (UInt64, UInt64).self)
    guard words.0 | words.1 != 0 else { return 0 }
    return UInt32(truncatingIfNeeded: SWAR.gatherHighBits(words.0) | SWAR.gatherHighBits(words.1) << 8)
  }

  /// The rules of triggers at `i`, after the two-bitmap test of its first
  /// and second byte pairs (rules out nearly every position).
  @inline(__always) private static func candidateAt(_ base: UnsafePointer<UInt8>, _ i: Int, _ n: Int) -> Int {
    let a = Int(base[i] | 0x20)
    let b = Int(base[i + 1] | 0x20)
    let c = Int(base[i + 2] | 0x20)
    let first = a << 8 | b
    let second = 1 << 16 | b << 8 | c
    return prefilter.withUnsafeBufferPointer { bits in
      bits[first >> 6] & (1 << UInt64(first & 63)) != 0 && bits[second >> 6] & (1 << UInt64(second & 63)) != 0
        ? matches(base, at: i, count: n) : 0
    }
  }

  /// The rules of the triggers that start at `i` (rare: only after the pre-filter).
  private static func matches(_ base: UnsafePointer<UInt8>, at i: Int, count n: Int) -> Int {
    var mask = 0
    for trigger in triggers where trigger.needle[0] == base[i] | 0x20 && i + trigger.needle.count <= n {
      var j = 1
      while j < trigger.needle.count && (base[i + j] | 0x20) == trigger.needle[j] { j += 1 }
      if j == trigger.needle.count { mask |= 1 << trigger.rule }
    }
    return mask
  }

  /// Bits `a << 8 | b` (first two folded bytes of a trigger) and
  /// `1 << 16 | b << 8 | c` (its second and third).
  private static let prefilter: [UInt64] = {
    var bits = [UInt64](repeating: 0, count: 2048)
    for trigger in triggers {
      let n = trigger.needle
      for key in [Int(n[0]) << 8 | Int(n[1]), 1 << 16 | Int(n[1]) << 8 | Int(n[2])] {
        bits[key >> 6] |= 1 << UInt64(key & 63)
      }
    }
    return bits
  }()

  /// Appends `other`'s findings after this one's (the byte-level log path
  /// redacts parts of a file separately, then joins them in order).
  mutating func append(contentsOf other: Redactor) { found.append(contentsOf: other.found) }
}
