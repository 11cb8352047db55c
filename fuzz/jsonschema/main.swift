// libFuzzer harness: JSON values and schemas (JSONValue parsing and printing,
// JSONSchema reading, validation, GBNF grammar). Compiled into module
// Pipeline with Sources/Pipeline/Structured/JSON*.swift (scripts/fuzz.sh).
// Input: schema JSON, optionally a NUL byte and an instance to validate.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONSchema(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  let bytes = UnsafeBufferPointer(start: data, count: size)
  let cut = bytes.firstIndex(of: 0) ?? size
  let schemaText = String(decoding: bytes[..<cut], as: UTF8.self)
  let instanceText = cut < size ? String(decoding: bytes[(cut + 1)...], as: UTF8.self) : schemaText
  if let value = try? JSONValue(parsing: schemaText) {
    // Printed JSON parses back to the same value.
    let printed = value.jsonText
    guard let back = try? JSONValue(parsing: printed) else {
      preconditionFailure("jsonText is not JSON: \(printed)")
    }
    precondition(back == value, "jsonText does not round-trip")
    _ = value.typeName
  }
  guard let schema = try? JSONSchema(text: schemaText) else { return 0 }
  _ = schema.gbnf
  _ = schema.firstViolation(inText: instanceText)
  if let instance = try? JSONValue(parsing: instanceText) { _ = schema.firstViolation(in: instance) }
  return 0
}
