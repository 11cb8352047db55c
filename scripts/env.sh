# Source this file to build and run longctx by hand after scripts/setup.sh:
#   . scripts/env.sh && swift build && .build/debug/longctx --help
eval "$(bash "$(dirname "${BASH_SOURCE[0]}")/setup.sh" --env)"
