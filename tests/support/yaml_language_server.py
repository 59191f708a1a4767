"""The YAML language server editors run (VS Code's YAML extension, yamlls), driven over LSP.

``scripts/setup.sh`` installs ``yaml-language-server`` with npm into the venv
(``$VENV/node``). A test opens documents carrying the schema modeline and reads
what an editor would show: the diagnostics the server publishes, and the
completions it offers at a position.
"""

from __future__ import annotations

import itertools
import json
import queue
import subprocess
import sys
import threading
from pathlib import Path
from types import TracebackType
from typing import IO, Any

SERVER = Path(sys.executable).parents[1] / "node" / "node_modules" / ".bin" / "yaml-language-server"
"""Where scripts/setup.sh installs it: beside the venv's Python (``$VENV/node``)."""
TIMEOUT = 60.0
"""Seconds to wait for one answer: generous, the test machines are loaded."""


class YamlLanguageServer:
    """One server process on stdio; ``with YamlLanguageServer(root) as server: ...``."""

    def __init__(self, root: Path, server: Path = SERVER) -> None:
        self.root = root
        self._process = subprocess.Popen(
            [str(server), "--stdio"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self._messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self._ids = itertools.count(1)
        self._documents = itertools.count(1)
        assert self._process.stdout is not None
        threading.Thread(target=self._read, args=(self._process.stdout,), daemon=True).start()
        self._request(
            "initialize",
            {
                "processId": None,
                "rootUri": root.as_uri(),
                "capabilities": {
                    "workspace": {"configuration": True},
                },
            },
        )
        self._notify("initialized", {})

    def __enter__(self) -> YamlLanguageServer:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._process.kill()
        self._process.wait(timeout=TIMEOUT)

    def diagnostics(self, text: str) -> list[tuple[int, str]]:
        """(line, message) of each problem the server reports in a document holding ``text``."""
        uri = self._open(text)
        message = self._wait(
            lambda m: (
                m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri
            )
        )
        return [
            (d["range"]["start"]["line"], d["message"]) for d in message["params"]["diagnostics"]
        ]

    def completions(self, text: str, line: int, character: int) -> list[str]:
        """The labels the server offers at ``line``:``character`` of a document holding ``text``."""
        uri = self._open(text)
        result = self._request(
            "textDocument/completion",
            {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}},
        )
        items = result["items"] if isinstance(result, dict) else result
        return sorted(item["label"] for item in items)

    def _open(self, text: str) -> str:
        uri = (self.root / f"document-{next(self._documents)}.yaml").as_uri()
        document = {"uri": uri, "languageId": "yaml", "version": 1, "text": text}
        self._notify("textDocument/didOpen", {"textDocument": document})
        return uri

    def _read(self, stream: IO[bytes]) -> None:
        while True:
            headers: dict[str, str] = {}
            while True:
                line = stream.readline()
                if not line:
                    return
                if not line.strip():
                    break
                key, _, value = line.decode().partition(":")
                headers[key.strip().lower()] = value.strip()
            self._messages.put(json.loads(stream.read(int(headers["content-length"]))))

    def _send(self, message: dict[str, Any]) -> None:
        data = json.dumps({"jsonrpc": "2.0", **message}).encode()
        assert self._process.stdin is not None
        self._process.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(data), data))
        self._process.stdin.flush()

    def _notify(self, method: str, params: Any) -> None:
        self._send({"method": method, "params": params})

    def _request(self, method: str, params: Any) -> Any:
        number = next(self._ids)
        self._send({"id": number, "method": method, "params": params})
        return self._wait(lambda m: m.get("id") == number and "method" not in m).get("result")

    def _wait(self, wanted: Any) -> dict[str, Any]:
        """The first message ``wanted`` accepts, answering the server's own requests meanwhile."""
        while True:
            try:
                message = self._messages.get(timeout=TIMEOUT)
            except queue.Empty:
                raise AssertionError(
                    f"the YAML language server said nothing for {TIMEOUT} s"
                ) from None
            if "method" in message and "id" in message:  # a request of the server's
                items = message.get("params", {}).get("items", [])
                settings = {"validate": True, "completion": True, "hover": True}
                answer = (
                    [settings] * len(items)
                    if message["method"] == "workspace/configuration"
                    else None
                )
                self._send({"id": message["id"], "result": answer})
                continue
            if wanted(message):
                return message
