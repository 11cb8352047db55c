import Foundation

/// A file found under the inputs, with the kind to extract it as, or the reason it is skipped.
public struct DiscoveredFile: Sendable, Hashable, Codable {
  /// Absolute, standardised path.
  public var path: String
  /// The path as cited in reports.
  public var displayPath: String
  public var kind: DocumentKind?
  public var skipReason: String?
}

/// Finds input files: honours .gitignore (through `git ls-files` in a work
/// tree), skips vendored/generated directories and binaries, never follows a
/// symlink out of its root, and detects each file's kind.
public enum Discovery {
  static let skippedDirectories: Set<String> = [
    ".git", "node_modules", "vendor", ".build", "dist", "build", "target", "__pycache__",
    ".venv", "venv", ".tox", ".mypy_cache", ".gradle", "Pods", "DerivedData", ".longctx",
  ]

  /// Lists the files under `inputs`.
  ///
  /// - Parameters:
  ///   - inputs: Files or directories; relative paths resolve against `base`.
  ///   - base: The directory relative paths and display paths are taken from.
  ///   - forcedKind: Extract every file as this kind instead of detecting it.
  /// - Throws: `IngestError.pathNotFound` for an input that does not exist.
  public static func discover(
    inputs: [String], base: URL, forcedKind: DocumentKind? = nil
  ) throws -> [DiscoveredFile] {
    var found: [DiscoveredFile] = []
    var seen = Set<String>()
    let fm = FileManager.default
    for input in inputs {
      let url = input.hasPrefix("/") ? URL(fileURLWithPath: input) : base.appendingPathComponent(input)
      let root = url.standardizedFileURL
      var isDir: ObjCBool = false
      guard fm.fileExists(atPath: root.path, isDirectory: &isDir) else {
        throw IngestError.pathNotFound(input)
      }
      let display = displayPath(for: root.path, base: base)
      if !isDir.boolValue {
        if seen.insert(root.path).inserted {
          found.append(classify(path: root.path, displayPath: display, forcedKind: forcedKind))
        }
        continue
      }
      for rel in try listDirectory(root) {
        let abs = root.appendingPathComponent(rel.path).path
        guard seen.insert(abs).inserted else { continue }
        let shown = display == "." ? rel.path : "\(display)/\(rel.path)"
        if let reason = rel.skip {
          found.append(DiscoveredFile(path: abs, displayPath: shown, kind: nil, skipReason: reason))
        } else {
          found.append(classify(path: abs, displayPath: shown, forcedKind: forcedKind))
        }
      }
    }
    return found.sorted { orderKey($0.displayPath) < orderKey($1.displayPath) }
  }

  /// A sort key that puts rotated logs oldest first: app.log.2.gz, app.log.1, app.log.
  public static func orderKey(_ path: String) -> String {
    var name = Compression.bareName(path)
    var rotation = 0
    if let dot = name.lastIndex(of: "."), let n = Int(name[name.index(after: dot)...]),
      name[..<dot].hasSuffix(".log") || name[..<dot].contains(".log")
    {
      rotation = n
      name = String(name[..<dot])
    }
    return "\(name)\u{1}\(String(format: "%08d", 99_999_999 - rotation))"
  }

  private struct Listed {
    var path: String
    var skip: String?
  }

  private static func listDirectory(_ root: URL) throws -> [Listed] {
    if let tracked = gitListing(root) { return filter(tracked, root: root) }
    var out: [String] = []
    let fm = FileManager.default
    func walk(_ dir: URL, _ prefix: String) {
      guard let names = try? fm.contentsOfDirectory(atPath: dir.path) else { return }
      for name in names.sorted() {
        let child = dir.appendingPathComponent(name)
        let rel = prefix.isEmpty ? name : "\(prefix)/\(name)"
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: child.path, isDirectory: &isDir) else { continue }
        if isDir.boolValue {
          if isSymlink(child) { continue }  // never follow directory links
          walk(child, rel)
        } else {
          out.append(rel)
        }
      }
    }
    walk(root, "")
    return filter(out, root: root)
  }

  private static func filter(_ paths: [String], root: URL) -> [Listed] {
    let rootPath = root.resolvingSymlinksInPath().path
    return paths.map { rel in
      let comps = rel.split(separator: "/").map(String.init)
      if let dir = comps.dropLast().first(where: { skippedDirectories.contains($0) }) {
        return Listed(path: rel, skip: "vendored or generated directory \(dir)/")
      }
      let url = root.appendingPathComponent(rel)
      if isSymlink(url) {
        let target = url.resolvingSymlinksInPath().path
        if !(target == rootPath || target.hasPrefix(rootPath + "/")) {
          return Listed(path: rel, skip: "symlink leading outside the input root")
        }
      }
      if rel.hasSuffix(".min.js") || rel.hasSuffix(".min.css") {
        return Listed(path: rel, skip: "minified file")
      }
      return Listed(path: rel, skip: nil)
    }
  }

  /// `git ls-files` of a work tree: tracked plus untracked-but-not-ignored files.
  private static func gitListing(_ root: URL) -> [String]? {
    guard FileManager.default.fileExists(atPath: root.appendingPathComponent(".git").path) else { return nil }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["git", "-C", root.path, "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    do { try process.run() } catch { return nil }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { return nil }
    return String(decoding: data, as: UTF8.self).split(separator: "\0").map(String.init).sorted()
  }

  static func isSymlink(_ url: URL) -> Bool {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: url.path)) != nil
  }

  /// `path` relative to `base`, with `..` where it lies outside, so that
  /// citations resolve from the job file's directory wherever longctx runs.
  static func displayPath(for path: String, base: URL) -> String {
    let from = base.standardizedFileURL.path.split(separator: "/")
    let to = path.split(separator: "/")
    var common = 0
    while common < min(from.count, to.count) && from[common] == to[common] { common += 1 }
    let ups = Array(repeating: "..", count: from.count - common)
    let parts = ups + to[common...].map(String.init)
    return parts.isEmpty ? "." : parts.joined(separator: "/")
  }

  /// Names of image files read with OCR (`DocumentKind.image`).
  static let imageExtensions: Set<String> = ["png", "jpg", "jpeg", "tif", "tiff"]
  /// Office Open XML: read natively.
  static let officeExtensions: Set<String> = [
    "docx", "docm", "dotx", "dotm", "xlsx", "xlsm", "xltx", "xltm", "pptx", "pptm", "potx", "potm", "ppsx", "ppsm",
  ]
  /// Other office formats: converted by LibreOffice.
  static let convertedExtensions: Set<String> = [
    "doc", "dot", "xls", "xlt", "ppt", "pps", "pot", "rtf", "odt", "ods", "odp", "odg", "ott", "ots", "otp",
    "fodt", "fods", "fodp", "sxw", "sxc", "sxi", "wpd", "wps", "wk1", "wks", "123", "vsd", "pub", "xlsb",
  ]
  static let htmlExtensions: Set<String> = ["html", "htm", "xhtml"]
  /// Archives libarchive reads (a compressed tarball is named by its last two extensions).
  static let archiveExtensions: Set<String> = [
    "zip", "7z", "tar", "tgz", "tbz", "tbz2", "txz", "tzst", "rar", "cab", "iso", "cpio", "ar", "xar", "lha", "lzh",
  ]

  /// The kind an office, mail-store, HTML or archive file has by its name and first bytes, or `nil`.
  static func containerKind(name: String, head: [UInt8]) -> DocumentKind? {
    let ext = (name as NSString).pathExtension
    let zip = head.starts(with: [0x50, 0x4B, 0x03, 0x04]) || head.starts(with: [0x50, 0x4B, 0x05, 0x06])
    let ole = head.starts(with: [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1])
    if officeExtensions.contains(ext) { return .office }
    // `.msg` and `.pst` name other things too (Tcl message catalogs are text): only their magic decides.
    if ext == "msg" && ole { return .outlook }
    if head.starts(with: Array("!BDN".utf8)) { return .pst }
    if convertedExtensions.contains(ext) { return .officeConverted }
    if htmlExtensions.contains(ext) { return .html }
    for suffix in [".tar.gz", ".tar.bz2", ".tar.xz", ".tar.zst", ".tar.lz", ".tar.lzma", ".tar.z"]
    where name.hasSuffix(suffix) {
      return .archive
    }
    if archiveExtensions.contains(ext) { return .archive }
    // By content where the name says nothing: a ZIP, a 7z, a TAR, an OLE2 file.
    if ole { return .officeConverted }
    if zip || head.starts(with: [0x37, 0x7A, 0xBC, 0xAF, 0x27, 0x1C]) { return .archive }
    if head.count >= 262, Array(head[257..<262]) == Array("ustar".utf8) { return .archive }
    if head.starts(with: Array("{\\rtf".utf8)) { return .officeConverted }
    return nil
  }

  /// Decides the kind of `path` from its name, then its first bytes.
  static func classify(path: String, displayPath: String, forcedKind: DocumentKind?) -> DiscoveredFile {
    var file = DiscoveredFile(path: path, displayPath: displayPath, kind: nil, skipReason: nil)
    if let forcedKind {
      file.kind = forcedKind
      return file
    }
    let name = (path as NSString).lastPathComponent.lowercased()
    // One read of the file's first bytes answers every question about its content below.
    let head = [UInt8](rawHead(path, count: 16_384))
    let compression = Compression.named(name) ?? Compression.sniff(head)
    let bare = Compression.bareName(name)
    let isLogName =
      bare.hasSuffix(".log") || bare.range(of: #"\.log\.\d+$"#, options: .regularExpression) != nil
      || bare.hasSuffix(".jsonl") || bare == "syslog" || bare.hasPrefix("syslog.") || bare == "messages"
    if bare.hasSuffix(".pdf") {
      file.kind = .pdf
    } else if let container = containerKind(name: name, head: head) {
      file.kind = container
    } else if isLogName {
      file.kind = .log
    } else if bare.hasSuffix(".eml") || bare.hasSuffix(".mbox") {
      file.kind = .email
    } else if compression == nil, imageExtensions.contains((bare as NSString).pathExtension) {
      file.kind = .image
    } else if compression != nil {
      // What a compressed file holds decides: a PDF, a binary (a tarball), or text read as a log.
      // A corrupt one is read as a log, whose decoder then says what is wrong.
      guard let inner = try? Decompression.head(path: path) else {
        file.kind = .log
        return file
      }
      if inner.starts(with: Array("%PDF-".utf8)) {
        file.kind = .pdf
      } else if inner.contains(0) {
        file.skipReason = "compressed binary file"
      } else {
        file.kind = .log
      }
    } else if Mbox.isMbox(head) {
      file.kind = .email  // a mailbox by its content: `inbox.mbox.txt`, Thunderbird's `Inbox`
    } else if head.prefix(8192).contains(0) {  // a NUL byte in the first 8 KiB marks a binary
      file.skipReason = "binary file"
    } else if Languages.name(forPath: path) != nil {
      file.kind = .code
    } else {
      file.kind = .text
    }
    return file
  }

  /// The first `count` bytes of `path` as stored.
  static func rawHead(_ path: String, count: Int) -> Data {
    guard let handle = FileHandle(forReadingAtPath: path) else { return Data() }
    defer { try? handle.close() }
    return (try? handle.read(upToCount: count)) ?? Data()
  }
}
