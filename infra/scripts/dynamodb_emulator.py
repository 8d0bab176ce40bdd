"""The DynamoDB emulator: moto's server on loopback, with every request applied atomically.

moto's own `moto_server` serves requests on many threads and its DynamoDB backend takes no locks,
so two concurrent TransactWriteItems can both pass a condition that only one of them may pass
(seen: 62 joins admitted with max_participants 60). Real DynamoDB applies each conditional write
and each transaction atomically. This launcher keeps moto's threaded server (keep-alive and
parallel connections still work) but runs the application under one lock, which makes every
request atomic as in DynamoDB. Usage: dynamodb_emulator.py [--host 127.0.0.1] [--port 8000]
"""

import argparse
import signal
import sys
import threading

from moto.moto_server.werkzeug_app import MotoRequestHandler  # the handler moto_server uses
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()

    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def atomic(environ, start_response):
        with lock:
            # Consume the whole response inside the lock: the backend's work happens while iterating.
            return list(app(environ, start_response))

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    run_simple(args.host, args.port, atomic, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
