#!/usr/bin/env bash
# `make docs-check`: a screenshot of every page of the built site, for a person to look at.
# tests/docs check the HTML; only a browser shows what a reader sees (column widths, code blocks,
# headings). Builds the site strictly, serves it on 127.0.0.1 on a free port and has Debian's
# headless Chromium (installed on demand) shoot each page into $SHOTS (site-shots/ by default).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
SITE=${SITE:-site}
SHOTS=${SHOTS:-site-shots}
CHROMIUM=/usr/bin/chromium

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
  echo "docs-check: need root for: $*" >&2; return 1; fi; }

if [ ! -x "$CHROMIUM" ]; then
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium >/dev/null
fi

NO_MKDOCS_2_WARNING=1 "$VENV/bin/mkdocs" build --strict -q --site-dir "$SITE"

port=$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$VENV/bin/python" -m http.server "$port" --bind 127.0.0.1 --directory "$SITE" >/dev/null 2>&1 &
server=$!
profile=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$profile"' EXIT

for _ in $(seq 100); do
  if "$VENV/bin/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/', timeout=1)" 2>/dev/null; then
    break
  fi
  sleep 0.2
done

rm -rf "$SHOTS"
mkdir -p "$SHOTS"
# Every page of the nav: each directory of the site with an index.html (the home page is "index").
(cd "$SITE" && find . -name index.html -not -path './assets/*' | sort) | while read -r page; do
  path=${page#./}
  path=${path%index.html}
  name=${path%/}
  name=${name:-index}
  timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --hide-scrollbars --window-size=1280,2000 \
    --screenshot="$SHOTS/${name//\//-}.png" "http://127.0.0.1:$port/$path" >/dev/null 2>&1
  echo "$SHOTS/${name//\//-}.png  <- http://127.0.0.1:$port/$path"
done
