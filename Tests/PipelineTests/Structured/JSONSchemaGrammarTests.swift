import Foundation
import Pipeline
import Testing

/// Grammar text for representative schemas. That llama.cpp parses these
/// grammars and that outputs sampled under them validate is checked with the
/// real model in `LlamaEngineStructuredTests`.
@Suite struct JSONSchemaGrammarTests {
  func grammar(_ schema: String) throws -> String { try JSONSchema(text: schema).gbnf }

  static let space = #"space ::= | " ""#
  static let char = #"char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})"#
  static let string = #"string ::= "\"" char* "\"" space"#

  @Test func anObjectWithRequiredAndOptionalMembersAndABoundedArray() throws {
    let text = try grammar(
      #"{"type":"object","additionalProperties":false,"required":["name"],"properties":{"name":{"type":"string"},"tags":{"type":"array","items":{"type":"string"},"maxItems":2}}}"#
    )
    #expect(
      text == """
        root ::= "{" space root-name-kv ( "," space root-tags-kv )? "}" space
        \(Self.space)
        \(Self.string)
        \(Self.char)
        root-name-kv ::= "\\"name\\"" space ":" space string
        root-tags ::= "[" space ( string ( "," space string )? )? "]" space
        root-tags-kv ::= "\\"tags\\"" space ":" space root-tags

        """)
  }

  @Test func optionalMembersOnlyEnumsAndAnyOf() throws {
    let text = try grammar(
      #"{"properties":{"a":{"enum":["x",1,null]},"b":{"anyOf":[{"type":"integer"},{"type":"null"}]}}}"#)
    #expect(
      text == """
        root ::= "{" space ( root-a-kv ( "," space root-b-kv )? | root-b-kv )? "}" space
        \(Self.space)
        root-a ::= ("\\"x\\"" | "1" | "null") space
        root-a-kv ::= "\\"a\\"" space ":" space root-a
        integer ::= ("-"? integral-part) space
        integral-part ::= [0] | [1-9] [0-9]{0,15}
        null ::= "null" space
        root-b ::= integer | null
        root-b-kv ::= "\\"b\\"" space ":" space root-b

        """)
  }

  @Test func primitivesNullableTypesAndLengths() throws {
    #expect(try grammar("{}").hasPrefix("root ::= value\n"))
    #expect(try grammar(#"{"type":"boolean"}"#).hasPrefix("root ::= boolean\n"))
    let nullable = try grammar(#"{"type":["string","null"],"maxLength":5}"#)
    #expect(nullable.hasPrefix(#"root ::= "\"" char{0,5} "\"" space | null"# + "\n"), "\(nullable)")
    let array = try grammar(#"{"type":"array","minItems":2,"maxItems":4,"items":{"type":"integer"}}"#)
    #expect(array.hasPrefix(#"root ::= "[" space integer ( "," space integer ){1,3} "]" space"# + "\n"), "\(array)")
    let open = try grammar(#"{"type":"array","minItems":1}"#)
    #expect(open.hasPrefix(#"root ::= "[" space value ( "," space value )* "]" space"# + "\n"), "\(open)")
  }

  @Test func literalsAreEscapedForGBNF() throws {
    let text = try grammar(#"{"const":"a\"b\\c\nd"}"#)
    // JSON text "a\"b\\c\nd" (with its escapes), then escaped again for GBNF.
    #expect(text.hasPrefix(#"root ::= ("\"a\\\"b\\\\c\\nd\"") space"# + "\n"), "\(text)")
  }

  @Test func oddPropertyNamesGiveValidRuleNames() throws {
    let text = try grammar(
      #"{"type":"object","required":["a b","é"],"properties":{"a b":{"type":"number"},"é":{"type":"null"}}}"#)
    let names = text.split(separator: "\n").compactMap { $0.components(separatedBy: " ::= ").first }
    #expect(names.allSatisfy { $0.range(of: "^[a-zA-Z0-9-]+$", options: .regularExpression) != nil }, "\(names)")
    #expect(Set(names).count == names.count, "rule names are unique")
    #expect(text.contains(#""\"a b\"" space ":" space number"#))
  }
}
