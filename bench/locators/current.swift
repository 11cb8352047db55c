// The one parser: `StoredLocators.locator(citation:)` as it is now.
func storedLocator(_ citation: String) -> Locator {
  if let parsed = Locator(citation: citation[...]), parsed.description == citation { return parsed }
  return Locator(path: citation)
}
