"""The emulator: moto's server on loopback (DynamoDB, SQS, SSM), with every request applied atomically.

moto's own `moto_server` serves requests on many threads and its DynamoDB backend takes no locks,
so two concurrent TransactWriteItems can both pass a condition that only one of them may pass
(seen: 62 joins admitted with max_participants 60). Real DynamoDB applies each conditional write
and each transaction atomically. This launcher keeps moto's threaded server (parallel
connections still work, kept alive between requests: `_KeepAliveHandler`) but runs the
application under one lock, which makes every request atomic as in DynamoDB. It also removes
moto's worst costs without changing an answer: `dynamodb_costs` and `sqs_costs` say which and
why.

Usage: python infra/scripts/emulator [--host 127.0.0.1] [--port 8000]
"""

import argparse
import functools
import os
import signal
import sys
import threading
import time

import moto.backends as moto_backends
import moto.core.responses as moto_responses
from moto.moto_server.werkzeug_app import MotoRequestHandler  # the handler moto_server uses
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

import dynamodb_costs  # noqa: F401  (patches moto's DynamoDB backend on import)
import sqs_costs  # noqa: F401  (patches moto's SQS backend on import)


class _Profile:
    """Where the emulator's time goes, when `EMULATOR_PROFILE` names a file: requests and seconds
    per operation (DynamoDB's `X-Amz-Target`, SQS's `Action`), rewritten every two seconds (the
    emulator is killed, not stopped, by the tests and the bench)."""

    @classmethod
    def from_env(cls):
        path = os.environ.get("EMULATOR_PROFILE")
        return cls(f"{path}.{os.getpid()}") if path else None

    def __init__(self, path):
        self.path, self.ops, self.guard = path, {}, threading.Lock()
        threading.Thread(target=self._dump, daemon=True).start()

    def add(self, environ, seconds):
        op = environ.get("HTTP_X_AMZ_TARGET") or environ.get("QUERY_STRING") or environ.get("PATH_INFO", "")
        with self.guard:
            count, total = self.ops.get(op, (0, 0.0))
            self.ops[op] = (count + 1, total + seconds)

    def _dump(self):
        while True:
            time.sleep(2)
            with self.guard:
                rows = sorted(self.ops.items(), key=lambda kv: -kv[1][1])
            with open(self.path, "w") as f:
                for op, (count, total) in rows:
                    f.write(f"{total:9.3f} s {count:8d} calls {1e3 * total / count:7.2f} ms  {op}\n")


# Per request, moto lists its own package directory (a stat of every service's folder) to route
# the request, and lists the responder class's methods to find the action: a quarter of a GetItem's
# time. Neither answer changes while the server runs: both are computed once.
_moto_modules = tuple(moto_backends.list_of_moto_modules())
moto_backends.list_of_moto_modules = lambda: _moto_modules
moto_responses.method_names_from_class = functools.lru_cache(maxsize=None)(moto_responses.method_names_from_class)


class _KeepAliveHandler(MotoRequestHandler):
    """moto's handler speaking HTTP/1.1, so a client keeps its connection for the next request.
    moto's own answers HTTP/1.0 and closes every connection after one response: each SDK call
    then opens a new TCP connection and the server starts a thread for it, which cost the
    emulator and its clients more than many of the calls themselves. DynamoDB and SQS keep
    connections alive, and the SDK's pool expects them to."""

    protocol_version = "HTTP/1.1"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()

    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()
    profile = _Profile.from_env()

    def atomic(environ, start_response):
        with lock:
            started = time.perf_counter()
            # Consume the whole response inside the lock: the backend's work happens while iterating.
            body = list(app(environ, start_response))
            if profile:
                profile.add(environ, time.perf_counter() - started)
            return body

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    run_simple(args.host, args.port, atomic, threaded=True, request_handler=_KeepAliveHandler)


if __name__ == "__main__":
    main()
