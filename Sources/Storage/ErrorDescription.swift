import Foundation

extension Error {
  /// The error's one-sentence description for a person: its `LocalizedError`
  /// text, else what Swift prints for it.
  public var userDescription: String {
    (self as? LocalizedError)?.errorDescription ?? String(describing: self)
  }
}
