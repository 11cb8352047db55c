import Foundation
import Inference
import LlamaBackend
import Segmenter

/// The embedding model for semantic priority: all-MiniLM-L6-v2 as scripts/setup.sh converts it,
/// or `$LONGCTX_EMBED_MODEL`. Loaded only when a plan ranks chunks against a question.
enum EmbeddingSetup {
  /// `$LONGCTX_EMBED_MODEL`, else set-up's file in the cache.
  static var modelPath: String {
    let env = ProcessInfo.processInfo.environment
    if let path = env["LONGCTX_EMBED_MODEL"], !path.isEmpty { return path }
    return (env["LONGCTX_CACHE"] ?? (NSHomeDirectory() + "/.cache/longctx")) + "/models/all-MiniLM-L6-v2.f16.gguf"
  }

  /// Installs the loader planning asks (`Embedders.current()`).
  static func install() {
    Embedders.install {
      let path = modelPath
      guard FileManager.default.isReadableFile(atPath: path) else {
        return .missing("no embedding model at \(path) (run scripts/setup.sh, or set LONGCTX_EMBED_MODEL)")
      }
      do {
        return .ready(try LlamaEmbedder(path: path))
      } catch {
        return .missing("the embedding model \(path) did not load (\(error.localizedDescription))")
      }
    }
  }
}
