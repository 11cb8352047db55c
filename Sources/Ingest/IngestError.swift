import Foundation

/// Why a file could not be ingested. Each message is one plain sentence.
public enum IngestError: Error, LocalizedError, Equatable {
  case pathNotFound(String)
  case unreadable(path: String, reason: String)
  case pdfEncrypted(path: String)
  case pdfUnreadable(path: String, reason: String)
  case decompression(path: String, reason: String)
  case decompressionBomb(path: String, limit: Int)
  case truncatedWhileReading(path: String)
  case workerUnavailable(executable: String, reason: String)
  case knownFileListUnreadable(path: String, reason: String)
  case outlookMessageUnreadable(path: String, reason: String)
  case outlookStoreUnreadable(path: String, reason: String)
  case officeEncrypted(path: String)
  case officeWrongPassword(path: String)
  case officeUnreadable(path: String, reason: String)
  case officeNotConverted(path: String, reason: String)
  case officeConversionTimedOut(path: String, seconds: Double)
  case officeConverterUnavailable(path: String, reason: String)
  case archiveUnreadable(path: String, reason: String)
  case archiveEncrypted(path: String)
  /// A C library loaded on first use (`NativeLibrary`) is not installed.
  case libraryMissing(library: String, path: String, consequence: String)

  public var errorDescription: String? {
    switch self {
    case .pathNotFound(let path): "No such file or directory: \(path); check the path."
    case .unreadable(let path, let reason): "Cannot read \(path): \(reason)."
    case .pdfEncrypted(let path): "\(path) is encrypted; give its password with --password-file."
    case .pdfUnreadable(let path, let reason): "Poppler cannot read \(path): \(reason)."
    case .decompression(let path, let reason): "Cannot decompress \(path): \(reason)."
    case .decompressionBomb(let path, let limit):
      "\(path) expands past \(limit) bytes; stopped as a possible decompression bomb."
    case .workerUnavailable(let executable, let reason):
      "Cannot start the extraction worker \(executable): \(reason)."
    case .knownFileListUnreadable(let path, let reason):
      "Cannot use \(path) as a known-file (de-NIST) list: \(reason). Give an NSRL RDS SQLite file, NSRLFile.txt, or one SHA-1 or MD5 per line."
    case .outlookMessageUnreadable(let path, let reason): "Cannot read the Outlook message \(path): \(reason)."
    case .outlookStoreUnreadable(let path, let reason): "Cannot read the Outlook store \(path): \(reason)."
    case .officeEncrypted(let path): "\(path) is password-protected; give its password with --password-file."
    case .officeWrongPassword(let path):
      "\(path) is password-protected and no password given opens it; give its password with --password-file."
    case .officeUnreadable(let path, let reason):
      "\(path) is not a readable Word, Excel or PowerPoint file: \(reason)."
    case .officeNotConverted(let path, let reason): "LibreOffice cannot open \(path): \(reason)."
    case .officeConversionTimedOut(let path, let seconds):
      "LibreOffice took more than \(Int(seconds.rounded())) s to convert \(path) and was stopped."
    case .officeConverterUnavailable(let path, let reason): "Cannot convert \(path): \(reason)."
    case .archiveUnreadable(let path, let reason): "Cannot read the archive \(path): \(reason)."
    case .archiveEncrypted(let path):
      "\(path) is an archive whose list of members is encrypted, which libarchive cannot decrypt; no member was read."
    case .libraryMissing(let library, let path, let consequence):
      "\(library) is not installed: \(consequence); \(path) was not read."
    case .truncatedWhileReading(let path):
      "\(path) shrank while it was read (a log rotated by truncation?); it is read again on the next ingest."
    }
  }
}
