import Foundation

/// Why a page or an image could not be read with OCR. Each message is one plain sentence.
public enum OCRError: Error, LocalizedError, Equatable {
  /// Tesseract cannot start, or a language's data is missing.
  case unavailable(reason: String)
  /// Tesseract refused one image.
  case failed(reason: String)
  /// An image file leptonica cannot decode (truncated, not an image).
  case imageUnreadable(path: String, reason: String)
  /// An image whose header claims more pixels than ingest decodes (a decompression bomb).
  case imageTooLarge(path: String, width: Int, height: Int, limit: Int)

  public var errorDescription: String? {
    switch self {
    case .unavailable(let reason): "OCR is unavailable: \(reason)."
    case .failed(let reason): "OCR failed: \(reason)."
    case .imageUnreadable(let path, let reason): "Cannot decode the image \(path): \(reason)."
    case .imageTooLarge(let path, let width, let height, let limit):
      "\(path) claims \(width) × \(height) pixels, past the \(limit / 1_000_000)-megapixel limit; not decoded (a possible decompression bomb)."
    }
  }
}
