#!/usr/bin/env bash
# `make compat TORCH=X [DI=Y]`: the whole test suite in a venv of its own, against another torch
# (and dependency-injector) than the pinned one, to measure the ranges pyproject.toml declares.
# The run's counts and versions go to docs/compat-results/, read by docs/compatibility.md.
# Not part of CI: CI keeps the pinned torch (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${TORCH:?TORCH is required: make compat TORCH=2.6.0 [DI=4.49.1]}"
DI=${DI:-4.49.1}
PYTHON=${PYTHON:-python3}
VENV=${COMPAT_VENV:-.venv-compat-torch$TORCH-di$DI}
RESULTS=docs/compat-results
NAME="torch$TORCH-di$DI"

VENV=$(realpath -m "$VENV")

# The suite runs on a snapshot of the work tree (tracked and new files, as they are now), so
# editing the tree during a run that lasts minutes does not change what the run measures.
src=$(mktemp -d)
xml=$(mktemp --suffix=.xml)
trap 'rm -rf "$src" "$xml"' EXIT
git ls-files -z --cached --others --exclude-standard \
  | tar --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -xf - -C "$src"
# The rows' own results (docs/compat-results/) are outputs, not changes to what runs.
revision="$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':(exclude)docs/compat-results' 2>/dev/null || echo '+changes')"

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip
# Pins on the same command line as the project, so pip never trades them for the declared ranges.
"$VENV/bin/python" -m pip install -q "torch==$TORCH" "dependency-injector==$DI" -e "$src[dev]"
bash scripts/yaml_language_server.sh "$VENV"

mkdir -p "$RESULTS"
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
set +e
(cd "$src" && "$VENV/bin/python" -m pytest -q -p no:cacheprovider -o junit_family=xunit1 --junitxml="$xml" ${PYTEST_ARGS:-})
status=$?
set -e
"$VENV/bin/python" scripts/compat_record.py "$xml" "$RESULTS/$NAME.json" \
  --started "$started" --pytest-exit "$status" --revision "$revision"
echo "compat: $NAME -> $RESULTS/$NAME.json (pytest exit $status)"
