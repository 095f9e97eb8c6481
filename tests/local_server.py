"""A file server on 127.0.0.1 for download tests (nothing leaves the machine), and a catalogue
file written for a test."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path

import pytest

from broker import catalogue


class RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder, honouring `Range: bytes=N-` (206) as a real file server does; counts requests."""

    requests: list[tuple[str, str]] = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        type(self).requests.append((self.path, self.headers.get("Range", "")))
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self.send_error(404, "Not Found")
            return
        data = path.read_bytes()
        rng = self.headers.get("Range", "")
        start = int(rng[6:-1]) if rng.startswith("bytes=") and rng.endswith("-") else 0
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        self.wfile.write(data[start:])


@pytest.fixture
def file_server(tmp_path):
    root = tmp_path / "served"
    root.mkdir()
    RangeHandler.requests = []

    def handler(*a, **kw):
        return RangeHandler(*a, directory=str(root), **kw)

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def entry_with(files, tmp_path, digest_of=None):
    """A catalogue file written for the test: the same shape as models.toml."""
    toml = tmp_path / "models.toml"
    lines = [
        "[onnx.testnet]",
        'description = "test"',
        'home = "http://127.0.0.1/"',
        'licence = "MIT"',
        "input = [1, 3, 8, 8]",
        'preprocessing = { order = "bgr", scale = 1.0, mean = [1.0, 2.0, 3.0], std = [1.0, 1.0, 1.0], '
        'layout = "nchw" }',
        "files = [",
    ]
    for name, url, digest in files:
        lines.append(f'  {{ name = "{name}", url = "{url}", digest = "{digest}" }},')
    lines.append("]")
    toml.write_text("\n".join(lines) + "\n")
    return toml


def use_catalogue(monkeypatch, toml):
    original = catalogue.load
    monkeypatch.setattr(catalogue, "load", lambda path=toml: original(path))
