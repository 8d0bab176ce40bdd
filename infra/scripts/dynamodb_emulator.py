"""The DynamoDB emulator: moto's server on loopback, with every request applied atomically.

moto's own `moto_server` serves requests on many threads and its DynamoDB backend takes no locks,
so two concurrent TransactWriteItems can both pass a condition that only one of them may pass
(seen: 62 joins admitted with max_participants 60). Real DynamoDB applies each conditional write
and each transaction atomically. This launcher keeps moto's threaded server (keep-alive and
parallel connections still work) but runs the application under one lock, which makes every
request atomic as in DynamoDB. Usage: dynamodb_emulator.py [--host 127.0.0.1] [--port 8000]
"""

import argparse
import copy
import signal
import sys
import threading

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.moto_server.werkzeug_app import MotoRequestHandler  # the handler moto_server uses
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

# moto's TransactWriteItems deep-copies the whole table once per action to be able to roll back,
# which makes every transaction cost O(table size) (a 4-action transaction on a table of a few
# thousand items took tens of milliseconds). Requests are serialised here, so a rollback only needs
# the items the transaction touches: snapshot those, let moto skip its table copies, and restore
# the snapshots when the transaction is cancelled. Behaviour is unchanged; only the cost differs.
_in_transaction = False


class _CopyModule:
    """Stands in for the `copy` module inside moto's DynamoDB backend."""

    def __getattr__(self, name):
        return getattr(copy, name)

    def deepcopy(self, value, memo=None):
        if _in_transaction and isinstance(value, Table):
            return value
        return copy.deepcopy(value, memo)


dynamodb_models.copy = _CopyModule()
_original_transact = DynamoDBBackend.transact_write_items


def _touched(backend, transact_items):
    for action in transact_items:
        _, op = next(iter(action.items()))
        table = backend.tables.get(op.get("TableName"))
        attrs = op.get("Key") or op.get("Item") or {}
        if table is None or table.hash_key_attr not in attrs:
            continue
        hash_key = DynamoType(attrs[table.hash_key_attr])
        range_key = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr in attrs else None
        yield table, hash_key, range_key


def _transact_write_items(self, transact_items):
    global _in_transaction
    snapshots = []
    for table, hash_key, range_key in _touched(self, transact_items):
        if table.has_range_key and range_key is None:
            continue
        snapshots.append((table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))))
    _in_transaction = True
    try:
        return _original_transact(self, transact_items)
    except Exception:
        for table, hash_key, range_key, item in reversed(snapshots):
            if range_key is None:
                if item is None:
                    table.items.pop(hash_key, None)
                else:
                    table.items[hash_key] = item
            elif item is None:
                table.items[hash_key].pop(range_key, None)
            else:
                table.items[hash_key][range_key] = item
        raise
    finally:
        _in_transaction = False


DynamoDBBackend.transact_write_items = _transact_write_items

# moto answers every Query by listing and sorting the whole table (`Table.all_items`), so a Query
# costs O(n log n) in the table's size: 55 ms for one partition of a 3,000-item table, and the
# fan-out queries a partition and the index every window. A Query of the table only needs its
# partition (moto keeps items by hash key), and a Query of an index sorts its matches itself:
# while a Query runs, `all_items` answers with the partition alone, or unsorted. Same results.
_original_query = Table.query
_original_all_items = Table.all_items
_querying = None  # None: not in a Query; ("table", hash key) or ("index",)


def _query(self, hash_key, range_comparison, range_objs, limit, exclusive_start_key, scan_index_forward,
           projection_expressions, index_name=None, *args, **kwargs):
    global _querying
    _querying = ("index",) if index_name else ("table", hash_key)
    try:
        return _original_query(self, hash_key, range_comparison, range_objs, limit, exclusive_start_key,
                               scan_index_forward, projection_expressions, index_name, *args, **kwargs)
    finally:
        _querying = None


def _all_items(self):
    if _querying is None:
        return _original_all_items(self)
    if _querying[0] == "table":
        partition = self.items.get(_querying[1])
        if partition is None:
            return []
        return list(partition.values()) if self.range_key_attr else [partition]
    items = []
    for hash_set in self.items.values():
        items.extend(hash_set.values() if self.range_key_attr else [hash_set])
    return items


Table.query = _query
Table.all_items = _all_items


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
