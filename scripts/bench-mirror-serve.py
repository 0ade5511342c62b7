"""Serve a bench mirror (bench-big-mirror.py's directory) on 127.0.0.1.

python3 scripts/bench-mirror-serve.py DIR PORT

Like `python3 -m http.server`, except that a project page asked for as
PEP 691 JSON (Accept: application/vnd.pypi.simple.v1+json) is answered with
the project's index.json, which carries the files' sizes (PEP 700) as PyPI's
does, so a lock made from the mirror records them as one made from PyPI.
"""

import functools
import http.server
import os
import sys

JSON = "application/vnd.pypi.simple.v1+json"


class Handler(http.server.SimpleHTTPRequestHandler):
    def send_head(self):
        path = self.translate_path(self.path)
        index = os.path.join(path, "index.json")
        if os.path.isdir(path) and JSON in self.headers.get("Accept", "") and os.path.exists(index):
            f = open(index, "rb")  # noqa: SIM115 (send_head returns it open; the base class closes it)
            self.send_response(200)
            self.send_header("Content-Type", JSON)
            self.send_header("Content-Length", str(os.fstat(f.fileno()).st_size))
            self.end_headers()
            return f
        return super().send_head()

    def log_message(self, format, *args):
        pass


def main():
    root, port = sys.argv[1], int(sys.argv[2])
    handler = functools.partial(Handler, directory=root)
    http.server.ThreadingHTTPServer(("127.0.0.1", port), handler).serve_forever()


if __name__ == "__main__":
    main()
