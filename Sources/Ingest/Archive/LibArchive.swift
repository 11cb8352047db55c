internal import CArchive
import Foundation

/// One archive opened for reading through libarchive. This file is the only
/// one that imports `CArchive`: everything above it sees Swift values.
///
/// Not `Sendable`: one reader belongs to one extraction. Members come in
/// archive order from `nextEntry()`; a member's bytes from `read(into:)`
/// until it returns `.end`. Nothing is ever written to disk.
final class LibArchive {
  private let archive: OpaquePointer
  /// Where `archive_read_data` writes before the bytes are appended to a member's data.
  private var scratch: [UInt8] = []

  /// The libarchive version, e.g. `libarchive 3.6.2 zlib/1.2.13 liblzma/5.4.1 …`.
  static var version: String {
    NativeLibrary.archive.isAvailable ? String(cString: archive_version_details()) : "libarchive (not installed)"
  }

  /// Opens `path` with every format and filter libarchive knows, trying `passphrases` on encrypted members.
  ///
  /// - Throws: `LibArchiveFailure` with libarchive's message when no format recognises the file.
  /// - Parameter zipLocalHeaders: Read only ZIP, member by member from its local headers, without the
  ///   central directory at its end (the way to read a ZIP whose end is damaged or missing).
  init(path: String, passphrases: [String], blockSize: Int, zipLocalHeaders: Bool = false) throws(LibArchiveFailure) {
    guard let archive = archive_read_new() else { throw LibArchiveFailure(message: "cannot allocate a reader") }
    self.archive = archive
    archive_read_support_filter_all(archive)
    if zipLocalHeaders {
      archive_read_support_format_zip_streamable(archive)
    } else {
      archive_read_support_format_all(archive)
    }
    for passphrase in passphrases { archive_read_add_passphrase(archive, passphrase) }
    if archive_read_open_filename(archive, path, blockSize) != ARCHIVE_OK {
      throw LibArchiveFailure(message: errorMessage)
    }
  }

  deinit { archive_read_free(archive) }

  /// Runs `body` with this thread's character type set to UTF-8 (`uselocale`, so other threads keep
  /// theirs): in the C locale libarchive cannot convert a non-ASCII member name and gives none at all.
  static func withUTF8Names<T>(_ body: () throws -> T) rethrows -> T {
    guard let utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", nil) else { return try body() }
    let previous = uselocale(utf8)
    defer {
      uselocale(previous)
      freelocale(utf8)
    }
    return try body()
  }

  /// libarchive's last error on this archive, or a generic sentence.
  var errorMessage: String {
    guard let text = archive_error_string(archive) else { return "unknown libarchive error" }
    return String(cString: text)
  }

  // MARK: - Members

  /// The next member's header.
  func nextEntry() -> EntryStatus {
    var entry: OpaquePointer?
    let status = archive_read_next_header(archive, &entry)
    switch status {
    case ARCHIVE_EOF: return .end
    case ARCHIVE_OK, ARCHIVE_WARN:
      guard let entry else { return .fatal(errorMessage) }
      return .entry(header(entry), warning: status == ARCHIVE_WARN ? errorMessage : nil)
    case ARCHIVE_RETRY: return .retry(errorMessage)
    case ARCHIVE_FAILED:
      // The header is damaged but the archive goes on; what libarchive parsed is still listed.
      return .damaged(entry.map(header), errorMessage)
    default: return .fatal(errorMessage)
    }
  }

  private func header(_ entry: OpaquePointer) -> RawEntry {
    let type: RawEntry.FileType
    let mode = UInt32(archive_entry_filetype(entry))
    if archive_entry_hardlink(entry) != nil {
      type = .hardLink
    } else if mode == cArchiveTypeRegular {
      type = .regular
    } else if mode == cArchiveTypeDirectory {
      type = .directory
    } else if mode == cArchiveTypeSymlink {
      type = .symlink
    } else {
      type = .other
    }
    return RawEntry(
      path: Self.text(utf8: archive_entry_pathname_utf8(entry), raw: archive_entry_pathname(entry)) ?? "",
      type: type,
      size: archive_entry_size_is_set(entry) != 0 ? Int64(archive_entry_size(entry)) : nil,
      modified: archive_entry_mtime_is_set(entry) != 0 ? Int64(archive_entry_mtime(entry)) : nil,
      linkTarget: type == .hardLink
        ? Self.text(utf8: archive_entry_hardlink_utf8(entry), raw: archive_entry_hardlink(entry))
        : Self.text(utf8: archive_entry_symlink_utf8(entry), raw: archive_entry_symlink(entry)),
      dataEncrypted: archive_entry_is_data_encrypted(entry) == 1)
  }

  /// A name as UTF-8 where libarchive can convert it, else its raw bytes read as UTF-8 (invalid bytes replaced).
  private static func text(utf8: UnsafePointer<CChar>?, raw: UnsafePointer<CChar>?) -> String? {
    if let utf8 { return String(cString: utf8) }
    guard let raw else { return nil }
    let bytes = UnsafeBufferPointer(start: raw, count: strlen(raw)).map { UInt8(bitPattern: $0) }
    return String(decoding: bytes, as: UTF8.self)
  }

  // MARK: - Data

  /// Reads the current member's next bytes (at most `count`) and appends them to `data`.
  ///
  /// - Returns: how many bytes came, `.end` after the last, or the failure.
  func read(into data: inout Data, upTo count: Int) -> DataStatus {
    if scratch.count < count { scratch = [UInt8](repeating: 0, count: count) }
    let got = scratch.withUnsafeMutableBytes { archive_read_data(archive, $0.baseAddress, count) }
    if got > 0 {
      scratch.withUnsafeBufferPointer { data.append(UnsafeBufferPointer(rebasing: $0[..<got])) }
      return .bytes(got)
    }
    if got == 0 { return .end }
    return got == Int(ARCHIVE_FATAL) ? .fatal(errorMessage) : .failed(errorMessage)
  }

  /// Bytes of the file libarchive has consumed so far (before any decompression filter).
  var consumedBytes: Int64 { Int64(archive_filter_bytes(archive, -1)) }

  // MARK: - Format

  /// libarchive's name for the format of the member just read, e.g. `ZIP 2.0 (deflation)`, `GNU tar format`.
  var formatName: String? { archive_format_name(archive).map { String(cString: $0) } }

  /// Whether the format is ZIP (whose format name names each member's compression method).
  var isZip: Bool { archive_format(archive) & ARCHIVE_FORMAT_BASE_MASK == ARCHIVE_FORMAT_ZIP }

  /// The compression filters around the archive, outermost last (`gzip`), without `none`.
  var filterNames: [String] {
    (0..<archive_filter_count(archive)).compactMap { index in
      archive_filter_name(archive, index).map { String(cString: $0) }
    }.filter { $0 != "none" }
  }

  /// Whether skipping a member's unread bytes is a seek rather than decompressing them: ZIP (each member
  /// compressed alone), or TAR, cpio, ISO 9660 and ar files not compressed as a whole.
  var skipIsCheap: Bool {
    let base = archive_format(archive) & ARCHIVE_FORMAT_BASE_MASK
    if base == ARCHIVE_FORMAT_ZIP { return true }
    let plain = [ARCHIVE_FORMAT_TAR, ARCHIVE_FORMAT_CPIO, ARCHIVE_FORMAT_ISO9660, ARCHIVE_FORMAT_AR]
    return filterNames.isEmpty && plain.contains(base)
  }

  /// Whether libarchive can decrypt this format's encrypted members: ZIP (traditional and WinZip AES) only.
  /// Its 7-Zip reader claims the capability but fails on the data ("The file content is encrypted, but
  /// currently not supported"), and that failure ends the archive.
  var canDecrypt: Bool { isZip && archive_read_format_capabilities(archive) & cArchiveCapsEncryptData != 0 }

  /// Whether libarchive has seen encrypted members or an encrypted header in the archive.
  var hasEncryptedEntries: Bool { archive_read_has_encrypted_entries(archive) == 1 }
}

/// A libarchive error message, thrown where the archive cannot be opened.
struct LibArchiveFailure: Error {
  var message: String
}

/// A member's header as libarchive read it.
struct RawEntry: Sendable {
  enum FileType: Sendable { case regular, directory, symlink, hardLink, other }

  /// The path inside the archive as stored (not normalised).
  var path: String
  var type: FileType
  /// The size the header declares, where it declares one (never trusted for reading).
  var size: Int64?
  /// Seconds since 1970, UTC.
  var modified: Int64?
  /// A symbolic link's target or a hard link's original.
  var linkTarget: String?
  /// Whether the member's data is encrypted.
  var dataEncrypted: Bool
}

/// What `LibArchive.nextEntry()` found.
enum EntryStatus {
  /// A member, with libarchive's warning about its header if it gave one.
  case entry(RawEntry, warning: String?)
  /// No more members.
  case end
  /// A header libarchive could not read this time; the next call tries the next one.
  case retry(String)
  /// A damaged header (listed where libarchive parsed it); the archive goes on.
  case damaged(RawEntry?, String)
  /// The archive cannot be read further.
  case fatal(String)
}

/// What `LibArchive.read(into:upTo:)` got.
enum DataStatus {
  case bytes(Int)
  case end
  /// This member cannot be read (wrong passphrase, unsupported method); the next member may be.
  case failed(String)
  /// The archive cannot be read further (truncated, corrupt stream).
  case fatal(String)
}
