#!/usr/bin/env python3
"""A minimal client directory for ozmap-ivr (docs/client-directory.md).

Put it in front of any ERP: replace CLIENTS (or `find`) with a query to the
ERP. Standard library only.

    CLIENT_DIRECTORY_TOKEN=secret python3 docs/examples/client_directory_server.py 127.0.0.1:8081
    CLIENT_DIRECTORY=http CLIENT_DIRECTORY_URL=http://127.0.0.1:8081 \
        CLIENT_DIRECTORY_TOKEN=secret ozmap-ivr serve
"""

import hmac
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

TOKEN = os.environ.get("CLIENT_DIRECTORY_TOKEN", "")

CLIENTS = {
    "123|123": {
        "code": "123|123",
        "name": "Gabriel Marioto",
        "installation": {
            "street": "R. Delminda Silveira",
            "number": "900",
            "complement": None,
            "neighbourhood": "Agronômica",
            "city": "Florianópolis",
            "state": "SC",
            "cep": "88025-500",
            "lat": -27.5782336721312,
            "lng": -48.527442812919624,
        },
    },
}


def find(code):
    """The client with this code, or None. Ask the ERP here."""
    return CLIENTS.get(code)


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        given = self.headers.get("Authorization", "")
        if TOKEN and not hmac.compare_digest(given, "Bearer " + TOKEN):
            return self.answer(401, {"message": "unauthorized"})
        prefix = "/clients/"
        if not self.path.startswith(prefix):
            return self.answer(404, {"message": "not found"})
        client = find(unquote(self.path[len(prefix):]))
        if client is None:
            return self.answer(404, {"message": "no such client"})
        return self.answer(200, client)

    def answer(self, status, body):
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        # Paths hold client codes: not logged.
        pass


if __name__ == "__main__":
    host, port = (sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:8081").rsplit(":", 1)
    ThreadingHTTPServer((host, int(port)), Handler).serve_forever()
