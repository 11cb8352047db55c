import Foundation

extension TemplateMiner {
  // MARK: - Pre-processing

  /// Calls `body` with each white-space separated token of `b`, masked.
  ///
  /// `(token, true)`: the token is wholly a variable (a run of variables and
  /// the units after them is reported once). `(bytes, false)`: a constant,
  /// whose bytes may hold `<*>` in place of variable segments (`(HWID=<*>)`,
  /// `<*>]`); `bytes` is only valid during the call.
  static func tokenize(_ b: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>, Bool) -> Void) {
    tokenize(b, decorating: false) { t, piece in body(t, piece == .variable) }
  }

  /// What `tokenize` reports.
  enum Piece {
    /// A constant token (its bytes may hold `<*>`: `(HWID=<*>)`).
    case constant
    /// A token (or run of tokens) that is wholly a variable.
    case variable
    /// How the variable reported last is written, when it is more than `<*>`.
    case decoration
  }

  /// The text of a run of variables as loghub's templates write it, kept as the positions of its
  /// tokens in the message and written out only when it is more than `<*>`.
  struct Run {
    /// Per token: where it starts in the message, its core (`lo..<hi` within it), its length and
    /// whether it is a variable (else a unit word, kept as it is).
    var parts: [(start: Int, lo: Int, hi: Int, count: Int, variable: Bool)] = []
    var bytes: [UInt8] = []
    /// Whether the text is more than `<*>`.
    var decorated = false
    /// Whether the run belongs to a variable token (not to a constant such as `<*>]`).
    var masked = false

    @inline(__always) mutating func start(_ token: UnsafeBufferPointer<UInt8>, _ lo: Int, _ hi: Int, at start: Int) {
      parts.removeAll(keepingCapacity: true)
      decorated = false
      masked = true
      append(token, lo, hi, at: start, variable: true)
    }

    @inline(__always) mutating func append(
      _ token: UnsafeBufferPointer<UInt8>, _ lo: Int, _ hi: Int, at start: Int, variable: Bool
    ) {
      if !parts.isEmpty || lo > 0 || hi < token.count || !variable { decorated = true }
      parts.append((start, lo, hi, token.count, variable))
    }

    /// The run's text: `<*>` for each variable's core, the rest as in the message `b`.
    mutating func build(_ b: UnsafeBufferPointer<UInt8>) {
      bytes.removeAll(keepingCapacity: true)
      for (k, p) in parts.enumerated() {
        // Two variables with only white space between them are one `<*>` (loghub: `"GET <*>"` for
        // `"GET /v2/x HTTP/1.1"`, `from <*> to` for a date and a time).
        if k > 0, p.variable, p.lo == 0, parts[k - 1].variable, parts[k - 1].hi == parts[k - 1].count {
          bytes.append(contentsOf: b[(p.start + p.hi)..<(p.start + p.count)])
          continue
        }
        if k > 0 { bytes.append(0x20) }
        bytes.append(contentsOf: b[p.start..<(p.start + p.lo)])
        if p.variable {
          bytes.append(contentsOf: [0x3C, 0x2A, 0x3E])
        } else {
          bytes.append(contentsOf: b[(p.start + p.lo)..<(p.start + p.hi)])
        }
        bytes.append(contentsOf: b[(p.start + p.hi)..<(p.start + p.count)])
      }
    }
  }

  @inline(__always) static func flush(
    _ run: inout Run, _ b: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>, Piece) -> Void
  ) {
    if run.decorated && run.masked {
      run.build(b)
      run.bytes.withUnsafeBufferPointer { body($0, .decoration) }
    }
    run.decorated = false
    run.masked = false
  }

  /// Each token of `b`, masked (`.constant`, `.variable`, as `tokenize(_:_:)`), and after each
  /// variable whose text is more than `<*>`, a `.decoration`: that text as loghub's templates
  /// write it, the punctuation around the variable and the units in its run kept (`(<*>):`,
  /// `<*>.`, `#<*>`, `<*> seconds`, `<*> bytes (<*> KB)`). The miner groups on the masked
  /// tokens alone; the decorations only render its templates.
  /// Without `decorating`, no `.decoration` is reported (and nothing is spent on them).
  static func tokenize(
    _ b: UnsafeBufferPointer<UInt8>, decorating: Bool, _ body: (UnsafeBufferPointer<UInt8>, Piece) -> Void
  ) {
    var i = 0
    let n = b.count
    var scratch = [UInt8]()
    // A run of variables (with the units that follow numbers: `0 bytes (0 KB)`,
    // `<1 sec`) is one `<*>`.
    var lastMasked = false
    var run = Run()
    defer { flush(&run, b, body) }
    while i < n {
      while i < n, isSpace(b[i]) { i += 1 }
      guard i < n else { break }
      let start = i
      while i < n, !isSpace(b[i]) { i += 1 }
      let token = UnsafeBufferPointer(rebasing: b[start..<i])
      // Strip surrounding punctuation.
      var lo = 0
      var hi = token.count
      while lo < hi, isOpen(token[lo]) { lo += 1 }
      while hi > lo, isClose(token[hi - 1]) { hi -= 1 }
      if lo == hi {
        flush(&run, b, body)
        body(token, .constant)
        lastMasked = false
        continue
      }
      let core = UnsafeBufferPointer(rebasing: token[lo..<hi])
      if lastMasked, isUnit(core) {
        if decorating { run.append(token, lo, hi, at: start, variable: false) }
        continue
      }
      // A path or URL is one variable, whatever it holds.
      if core.count > 1,
        core[0] == UInt8(ascii: "/") || core[0] == UInt8(ascii: "\\") || hasScheme(core) || isDrivePath(core)
      {
        if !lastMasked {
          body(token, .variable)
          flush(&run, b, body)
          if decorating { run.start(token, lo, hi, at: start) }
        } else {
          if decorating { run.append(token, lo, hi, at: start, variable: true) }
        }
        lastMasked = true
        continue
      }
      // Segments between delimiters (`onExtend:1514038530000`, `deny(1)`, `a=1|b=2`):
      // variable segments become `<*>`; a token of variables only is one `<*>`.
      var variables = 0
      var constants = 0
      var k = 0
      while k < token.count {
        while k < token.count, isDelimiter(token[k]) { k += 1 }
        guard k < token.count else { break }
        let segStart = k
        while k < token.count, !isDelimiter(token[k]) { k += 1 }
        var segEnd = k
        while segEnd > segStart, isClose(token[segEnd - 1]) { segEnd -= 1 }
        let seg = UnsafeBufferPointer(rebasing: token[segStart..<segEnd])
        if isVariable(seg) { variables += 1 } else if !isDotted(seg) { constants += 1 }
      }
      if variables == 0 {
        flush(&run, b, body)
        body(token, .constant)
        lastMasked = false
      } else if constants == 0 {
        // Brackets around a variable stay (`b9000564-…]` → `<*>]`), so that templates read like loghub's.
        var pre = 0
        while pre < token.count, isBracket(token[pre]) { pre += 1 }
        var post = token.count
        while post > pre, isBracket(token[post - 1]) || isClose(token[post - 1]) { post -= 1 }
        var inner = false
        for k in pre..<post where isDelimiter(token[k]) {
          inner = true
          break
        }
        if lastMasked {
          // Part of the run of variables before it.
          if decorating { run.append(token, lo, hi, at: start, variable: true) }
        } else if (pre > 0 || post < token.count) && !inner {
          flush(&run, b, body)
          scratch.removeAll(keepingCapacity: true)
          scratch.append(contentsOf: token[0..<pre])
          scratch.append(contentsOf: [0x3C, 0x2A, 0x3E])
          scratch.append(contentsOf: token[post...])
          scratch.withUnsafeBufferPointer { body($0, .constant) }
          // A constant holding `<*>`, not a variable: the variables after it are its run, unless
          // a separator ends it (`1, 2` is `<*>, <*>`, as loghub writes lists).
          run.parts.removeAll(keepingCapacity: true)
          run.masked = false
          var separated = false
          for c in token[post...] where c == UInt8(ascii: ",") || c == UInt8(ascii: ";") || c == UInt8(ascii: ":") {
            separated = true
          }
          lastMasked = !separated
          continue
        } else {
          body(token, .variable)
          flush(&run, b, body)
          if decorating { run.start(token, lo, hi, at: start) }
        }
        lastMasked = true
      } else {
        scratch.removeAll(keepingCapacity: true)
        k = 0
        while k < token.count {
          if isDelimiter(token[k]) {
            scratch.append(token[k])
            k += 1
            continue
          }
          let segStart = k
          while k < token.count, !isDelimiter(token[k]) { k += 1 }
          var segEnd = k
          while segEnd > segStart, isClose(token[segEnd - 1]) { segEnd -= 1 }
          let seg = UnsafeBufferPointer(rebasing: token[segStart..<segEnd])
          if isVariable(seg) || isDotted(seg) {
            scratch.append(contentsOf: [0x3C, 0x2A, 0x3E])
            scratch.append(contentsOf: token[segEnd..<k])
          } else {
            scratch.append(contentsOf: token[segStart..<k])
          }
        }
        flush(&run, b, body)
        scratch.withUnsafeBufferPointer { body($0, .constant) }
        lastMasked = false
      }
    }
  }

  /// `C:\Windows\x`: a drive letter, a colon, a backslash.
  static func isDrivePath(_ t: UnsafeBufferPointer<UInt8>) -> Bool {
    t.count > 3 && (t[0] | 0x20) >= 0x61 && (t[0] | 0x20) <= 0x7A && t[1] == UInt8(ascii: ":")
      && t[2] == UInt8(ascii: "\\")
  }

  /// `scheme://`
  static func hasScheme(_ t: UnsafeBufferPointer<UInt8>) -> Bool {
    var k = 0
    while k < t.count, k < 12, (t[k] | 0x20) >= 0x61 && (t[k] | 0x20) <= 0x7A { k += 1 }
    return k > 0 && k + 2 < t.count && t[k] == UInt8(ascii: ":") && t[k + 1] == UInt8(ascii: "/")
      && t[k + 2] == UInt8(ascii: "/")
  }

  /// A host or dotted name (`proxy.cse.cuhk.edu.hk`): a variable next to a variable (`host:5070`).
  static func isDotted(_ t: UnsafeBufferPointer<UInt8>) -> Bool {
    guard t.count >= 3, t.first != UInt8(ascii: "."), t.last != UInt8(ascii: ".") else { return false }
    return t.contains(UInt8(ascii: ".")) || t.contains(UInt8(ascii: "/"))
  }

  @inline(__always) static func isBracket(_ c: UInt8) -> Bool {
    c == UInt8(ascii: "(") || c == UInt8(ascii: ")") || c == UInt8(ascii: "[") || c == UInt8(ascii: "]")
      || c == UInt8(ascii: "{") || c == UInt8(ascii: "}") || c == UInt8(ascii: "\"") || c == UInt8(ascii: "'")
  }

  @inline(__always) static func isDelimiter(_ c: UInt8) -> Bool {
    switch c {
    case UInt8(ascii: ":"), UInt8(ascii: "="), UInt8(ascii: "|"), UInt8(ascii: "("), UInt8(ascii: ")"),
      UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "{"), UInt8(ascii: "}"), UInt8(ascii: ","),
      UInt8(ascii: ";"), UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "<"), UInt8(ascii: ">"):
      return true
    default: return false
    }
  }

  static let units: Set<[UInt8]> = Set(
    [
      "b", "byte", "bytes", "kb", "mb", "gb", "tb", "kib", "mib", "gib", "k", "m", "g", "ms", "us", "ns", "s", "sec",
      "secs", "second", "seconds", "min", "mins", "minute", "minutes", "h", "hr", "hrs", "hour", "hours", "day", "days",
      "%", "kb/s", "mb/s", "ms.",
    ].map { Array($0.utf8) })

  /// `units`, each lower-cased word packed into an integer (a word of at most 7 bytes, and its length).
  static let packedUnits = Set(units.map { $0.withUnsafeBufferPointer(pack) })

  @inline(__always) static func pack(_ t: UnsafeBufferPointer<UInt8>) -> UInt64 {
    var v = UInt64(t.count) << 56
    for (i, c) in t.enumerated() { v |= UInt64(c | (((c >= 0x41) && (c <= 0x5A)) ? 0x20 : 0)) << (8 * i) }
    return v
  }

  static func isUnit(_ t: UnsafeBufferPointer<UInt8>) -> Bool {
    guard t.count <= 7 else { return false }
    return packedUnits.contains(pack(t))
  }

  @inline(__always) static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0A }
  @inline(__always) static func isOpen(_ c: UInt8) -> Bool {
    c == UInt8(ascii: "(") || c == UInt8(ascii: "[") || c == UInt8(ascii: "{") || c == UInt8(ascii: "<")
      || c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") || c == UInt8(ascii: "#") || c == UInt8(ascii: "*")
  }
  @inline(__always) static func isClose(_ c: UInt8) -> Bool {
    c == UInt8(ascii: ")") || c == UInt8(ascii: "]") || c == UInt8(ascii: "}") || c == UInt8(ascii: ">")
      || c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") || c == UInt8(ascii: ",") || c == UInt8(ascii: ";")
      || c == UInt8(ascii: ":") || c == UInt8(ascii: ".")
  }

  /// Numbers, ids with digits, versions, IPs, times, durations, sizes, paths and URLs.
  static func isVariable(_ t: UnsafeBufferPointer<UInt8>) -> Bool {
    var digits = 0
    var letters = 0
    var separators = 0
    var slashes = 0
    for c in t {
      if c >= 0x30 && c <= 0x39 {
        digits += 1
      } else if (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A {
        letters += 1
      } else if c == UInt8(ascii: "/") || c == UInt8(ascii: "\\") {
        slashes += 1
      } else if c >= 0x80 {
        letters += 1
      } else {
        separators += 1  // - . : _ @ # + , [ ( | = …
      }
    }
    if digits > 0 {
      // 0GB, 12ms, 3rd: a number with a unit.
      if t[0] >= 0x30 && t[0] <= 0x39 { return true }
      // 42, 0x1f, 10.0.0.1:80, 12ms, 3.5KB, blk_-1608, node-246, v6.1.7601, 2017-05-16
      return digits >= letters || separators > 0 || slashes > 0 || isHex(t)
    }
    // A word of a small closed set (booleans, null, day and month names) is a value.
    if slashes == 0, separators == 0, t.count >= 3, t.count <= 9, isClosedSet(t) { return true }
    // Paths and URLs: /var/log/x, C:\Windows\x, http://host/x (not a lone "and/or").
    if slashes > 0 {
      return t.first == UInt8(ascii: "/") || t.first == UInt8(ascii: "\\") || slashes >= 2
        || (t.count > 2 && t[1] == UInt8(ascii: ":"))
    }
    return false
  }

  /// Words that are values wherever they stand in a message: a constant of the template never
  /// takes one of them, a variable takes them all (`at Sun Jul <*>`, `is true`, `obj=null`).
  /// Case as written: `true`, `True`, `TRUE`; `Jul`, `July`, `JUL`. Not log levels: a level
  /// word inside a message is as often a constant (`ERROR IN CONTACTING RM.`) as a value.
  static let closedSet: [UInt64] = {
    var words = ["null", "nil", "true", "false"].flatMap { [$0, $0.capitalized, $0.uppercased()] }
    let names = [
      "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january", "february", "march",
      "april", "may", "june", "july", "august", "september", "october", "november", "december",
    ]
    for n in names {
      words += [n.capitalized, n.uppercased()]
      words += [String(n.prefix(3)).capitalized, String(n.prefix(3)).uppercased()]
    }
    words += ["Tues", "Thur", "Thurs", "Sept"]
    // An open-addressing table (0: empty) probed with a multiplicative hash: no hashing of
    // its own per lookup, as a Set would.
    var table = [UInt64](repeating: 0, count: closedSetSize)
    for w in words {
      guard let key = Array(w.utf8).withUnsafeBufferPointer(packExact) else { continue }
      var i = closedSetSlot(key)
      while table[i] != 0 && table[i] != key { i = (i + 1) & (closedSetSize - 1) }
      table[i] = key
    }
    return table
  }()
  static let closedSetSize = 512

  @inline(__always) static func closedSetSlot(_ key: UInt64) -> Int {
    Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 55)
  }

  /// An ASCII word of 3 to 9 bytes as one integer, case kept: its first 8 bytes (zero-padded, so the
  /// length is implied) and, for a ninth byte, its 7 bits in the high bits ASCII leaves free; nil otherwise.
  @inline(__always) static func packExact(_ t: UnsafeBufferPointer<UInt8>) -> UInt64? {
    guard t.count >= 3, t.count <= 9 else { return nil }
    var v: UInt64 = 0
    var high: UInt8 = 0
    for k in 0..<min(8, t.count) {
      v |= UInt64(t[k]) << (8 * k)
      high |= t[k]
    }
    if t.count == 9 {
      high |= t[8]
      // The ninth byte's 7 bits in the free high bits of bytes 1...7.
      for bit in 0..<7 where t[8] & (1 << bit) != 0 { v |= 1 << (8 * (bit + 1) + 7) }
    }
    guard high < 0x80 else { return nil }
    return v
  }

  /// Whether `t` is one of `closedSet` (letters only, 3 to 9 bytes; checked by the caller).
  static func isClosedSet(_ t: UnsafeBufferPointer<UInt8>) -> Bool {
    // Most words start with a letter no closed-set word starts with: those are answered without hashing.
    switch t[0] | 0x20 {
    case UInt8(ascii: "a"), UInt8(ascii: "d"), UInt8(ascii: "f"), UInt8(ascii: "j"), UInt8(ascii: "m"),
      UInt8(ascii: "n"), UInt8(ascii: "o"), UInt8(ascii: "s"), UInt8(ascii: "t"), UInt8(ascii: "w"):
      guard let key = packExact(t) else { return false }
      return closedSet.withUnsafeBufferPointer { table in
        var i = closedSetSlot(key)
        while table[i] != 0 {
          if table[i] == key { return true }
          i = (i + 1) & (closedSetSize - 1)
        }
        return false
      }
    default: return false
    }
  }

  static func isKey(_ t: UnsafeBufferPointer<UInt8>) -> Bool {
    for c in t
    where !((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A || c >= 0x30 && c <= 0x39 || c == 0x5F || c == 0x2D || c == 0x2E) {
      return false
    }
    return true
  }

  static func isHex(_ t: UnsafeBufferPointer<UInt8>) -> Bool {
    guard t.count >= 8 else { return false }
    for c in t where !((c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66)) { return false }
    return true
  }
}
