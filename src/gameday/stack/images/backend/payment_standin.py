"""payment_standin: the replica's stand-in for the external payment provider (TON, in the playbook).

Not a real provider and never a real address: a tiny HTTP server on the replica's internal
payments network, which the backends reach only through the proxy's ``backend-to-payments``
link (so that ``link_down`` is "provider down" and a latency toxic "provider slow"). It keeps
its charges in memory, one per idempotency key, as a real provider does.

    POST /charges  {"idempotency_key": str, "amount_cents": int} -> 201 new | 200 the same charge
    GET  /charges  {"charges": N, "amount_cents": total}
    GET  /health   200 ok

"Failing with errors" is a mode file: while MODE_FILE holds ``errors``, every request but
``GET /charges`` answers 500 (the `payment-provider-failing` command writes it, and
`payment-provider-healthy` removes it). Standard library only: it runs on the backend image.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

MODE_FILE = Path(os.environ.get("STANDIN_MODE_FILE", "/tmp/payment-provider-mode"))
MAX_BODY_BYTES = 64 * 1024


class Ledger:
    """The charges taken, by idempotency key."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._charges: dict[str, tuple[str, int]] = {}

    def charge(self, key: str, amount_cents: int) -> tuple[str, bool]:
        """The charge id for ``key`` and whether it is new."""
        with self._lock:
            if key in self._charges:
                return self._charges[key][0], False
            charge_id = f"ch_{len(self._charges) + 1}"
            self._charges[key] = (charge_id, amount_cents)
            return charge_id, True

    def totals(self) -> dict[str, int]:
        with self._lock:
            return {
                "charges": len(self._charges),
                "amount_cents": sum(a for _, a in self._charges.values()),
            }


def failing() -> bool:
    try:
        return MODE_FILE.read_text().strip() == "errors"
    except OSError:
        return False


def answer(
    method: str, path: str, body: bytes, ledger: Ledger, is_failing: bool
) -> tuple[int, dict[str, Any]]:
    """The status and JSON body of one request."""
    if (method, path) == ("GET", "/charges"):
        return 200, ledger.totals()
    if is_failing:
        return 500, {"error": "provider failing"}
    if (method, path) == ("GET", "/health"):
        return 200, {"status": "ok"}
    if (method, path) != ("POST", "/charges"):
        return 404, {"error": "not found"}
    try:
        data = json.loads(body)
    except ValueError:
        return 400, {"error": "body is not JSON"}
    key = data.get("idempotency_key") if isinstance(data, dict) else None
    amount = data.get("amount_cents") if isinstance(data, dict) else None
    if not isinstance(key, str) or not key or type(amount) is not int or amount <= 0:
        return 400, {"error": 'expected {"idempotency_key": str, "amount_cents": int > 0}'}
    charge_id, new = ledger.charge(key, amount)
    return (201 if new else 200), {"charge_id": charge_id, "idempotency_key": key}


def make_handler(ledger: Ledger) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "payment-provider-standin"

        def do_GET(self) -> None:
            length = int(self.headers.get("Content-Length", "0") or 0)
            body = self.rfile.read(min(length, MAX_BODY_BYTES))
            status, data = answer(self.command, self.path, body, ledger, failing())
            raw = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        do_POST = do_GET

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def main() -> int:
    port = int(os.environ.get("STANDIN_PORT", "8080"))
    server = ThreadingHTTPServer(("0.0.0.0", port), make_handler(Ledger()))
    sys.stdout.write(f"payment-provider-standin listening on :{port}\n")
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
