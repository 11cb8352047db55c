import Foundation
import Pipeline
import Testing

@Suite struct JSONValueTests {
  @Test func parsesNestedValuesKeepingMemberOrder() throws {
    let v = try JSONValue(parsing: #" {"b": [1, -2.5e3, true, null], "a": {"x": "y\n\u00e9\ud83d\ude00"}} "#)
    guard case .object(let members) = v else {
      Issue.record("not an object")
      return
    }
    #expect(members.map(\.key) == ["b", "a"])
    #expect(v["b"] == .array([.number(1), .number(-2500), .bool(true), .null]))
    #expect(v["a"]?["x"] == .string("y\né😀"))
    #expect(v.jsonText == #"{"b":[1,-2500,true,null],"a":{"x":"y\né😀"}}"#)
  }

  @Test(arguments: [
    ("", true), ("{", true), (#"{"a": 1"#, true), (#"{"a": "abc"#, true), ("[1, 2", true), ("12.", true),
    ("{} x", false), ("[1,]", false), (#"{"a" 1}"#, false), ("01", false), ("'a'", false), ("tru", true),
    ("\"tab\there\"", false), ("NaN", false),
  ])
  func rejectsWhatIsNotOneJSONValue(text: String, truncated: Bool) {
    #expect(throws: JSONValue.ParseError.self) { try JSONValue(parsing: text) }
    do { _ = try JSONValue(parsing: text) } catch { #expect(error.truncated == truncated, "\(text): \(error)") }
  }

  @Test func objectEqualityIgnoresMemberOrderAndNumbersCompareByValue() throws {
    #expect(try JSONValue(parsing: #"{"a":1,"b":[2]}"#) == JSONValue(parsing: #"{"b":[2.0],"a":1e0}"#))
    #expect(try JSONValue(parsing: #"{"a":1}"#) != JSONValue(parsing: #"{"a":"1"}"#))
  }

  @Test func aRepeatedKeyKeepsItsLastValue() throws {
    #expect(try JSONValue(parsing: #"{"a": 1, "b": 0, "a": 2}"#) == JSONValue(parsing: #"{"a": 2, "b": 0}"#))
  }

  @Test func deepNestingIsAnErrorNotACrash() {
    let text = String(repeating: "[", count: 100_000)
    #expect(throws: JSONValue.ParseError.self) { try JSONValue(parsing: text) }
  }
}
