import Foundation

/// One member of an archive as listed: where it is, what it is, and whether it was read.
struct ArchiveMember: Sendable {
  /// 1-based position in the archive: its line in the listing.
  var ordinal: Int
  var path: MemberPath
  var type: RawEntry.FileType
  /// Bytes read for a member read; the header's size otherwise, where it gives one.
  var size: Int64?
  /// Seconds since 1970, UTC.
  var modified: Int64?
  var linkTarget: String?
  var status: Status

  enum Status: Sendable, Equatable {
    /// Read whole; `decrypted` when a password opened it.
    case read(decrypted: Bool)
    /// Encrypted and not opened, with the reason.
    case encrypted(String)
    /// Refused by a bomb limit, with the reason.
    case refused(String)
    /// Its data or header is damaged, with libarchive's message.
    case damaged(String)
    case directory
    case link
    /// A device, FIFO or socket: listed, nothing to read.
    case special
  }
}

/// Everything read from one archive: its listing, the members' bytes as
/// children for ingest, and what went wrong along the way.
struct ArchiveContents: Sendable {
  /// libarchive's format name (`ZIP`, `GNU tar format`, `7-Zip`, …).
  var format: String?
  /// Compression around the whole archive (`gzip`, `xz`…), outermost last.
  var filters: [String] = []
  var members: [ArchiveMember] = []
  /// One per regular-file member, in order: read, or listed with its refusal.
  var children: [ChildFile] = []
  var warnings: [String] = []
  /// Bytes of all members read.
  var totalBytes: Int64 = 0
}

/// Reads an archive's members through libarchive under `ArchiveLimits`,
/// streaming each member into memory with a hard cap. Never writes a file.
struct ArchiveReader: Sendable {
  var limits = ArchiveLimits.standard
  /// Passwords tried, in order, on encrypted members.
  var passphrases: [String] = []

  /// Lists and reads the archive at `path`.
  ///
  /// - Parameters:
  ///   - path: A readable local file.
  ///   - displayPath: The path as cited, for messages.
  /// - Throws: `IngestError.archiveUnreadable` when libarchive cannot read it or breaks before any
  ///   member was read; `IngestError.archiveEncrypted` when its member list is encrypted;
  ///   `IngestError.libraryMissing` when libarchive is not installed.
  func read(path: String, displayPath: String) throws -> ArchiveContents {
    try NativeLibrary.archive.load(for: displayPath)
    return try LibArchive.withUTF8Names { try readMembers(path: path, displayPath: displayPath) }
  }

  private func readMembers(path: String, displayPath: String) throws -> ArchiveContents {
    do {
      return try readOnce(path: path, displayPath: displayPath, zipLocalHeaders: false)
    } catch IngestError.archiveUnreadable(_, let reason) where Self.startsLikeZip(path) {
      // A ZIP whose central directory (at its end) is damaged: its members may still be read one by one.
      let retry = try? readOnce(path: path, displayPath: displayPath, zipLocalHeaders: true)
      guard var contents = retry else { throw IngestError.archiveUnreadable(path: displayPath, reason: reason) }
      contents.warnings.insert(
        "its central directory cannot be read (\(reason)); the members were read from their local headers", at: 0)
      return contents
    }
  }

  /// Whether the file starts with a ZIP local header.
  private static func startsLikeZip(_ path: String) -> Bool {
    guard let handle = FileHandle(forReadingAtPath: path) else { return false }
    defer { try? handle.close() }
    return (try? handle.read(upToCount: 4)) == Data([0x50, 0x4B, 0x03, 0x04])
  }

  private func readOnce(path: String, displayPath: String, zipLocalHeaders: Bool) throws -> ArchiveContents {
    let archive: LibArchive
    do {
      archive = try LibArchive(
        path: path, passphrases: passphrases, blockSize: ArchiveLimits.chunkBytes, zipLocalHeaders: zipLocalHeaders)
    } catch {
      throw IngestError.archiveUnreadable(path: displayPath, reason: Self.sentence(error.message))
    }
    var state = ReadState(
      archive: archive, displayPath: displayPath, source: .init(path: path, zipLocalHeaders: zipLocalHeaders))
    while state.next(self) {}
    if let broken = state.broken {
      let readCount = state.contents.members.count { if case .read = $0.status { true } else { false } }
      if state.contents.members.isEmpty, archive.hasEncryptedEntries {
        throw IngestError.archiveEncrypted(path: displayPath)
      }
      if readCount == 0 { throw IngestError.archiveUnreadable(path: displayPath, reason: Self.sentence(broken)) }
    }
    return state.contents
  }

  // MARK: - Members

  /// Where an archive was opened from, to open it again for one member.
  private struct Source {
    var path: String
    var zipLocalHeaders: Bool
  }

  /// Reads the `entry`th header's member (1-based, counting headers libarchive gave whole) of the archive
  /// again, with each passphrase on its own, under the limits left (`totalBytes` already read).
  ///
  /// ZipCrypto checks a password against one byte of its header, so about one wrong password in 256
  /// passes the check; libarchive then decrypts with it and fails the CRC without trying the next one.
  /// Alone, the right password is the one used.
  ///
  /// - Returns: The member's status and bytes from the first passphrase that did not fail as encrypted
  ///   (read, or refused by a limit), with whether reading may go on; `nil` when none opens it.
  private func readAlone(_ source: Source, entry: Int, totalBytes: Int64) -> (
    status: ArchiveMember.Status, data: Data?, goesOn: Bool
  )? {
    for passphrase in passphrases {
      guard
        let archive = try? LibArchive(
          path: source.path, passphrases: [passphrase], blockSize: ArchiveLimits.chunkBytes,
          zipLocalHeaders: source.zipLocalHeaders)
      else { return nil }
      var seen = 0
      var found: RawEntry?
      while found == nil {
        switch archive.nextEntry() {
        case .end, .fatal: return nil
        case .retry, .damaged: continue
        case .entry(let raw, _):
          seen += 1
          if seen == entry { found = raw }
        }
      }
      guard let raw = found else { return nil }
      let alone = ArchiveReader(limits: limits, passphrases: [passphrase])
      var state = ReadState(archive: archive, displayPath: "", source: source)
      state.contents.totalBytes = totalBytes
      let goesOn = state.readRegular(raw, alone)
      guard let status = state.contents.members.last?.status else { return nil }
      if case .encrypted = status { continue }
      let data = state.contents.children.last.flatMap { $0.refusal == nil ? $0.payload : nil }
      return (status, data, goesOn)
    }
    return nil
  }

  /// The reading loop's state: one archive, what it gave so far.
  private struct ReadState {
    let archive: LibArchive
    let displayPath: String
    let source: Source
    /// Headers libarchive gave whole so far (`.entry`), the position `readAlone` finds a member by.
    var entries = 0
    var contents = ArchiveContents()
    var usedPaths: Set<String> = []
    /// Headers skipped or damaged so far: past 100, the archive is given up on.
    var badHeaders = 0
    /// libarchive's message where the archive broke.
    var broken: String?

    init(archive: LibArchive, displayPath: String, source: Source) {
      self.archive = archive
      self.displayPath = displayPath
      self.source = source
    }

    /// Reads the next member; `false` at the end (or where reading stops).
    mutating func next(_ reader: ArchiveReader) -> Bool {
      let raw: RawEntry
      switch archive.nextEntry() {
      case .end: return false
      case .fatal(let message):
        broken = message
        if let last = contents.members.last {
          contents.warnings.append(
            "the archive breaks after member \(last.ordinal) (\(last.path.path)): \(Self.sentence(message)); "
              + "the members before it were kept")
        }
        return false
      case .retry(let message):
        badHeaders += 1
        contents.warnings.append("a member header was skipped: \(Self.sentence(message))")
        return badHeaders < 100
      case .damaged(let entry, let message):
        let text = Self.sentence(message)
        contents.warnings.append("a damaged member header: \(text)")
        if let entry, !entry.path.isEmpty { list(entry, status: .damaged(text), size: entry.size) }
        badHeaders += 1
        return badHeaders < 100
      case .entry(let entry, let warning):
        raw = entry
        entries += 1
        if contents.members.count >= reader.limits.maxMembers {
          contents.warnings.append(
            "stopped after \(reader.limits.maxMembers) members (the member-count limit, against archive bombs); "
              + "the rest are not listed")
          return false
        }
        // Names libarchive could not convert to the C locale are still read as UTF-8.
        if let warning, !warning.contains("converted") {
          contents.warnings.append("member \(raw.path): \(Self.sentence(warning))")
        }
      }
      if contents.format == nil {
        contents.format = archive.isZip ? "ZIP" : archive.formatName
        contents.filters = archive.filterNames
      }
      switch raw.type {
      case .directory: list(raw, status: .directory, size: raw.size)
      case .symlink, .hardLink: list(raw, status: .link, size: raw.size)
      case .other: list(raw, status: .special, size: raw.size)
      case .regular: return readRegular(raw, reader)
      }
      return true
    }

    /// Reads a regular file's bytes under the limits; `false` when reading stops here.
    fileprivate mutating func readRegular(_ raw: RawEntry, _ reader: ArchiveReader) -> Bool {
      let limits = reader.limits
      if raw.dataEncrypted {
        if reader.passphrases.isEmpty {
          refuse(raw, .encrypted("encrypted; give its password with --password-file"))
          return true
        }
        if !archive.canDecrypt {
          let format = contents.format ?? "this format"
          refuse(raw, .encrypted("encrypted in \(format), which libarchive cannot decrypt"))
          return true
        }
      }
      if let declared = raw.size, declared > limits.maxMemberBytes {
        refuse(raw, .refused(Self.tooLarge(limits)))
        return archive.skipIsCheap || stop(at: raw, why: "skipping it means decompressing it")
      }
      var data = Data()
      let start = archive.consumedBytes
      let budget = limits.maxTotalBytes - contents.totalBytes
      while true {
        switch archive.read(into: &data, upTo: ArchiveLimits.chunkBytes) {
        case .bytes:
          let count = Int64(data.count)
          if count > min(limits.maxMemberBytes, budget) {
            if count > limits.maxMemberBytes {
              refuse(raw, .refused(Self.tooLarge(limits)))
              return archive.skipIsCheap || stop(at: raw, why: "skipping it means decompressing it")
            }
            refuse(raw, .refused("past the \(ArchiveLimits.describe(limits.maxTotalBytes)) the members may total"))
            return stop(
              at: raw,
              why: "the members expand past \(ArchiveLimits.describe(limits.maxTotalBytes)) in all "
                + "(the archive limit, against decompression bombs)")
          }
          // The archive bytes this member's data took so far; libarchive's read-ahead is allowed for
          // (a 7-Zip solid block is read ahead, and its position can even move back).
          let took = max(0, archive.consumedBytes - start) + Int64(ArchiveLimits.chunkBytes)
          if count > limits.ratioFloor, count > limits.maxRatio * took {
            refuse(
              raw,
              .refused(
                "expands more than \(limits.maxRatio) times its compressed size (a possible decompression bomb)"))
            return archive.skipIsCheap || stop(at: raw, why: "skipping it means decompressing it")
          }
        case .end:
          contents.totalBytes += Int64(data.count)
          let member = list(raw, status: .read(decrypted: raw.dataEncrypted), size: Int64(data.count))
          contents.children.append(
            ChildFile(suffix: "#member=\(member.path.path)", fileName: member.path.fileName, payload: data))
          return true
        case .failed(let message):
          if raw.dataEncrypted, reader.passphrases.count > 1,
            let alone = reader.readAlone(source, entry: entries, totalBytes: contents.totalBytes)
          {
            guard let data = alone.data else {
              refuse(raw, alone.status)
              return alone.goesOn || stop(at: raw, why: "reading it with its password reached a limit")
            }
            contents.totalBytes += Int64(data.count)
            let member = list(raw, status: alone.status, size: Int64(data.count))
            contents.children.append(
              ChildFile(suffix: "#member=\(member.path.path)", fileName: member.path.fileName, payload: data))
            return true
          }
          if raw.dataEncrypted {
            let count = reader.passphrases.count
            let given = count == 1 ? "the password given does not" : "none of the \(count) passwords given"
            refuse(raw, .encrypted("encrypted; \(given) open\(count == 1 ? "" : "s") it"))
          } else {
            refuse(raw, .damaged(Self.sentence(message)))
          }
          return true
        case .fatal(let message):
          broken = message
          let text = Self.sentence(message)
          refuse(
            raw, raw.dataEncrypted ? .encrypted("encrypted; libarchive cannot decrypt it: \(text)") : .damaged(text))
          contents.warnings.append(
            "the archive breaks inside member \(contents.members.count) (\(contents.members.last?.path.path ?? "")) "
              + "after \(data.count) bytes: \(text); the members before it were kept")
          return false
        }
      }
    }

    /// Lists a member not read, and gives ingest its refusal.
    private mutating func refuse(_ raw: RawEntry, _ status: ArchiveMember.Status) {
      let member = list(raw, status: status, size: raw.size)
      let reason: String
      switch status {
      case .encrypted(let text), .refused(let text): reason = text
      case .damaged(let text): reason = "damaged: \(text)"
      default: return
      }
      contents.children.append(
        ChildFile(
          suffix: "#member=\(member.path.path)", fileName: member.path.fileName, payload: Data(), refusal: reason))
    }

    /// Stops reading after a refusal; always `false`.
    private mutating func stop(at raw: RawEntry, why: String) -> Bool {
      let last = contents.members.last
      contents.warnings.append(
        "stopped reading at member \(last?.ordinal ?? 0) (\(last?.path.path ?? raw.path)): \(why); "
          + "the members after it are not listed")
      return false
    }

    /// Appends the listing line of `raw`, its path made safe and unique.
    @discardableResult
    private mutating func list(_ raw: RawEntry, status: ArchiveMember.Status, size: Int64?) -> ArchiveMember {
      let ordinal = contents.members.count + 1
      var path = MemberPath(raw: raw.path, ordinal: ordinal, directory: raw.type == .directory)
      if let escape = path.escape { contents.warnings.append("member \(ordinal): \(escape)") }
      // The same path twice (a TAR appended to, `a` and `../a`): each is cited on its own.
      if usedPaths.contains(path.path) {
        var copy = 2
        while usedPaths.contains("\(path.path) (\(copy))") { copy += 1 }
        path.path += " (\(copy))"
      }
      usedPaths.insert(path.path)
      let member = ArchiveMember(
        ordinal: ordinal, path: path, type: raw.type, size: size, modified: raw.modified, linkTarget: raw.linkTarget,
        status: status)
      contents.members.append(member)
      return member
    }

    private static func tooLarge(_ limits: ArchiveLimits) -> String {
      "larger than \(ArchiveLimits.describe(limits.maxMemberBytes)) (the member limit, against decompression bombs)"
    }

    private static func sentence(_ message: String) -> String { ArchiveReader.sentence(message) }
  }

  /// libarchive's message as part of a sentence: one line, no final period.
  static func sentence(_ message: String) -> String {
    var text = message.split(whereSeparator: \.isNewline).joined(separator: " ")
      .trimmingCharacters(in: .whitespaces)
    while text.hasSuffix(".") { text.removeLast() }
    return text.isEmpty ? "unknown error" : text
  }
}
