#!/usr/bin/env bash
# Installs the YAML language server the schema's editor test talks to (tests/schema/test_editor.py)
# into VENV/node, pinned; shared by setup.sh and compat.sh so every suite's venv has the same one.
set -euo pipefail
VENV=${1:?usage: yaml_language_server.sh VENV}
if [ ! -x "$VENV/node/node_modules/.bin/yaml-language-server" ]; then
  npm install --silent --no-audit --no-fund --prefix "$VENV/node" yaml-language-server@1.25.0 >/dev/null
fi
