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
    tokenize(b, body) { _ in }
  }

  /// `tokenize(_:_:)`, and after each variable whose text is more than `<*>`, `decorate` with
  /// that text as loghub's templates write it: the punctuation around the variable and the
  /// units in its run stay (`(<*>):`, `<*>.`, `#<*>`, `<*> seconds`, `<*> bytes (<*> KB)`).
  /// The miner groups on the masked tokens alone; the decorations only render its templates.
  static func tokenize(
    _ b: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>, Bool) -> Void,
    decorate: (UnsafeBufferPointer<UInt8>) -> Void
  ) {
    var i = 0
    let n = b.count
    var scratch = [UInt8]()
    // A run of variables (with the units that follow numbers: `0 bytes (0 KB)`,
    // `<1 sec`) is one `<*>`.
    var lastMasked = false
    // The run's text with `<*>` for each variable's core, and whether it is more than `<*>`.
    var run = [UInt8]()
    var decorated = false
    // Whether the run belongs to a variable token (not to a constant such as `<*>]`).
    var runMasked = false
    func endRun() {
      if decorated && runMasked { run.withUnsafeBufferPointer { decorate($0) } }
      decorated = false
      runMasked = false
    }
    func startRun(_ token: UnsafeBufferPointer<UInt8>, _ lo: Int, _ hi: Int) {
      endRun()
      run.removeAll(keepingCapacity: true)
      runMasked = true
      appendRun(token, lo, hi, variable: true)
    }
    func appendRun(_ token: UnsafeBufferPointer<UInt8>, _ lo: Int, _ hi: Int, variable: Bool) {
      if !run.isEmpty {
        run.append(0x20)
        decorated = true
      }
      if lo > 0 || hi < token.count || !variable { decorated = true }
      run.append(contentsOf: token[0..<lo])
      if variable { run.append(contentsOf: [0x3C, 0x2A, 0x3E]) } else { run.append(contentsOf: token[lo..<hi]) }
      run.append(contentsOf: token[hi...])
    }
    defer { endRun() }
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
        endRun()
        body(token, false)
        lastMasked = false
        continue
      }
      let core = UnsafeBufferPointer(rebasing: token[lo..<hi])
      if lastMasked, isUnit(core) {
        appendRun(token, lo, hi, variable: false)
        continue
      }
      // A path or URL is one variable, whatever it holds.
      if core.count > 1,
        core[0] == UInt8(ascii: "/") || core[0] == UInt8(ascii: "\\") || hasScheme(core) || isDrivePath(core)
      {
        if !lastMasked {
          body(token, true)
          startRun(token, lo, hi)
        } else {
          appendRun(token, lo, hi, variable: true)
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
        endRun()
        body(token, false)
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
          appendRun(token, lo, hi, variable: true)
        } else if (pre > 0 || post < token.count) && !inner {
          endRun()
          scratch.removeAll(keepingCapacity: true)
          scratch.append(contentsOf: token[0..<pre])
          scratch.append(contentsOf: [0x3C, 0x2A, 0x3E])
          scratch.append(contentsOf: token[post...])
          scratch.withUnsafeBufferPointer { body($0, false) }
          // A constant holding `<*>`, not a variable: a run starts after it.
          run.removeAll(keepingCapacity: true)
          run.append(contentsOf: [0x3C, 0x2A, 0x3E])
        } else {
          body(token, true)
          startRun(token, lo, hi)
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
        endRun()
        scratch.withUnsafeBufferPointer { body($0, false) }
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
  static let closedSet: Set<[UInt8]> = {
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
    return Set(words.map { Array($0.utf8) })
  }()

  /// Whether `t` is one of `closedSet` (letters only, 3 to 9 bytes; checked by the caller).
  static func isClosedSet(_ t: UnsafeBufferPointer<UInt8>) -> Bool {
    // Most words start with a letter no closed-set word starts with: those are answered without hashing.
    switch t[0] | 0x20 {
    case UInt8(ascii: "a"), UInt8(ascii: "d"), UInt8(ascii: "f"), UInt8(ascii: "j"), UInt8(ascii: "m"),
      UInt8(ascii: "n"), UInt8(ascii: "o"), UInt8(ascii: "s"), UInt8(ascii: "t"), UInt8(ascii: "w"):
      return closedSet.contains(Array(t))
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
