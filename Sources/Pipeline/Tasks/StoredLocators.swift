import Foundation
import GRDB
import Ingest

/// How a task's locators are stored: typed in `TaskRecord`, and in the column
/// `task.locators` as they always were, a JSON array of their citation forms
/// (`["logs\/app.log#L1-L40","contract.pdf#page=2"]`).
///
/// Reading parses each citation back. A citation that parsing would not give
/// back exactly (a whole file, `notes.txt`; a fragment `Locator` cannot read)
/// becomes a locator of that whole text as its path, whose citation is the same
/// text, so a task read and written again keeps its column byte for byte.
@propertyWrapper
public struct StoredLocators: Sendable {
  public var wrappedValue: [Locator]

  public init(wrappedValue: [Locator]) { self.wrappedValue = wrappedValue }

  /// The locators stored as `text`, the column's JSON array of citation forms.
  ///
  /// - Parameter text: The column's text; text that is not a JSON array of strings reads as no locators.
  public init(text: String) {
    let citations = (try? JSONDecoder().decode([String].self, from: Data(text.utf8))) ?? []
    wrappedValue = citations.map(Self.locator(citation:))
  }

  /// The column's text: the citation forms as a JSON array, encoded as they always were.
  public var text: String {
    String(decoding: (try? JSONEncoder().encode(wrappedValue.citations)) ?? Data("[]".utf8), as: UTF8.self)
  }

  /// The locator whose citation form is exactly `citation`.
  static func locator(citation: String) -> Locator {
    if let parsed = Locator(citation: citation[...]), parsed.description == citation { return parsed }
    return Locator(path: citation)
  }
}

extension StoredLocators: Hashable {
  /// Equal when they cite alike, as the stored text compares.
  public static func == (a: StoredLocators, b: StoredLocators) -> Bool {
    a.wrappedValue.citations == b.wrappedValue.citations
  }

  public func hash(into hasher: inout Hasher) { hasher.combine(wrappedValue.citations) }
}

extension StoredLocators: DatabaseValueConvertible {
  public var databaseValue: DatabaseValue { text.databaseValue }

  public static func fromDatabaseValue(_ dbValue: DatabaseValue) -> StoredLocators? {
    String.fromDatabaseValue(dbValue).map(StoredLocators.init(text:))
  }
}

/// The same text as the column, for coders other than the database's.
extension StoredLocators: Codable {
  public init(from decoder: any Decoder) throws {
    self.init(text: try decoder.singleValueContainer().decode(String.self))
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(text)
  }
}
