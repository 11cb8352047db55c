import Foundation
import Pipeline
import Testing

@Suite struct JSONSchemaTests {
  /// The shape of the legal-review sample's map output.
  static let review = #"""
    {"type": "object", "additionalProperties": false, "required": ["documents"],
     "properties": {
       "documents": {"type": "array", "minItems": 1, "maxItems": 3, "items": {
         "type": "object", "additionalProperties": false, "required": ["source", "responsive", "privileged"],
         "properties": {
           "source": {"type": "string", "description": "the page cited"},
           "responsive": {"enum": ["yes", "no"]},
           "privileged": {"type": "boolean"},
           "pages": {"type": "array", "items": {"type": "integer"}},
           "reason": {"type": ["string", "null"]}}}},
       "note": {"anyOf": [{"type": "string"}, {"const": 0}]}}}
    """#

  func violation(_ schema: String, _ document: String) throws -> String? {
    try JSONSchema(text: schema).firstViolation(inText: document).map(\.description)
  }

  @Test(arguments: [
    #"{"documents": [{"source": "a.pdf#page=1", "responsive": "yes", "privileged": false}]}"#,
    #"{"documents": [{"privileged": true, "responsive": "no", "source": "b", "pages": [1, 2.0], "reason": null}], "note": 0}"#,
    #" {"documents":[{"source":"s","responsive":"no","privileged":false,"reason":"why"}],"note":"n"}"# + "\n",
  ])
  func validDocumentsPass(document: String) throws {
    #expect(try violation(Self.review, document) == nil)
  }

  @Test(arguments: [
    (#"{"documents": []}"#, "$.documents: has 0 items, fewer than minItems 1"),
    (#"{}"#, #"$: the required property "documents" is missing"#),
    (
      #"{"documents": [{"source": "a", "responsive": "maybe", "privileged": false}]}"#,
      #"$.documents[0].responsive: must be one of "yes", "no", not "maybe""#
    ),
    (
      #"{"documents": [{"source": "a", "responsive": "no", "privileged": "false"}]}"#,
      #"$.documents[0].privileged: expected boolean, found string "false""#
    ),
    (
      #"{"documents": [{"source": "a", "responsive": "no", "privileged": false, "pages": [1, 2.5]}]}"#,
      "$.documents[0].pages[1]: expected integer, found number 2.5"
    ),
    (
      #"{"documents": [{"source": "a", "responsive": "no", "privileged": false, "page no": 1}]}"#,
      #"$.documents[0]["page no"]: is not allowed"#
    ),
    (
      #"{"documents": [{"source": "a", "responsive": "no", "privileged": false}], "note": 1}"#,
      "$.note: matches none of the 2 anyOf alternatives"
    ),
    (#"{"documents": [1, 2, 3, 4]}"#, "$.documents: has 4 items, more than maxItems 3"),
    (#"{"documents": [{"source": "a""#, "$: the output is not JSON"),
    (#"Sure! {"documents": []}"#, "$: the output is not JSON: expected a JSON value at byte 0"),
  ])
  func invalidDocumentsNameTheFirstViolationAndItsPath(document: String, expected: String) throws {
    let found = try #require(try violation(Self.review, document))
    #expect(found.hasPrefix(expected), "got: \(found)")
  }

  @Test func aCutOffDocumentSaysSo() throws {
    let found = try #require(try violation(Self.review, #"{"documents": [{"source": "a"#))
    #expect(found.contains("max_tokens"))
  }

  @Test func typeNamesCoverEveryJSONType() throws {
    let schema = try JSONSchema(text: #"{"type": ["integer", "null"]}"#)
    #expect(schema.firstViolation(inText: "3") == nil)
    #expect(schema.firstViolation(inText: "-3.0") == nil, "3.0 is an integer in JSON Schema")
    #expect(schema.firstViolation(inText: "null") == nil)
    #expect(schema.firstViolation(inText: "3.5") != nil)
    #expect(schema.firstViolation(inText: "\"3\"") != nil)
    let any = try JSONSchema(text: "{}")
    for doc in ["1", "\"s\"", "[]", "{}", "null", "false"] { #expect(any.firstViolation(inText: doc) == nil) }
  }

  @Test(arguments: [
    (#"{"type": "string", "pattern": "^a"}"#, "at /pattern: the keyword 'pattern' is not supported"),
    (#"{"properties": {"a": {"format": "date"}}}"#, "at /properties/a/format: the keyword 'format' is not supported"),
    (##"{"$ref": "#/$defs/a"}"##, "at /$ref: the keyword '$ref' is not supported"),
    (#"{"oneOf": [{}]}"#, "at /oneOf: the keyword 'oneOf' is not supported"),
    (#"{"type": "text"}"#, "at /type: unknown type \"text\""),
    (#"{"required": ["a"]}"#, "at /required: names 'a', which is not in properties"),
    (#"{"additionalProperties": {"type": "string"}}"#, "at /additionalProperties: only true or false"),
    (#"{"items": [{}, {}]}"#, "at /items: must be one schema"),
    (#"{"minItems": 3, "maxItems": 2}"#, "at /maxItems: is less than minItems"),
    (#"{"minItems": -1}"#, "at /minItems: must be a non-negative whole number"),
    (#"{"enum": []}"#, "at /enum: must be a non-empty list"),
    (#"{"type": "string", "anyOf": [{}]}"#, "at /anyOf: cannot be combined with type"),
    (#"{"type": "integer", "enum": ["a", "b"]}"#, "no value of enum/const matches"),
    (#"[1]"#, "a schema must be a JSON object"),
    (#"{"type": "object""#, "the schema is not valid JSON"),
  ])
  func unsupportedOrMalformedSchemasAreRejectedWithTheirPlace(schema: String, expected: String) {
    do {
      _ = try JSONSchema(text: schema)
      Issue.record("accepted \(schema)")
    } catch {
      #expect(error.description.hasPrefix(expected), "got: \(error.description)")
    }
  }

  @Test func annotationsAreIgnored() throws {
    let schema = try JSONSchema(
      text:
        #"{"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "t", "description": "d", "type": "string", "default": "x", "examples": ["y"]}"#
    )
    #expect(schema.firstViolation(inText: "\"z\"") == nil)
  }

  @Test func outputValidationNamesTheJobKey() {
    #expect(OutputValidation.problem(in: "x", schema: nil, kind: .map) == nil)
    #expect(OutputValidation.problem(in: "{}", schema: #"{"type":"object"}"#, kind: .map) == nil)
    let problem = OutputValidation.problem(in: "[]", schema: #"{"type":"object"}"#, kind: .reduce)
    #expect(problem == "the output does not match reduce.json_schema: $: expected object, found array")
  }
}
