// libFuzzer harness: secret redaction (Redactor, SecretAssignments).
// Compiled into module Ingest with Sources/Ingest/Secrets/*.swift and
// Sources/Ingest/Model/Locator.swift (scripts/fuzz.sh). Input: text.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSecrets(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  let raw = UnsafeBufferPointer(start: data, count: size)
  let candidates = Redactor.candidateRules(bytes: raw)
  for r in SecretAssignments.values(in: raw) {
    precondition(r.lowerBound >= 0 && r.upperBound <= size, "value range outside the text")
    _ = SecretAssignments.looksSecret(Array(raw[r]))
  }
  _ = SecretAssignments.entropy(Array(raw))
  let text = String(decoding: raw, as: UTF8.self)
  _ = Redactor.candidateRules(text)
  var redactor = Redactor()
  let out = redactor.redact(text, locator: Locator(path: "fuzz.txt", lineStart: 1, lineEnd: 1))
  // Redacting again finds nothing new to replace in what was replaced.
  var again = Redactor()
  _ = again.redact(out, locator: Locator(path: "fuzz.txt"))
  _ = redactor.warnings
  _ = candidates
  return 0
}
