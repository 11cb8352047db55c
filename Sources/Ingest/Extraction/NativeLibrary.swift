internal import CLazyLoad
internal import CToneCurves
import Foundation

/// A heavy C library ingest loads when it first needs it, not at start (`CLazyLoad`, issue 32).
///
/// The executable calls these libraries through trampolines that dlopen them on first use, so a run that reads
/// only logs or code never maps them. Code that calls into one asks `load(for:)` first: a library that is not
/// installed is then that file's plain error, never a crash.
enum NativeLibrary: Sendable, CaseIterable {
  /// poppler-glib, with GLib, GObject and cairo: PDFs, their page images and OCR renders.
  case poppler
  /// Tesseract and leptonica: OCR of scans and images.
  case ocr
  /// libarchive: ZIP, 7z, TAR and the other archives.
  case archive

  /// The library as a message names it.
  var name: String {
    switch self {
    case .poppler: "poppler-glib"
    case .ocr: "Tesseract"
    case .archive: "libarchive"
    }
  }

  /// What cannot be done without it.
  var consequence: String {
    switch self {
    case .poppler: "PDFs cannot be read"
    case .ocr: "scanned pages and images cannot be read"
    case .archive: "archives cannot be read"
    }
  }

  /// Loads the library (once per process); nil when it is loaded, otherwise the loader's reason.
  var failure: String? {
    switch self {
    case .poppler: Self.popplerFailure
    case .ocr: Self.ocrFailure
    case .archive: Self.archiveFailure
    }
  }

  /// Whether the library is loaded (loading it if it was not).
  var isAvailable: Bool { failure == nil }

  /// Loads the library for the file at `path`.
  ///
  /// - Throws: `IngestError.libraryMissing` naming the library and `path` when it cannot be loaded.
  func load(for path: String) throws(IngestError) {
    guard failure != nil else { return }
    throw IngestError.libraryMissing(library: name, path: path, consequence: consequence)
  }

  private static let popplerFailure = reason { error in
    guard longctx_lazy_load_poppler(error) == 1 else { return 0 }
    // Before any page: poppler's colour transforms then sample lcms2's sRGB curves from a table (CToneCurves.h).
    _ = longctx_tone_curves_install()
    return 1
  }
  private static let ocrFailure = reason { longctx_lazy_load_ocr($0) }
  private static let archiveFailure = reason { longctx_lazy_load_archive($0) }

  private static func reason(_ load: (UnsafeMutablePointer<UnsafePointer<CChar>?>) -> Int32) -> String? {
    var error: UnsafePointer<CChar>?
    return load(&error) == 1 ? nil : error.map { String(cString: $0) } ?? "not found"
  }

  /// Whether this build calls the libraries through trampolines (x86-64 Linux) rather than linking them.
  static var loadsOnFirstUse: Bool { longctx_lazy_trampolines() == 1 }
}
