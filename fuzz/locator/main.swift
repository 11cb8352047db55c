// libFuzzer harness: citation locators (`Locator(citation:)`, description,
// merged). Compiled into module Ingest with Sources/Ingest/Model/Locator.swift
// (scripts/fuzz.sh). Input: a citation such as `app.log#L120-L188`.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLocator(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
  guard let locator = Locator(citation: text[...]) else { return 0 }
  // A parsed citation prints as a citation that parses back to itself
  // (line ranges of one line print as `#L5`).
  let printed = locator.description
  if locator.message == nil || !locator.message!.isEmpty {
    let back = Locator(citation: printed[...])
    precondition(back != nil, "description of a parsed citation does not parse")
  }
  _ = locator.merged(with: locator)
  _ = locator.merged(with: Locator(path: locator.path, lineStart: 1, lineEnd: Int.max))
  return 0
}
