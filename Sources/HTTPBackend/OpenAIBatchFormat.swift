import Foundation
import Inference

/// The OpenAI Batch API's request and result bodies for a job's server settings
/// (`vllm run-batch` and hosted batch APIs read and write them).
public struct OpenAIBatchFormat: BatchFormat {
  let options: OpenAIEngineOptions

  public init(options: OpenAIEngineOptions) { self.options = options }

  public var url: String { "/v1" + options.api.path }
  public var modelIdentity: String { OpenAIEngine.identity(options) }

  public func body(for request: GenerationRequest) -> [String: Any] {
    OpenAIEngine.body(for: request, options: options, llamaExtras: false)
  }

  public func result(fromBody body: Data) throws -> GenerationResult {
    try OpenAIEngine.parseResult(body, api: options.api, endpoint: "the batch result")
  }
}
