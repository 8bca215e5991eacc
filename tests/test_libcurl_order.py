"""curl_cffi must load before TensorFlow, or every Yahoo request fails (see pipeline/__init__)."""

import subprocess
import sys

SCRIPT = """
import http.server, threading
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *a):
        pass
srv = http.server.HTTPServer(("127.0.0.1", 0), H)
threading.Thread(target=srv.serve_forever, daemon=True).start()
import stackcast.pipeline.cli.app          # what every entry point does first
import keras, tensorflow     # a model is trained or loaded
from curl_cffi import requests
print(requests.Session().get(f"http://127.0.0.1:{srv.server_port}/").text)
"""


def test_yahoo_requests_work_after_tensorflow_is_loaded():
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        timeout=120,
        env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("ok")
