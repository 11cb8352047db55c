import Foundation

/// One line of an OpenAI Batch output file.
struct BatchResult {
  var id: String
  var line: Int
  /// The response body on status 200, else why the request failed.
  var outcome: Result<Data, BatchResultFailure>
}

/// Why a batch request has no usable result.
struct BatchResultFailure: Error {
  var reason: String
}

enum BatchResults {
  /// Parses and validates a batch output file against the job's current map task ids.
  ///
  /// - Throws: `PipelineError.batchRejected` naming malformed lines, unknown ids and duplicates.
  static func parse(_ data: Data, file: String, known: Set<String>, job: String) throws -> [BatchResult] {
    var out: [BatchResult] = []
    var seen: [String: Int] = [:]
    var problems: [String] = []
    let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
    for (index, raw) in lines.enumerated() {
      let number = index + 1
      let text = raw.trimmingCharacters(in: .whitespacesAndNewlines)
      if text.isEmpty { continue }
      guard let json = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
        let id = json["custom_id"] as? String
      else {
        problems.append("line \(number) is not a batch result with a custom_id")
        continue
      }
      if let first = seen[id] {
        problems.append("line \(number) repeats custom_id \(id) from line \(first)")
        continue
      }
      seen[id] = number
      guard known.contains(id) else {
        problems.append("line \(number) has custom_id \(id), which is not a pending or done map task of job \(job)")
        continue
      }
      let response = json["response"] as? [String: Any]
      let status = response?["status_code"] as? Int
      if let error = json["error"] as? [String: Any] {
        out.append(
          .init(
            id: id, line: number,
            outcome: .failure(.init(reason: "error \(error["code"] ?? ""): \(error["message"] ?? "")"))))
      } else if status == 200, let body = response?["body"],
        let bodyData = try? JSONSerialization.data(withJSONObject: body)
      {
        out.append(.init(id: id, line: number, outcome: .success(bodyData)))
      } else {
        out.append(
          .init(
            id: id, line: number, outcome: .failure(.init(reason: "status \(status.map(String.init) ?? "missing")"))))
      }
    }
    if !problems.isEmpty {
      let shown =
        problems.prefix(5).joined(separator: "; ") + (problems.count > 5 ? "; and \(problems.count - 5) more" : "")
      throw PipelineError.batchRejected(file: file, reason: shown)
    }
    return out
  }
}
