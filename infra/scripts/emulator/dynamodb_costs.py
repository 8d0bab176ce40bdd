"""DynamoDB in moto at DynamoDB's cost shape: what the emulator changes in moto's DynamoDB backend.

Requests reach the backend one at a time (the launcher's lock), which the transaction snapshot
below relies on. Every change keeps moto's answers; only the cost differs.
"""

import base64
import copy
import json
import os
import sys

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoResult

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
            _reindex(table, hash_key, range_key)
        raise
    finally:
        _in_transaction = False


DynamoDBBackend.transact_write_items = _transact_write_items

# moto answers every Query by listing and sorting the whole table (`Table.all_items`), then sorts
# and compares every item of the key's partition in Python: O(n log n) in the table's size and in
# the partition's. A partition of a 3,000-item table took 55 ms; one fan-out shard (a quarter of a
# 5,000-connection session, on the index) 611 ms of a 15,000-item table. A Query only needs the
# items its key condition matches: while a Query runs, `all_items` answers with those alone — the
# partition (moto keeps items by hash key) for the table, and for an index the items whose index
# keys exist, equal the hash key and satisfy the sort-key condition — unsorted, because moto
# sorts what it is given and applies the same conditions again. Same results.
_original_query = Table.query
_original_all_items = Table.all_items
_querying = None  # None: not in a Query; else what it asked: _TableQuery or _IndexQuery


class _TableQuery:
    def __init__(self, hash_key, range_comparison, range_objs):
        self.hash_key = hash_key
        self.in_range = _raw_range(range_comparison, range_objs)

    def items(self, table):
        partition = table.items.get(self.hash_key)
        if partition is None:
            return []
        if not table.range_key_attr:
            return [partition]
        if self.in_range is None:
            return list(partition.values())
        return [item for item in partition.values() if self.in_range(item.range_key)]


class _IndexQuery:
    def __init__(self, index_name, hash_key, range_comparison, range_objs):
        self.index_name, self.hash_key = index_name, hash_key
        self.range_comparison, self.range_objs = range_comparison, range_objs

    def items(self, table):
        index = table.get_index(self.index_name)
        hash_attr = next((k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"), None)
        range_attr = next((k["AttributeName"] for k in index.schema if k["KeyType"] == "RANGE"), None)
        if hash_attr is None or self.hash_key is None:
            return _every_item(table)
        # Raw type and value comparisons: moto's DynamoType operators cast both sides every time,
        # which for every item of a large table is most of a Query's cost.
        want_type, want_value = self.hash_key.type, self.hash_key.value
        in_range = _raw_range(self.range_comparison, self.range_objs)
        matches = []
        for item in _IndexMap.of(table, self.index_name, hash_attr).items_with(want_type, want_value):
            value = item.attrs.get(hash_attr)
            if value is None or value.type != want_type or value.value != want_value:
                continue
            if range_attr is not None:
                sort = item.attrs.get(range_attr)
                if sort is None:
                    continue
                if in_range is not None:
                    if not in_range(sort):
                        continue
                elif self.range_comparison and not sort.compare(self.range_comparison, self.range_objs):
                    continue
            matches.append(item)
        if _check_index:
            scanned = [i for i in _every_item(table)
                       if (v := i.attrs.get(hash_attr)) is not None and v.type == want_type and v.value == want_value]
            scanned_keys = sorted(map(repr, (_key_of(table, i) for i in scanned)))
            mapped = _IndexMap.of(table, self.index_name, hash_attr).items_with(want_type, want_value)
            if sorted(map(repr, (_key_of(table, i) for i in mapped))) != scanned_keys:
                print(f"EMULATOR_CHECK_INDEX: {self.index_name} {want_value!r} differs from a scan", file=sys.stderr)
                os._exit(70)
        return matches


# An index Query still had to look at every item of the table for those with its hash key: O(table)
# per Query, and a fan-out window queries every shard of the session, so a join storm cost
# O(audience²) (2,000 joins took 371 s, each 500 twice as long as the last). Each index is kept
# as a map from hash-key value to the items holding it, built at the index's first Query and
# kept current by every write path (puts, deletes, in-place updates, a cancelled transaction's
# restores): a Query takes its hash key's items only. `EMULATOR_CHECK_INDEX=1` compares every
# such answer with the scan's (the tests ran with it).
class _IndexMap:
    maps = {}  # (id(table), index name) -> _IndexMap

    def __init__(self, table, hash_attr):
        self.hash_attr = hash_attr
        self.by_hash = {}  # (type, value) -> {item key: item}
        self.of_key = {}  # item key -> (type, value)
        for item in _every_item(table):
            self.put(_key_of(table, item), item)

    @classmethod
    def of(cls, table, index_name, hash_attr):
        found = cls.maps.get((id(table), index_name))
        if found is None:
            found = cls.maps[(id(table), index_name)] = cls(table, hash_attr)
        return found

    def put(self, key, item):
        old = self.of_key.pop(key, None)
        if old is not None:
            bucket = self.by_hash.get(old)
            if bucket is not None:
                bucket.pop(key, None)
                if not bucket:
                    del self.by_hash[old]
        value = item.attrs.get(self.hash_attr) if item is not None else None
        if value is not None:
            raw = (value.type, _hashable(value.value))
            self.by_hash.setdefault(raw, {})[key] = item
            self.of_key[key] = raw

    def items_with(self, want_type, want_value):
        return list(self.by_hash.get((want_type, _hashable(want_value)), {}).values())


def _hashable(value):
    return value if isinstance(value, (str, int, float, bool, bytes)) or value is None else repr(value)


def _key_of(table, item):
    range_value = item.range_key.value if table.range_key_attr and item.range_key is not None else None
    return (item.hash_key.value, range_value)


def _reindex(table, hash_key, range_key):
    """Brings every built index map of `table` up to date for one item key."""
    names = [name for (table_id, name) in _IndexMap.maps if table_id == id(table)]
    if not names or hash_key is None or (table.range_key_attr and range_key is None):
        return  # no map yet, or not an item's key (moto refused the request)
    partition = table.items.get(hash_key)
    if table.range_key_attr:
        item = partition.get(range_key) if partition is not None else None
    else:
        item = partition
    key = (hash_key.value, range_key.value if range_key is not None else None)
    for name in names:
        _IndexMap.maps[(id(table), name)].put(key, item)


_original_put_item = Table.put_item
_original_delete_item = Table.delete_item
_original_update_item = DynamoDBBackend.update_item


def _put_item(self, item_attrs, *args, **kwargs):
    try:
        return _original_put_item(self, item_attrs, *args, **kwargs)
    finally:
        if self.hash_key_attr in item_attrs:
            range_key = DynamoType(item_attrs[self.range_key_attr]) if self.range_key_attr in item_attrs else None
            _reindex(self, DynamoType(item_attrs[self.hash_key_attr]), range_key)


def _delete_item(self, hash_key, range_key):
    try:
        return _original_delete_item(self, hash_key, range_key)
    finally:
        _reindex(self, hash_key, range_key)


def _update_item(self, table_name, key, *args, **kwargs):
    try:
        return _original_update_item(self, table_name, key, *args, **kwargs)
    finally:
        table = self.tables.get(table_name)
        if table is not None and table.hash_key_attr in key:
            range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr in key else None
            _reindex(table, DynamoType(key[table.hash_key_attr]), range_key)


Table.put_item = _put_item
Table.delete_item = _delete_item
DynamoDBBackend.update_item = _update_item
_check_index = os.environ.get("EMULATOR_CHECK_INDEX") == "1"


def _raw_range(comparison, objs):
    """A string sort-key condition as a plain comparison of values (None: moto's compare)."""
    if not comparison or not objs or any(o.type != "S" for o in objs):
        return None
    values = [o.value for o in objs]
    tests = {
        "BETWEEN": lambda v: values[0] <= v <= values[-1],
        "BEGINS_WITH": lambda v: v.startswith(values[0]),
        "=": lambda v: v == values[0],
        "<": lambda v: v < values[0],
        "<=": lambda v: v <= values[0],
        ">": lambda v: v > values[0],
        ">=": lambda v: v >= values[0],
    }
    tests.update(EQ=tests["="], LT=tests["<"], LE=tests["<="], GT=tests[">"], GE=tests[">="])
    test = tests.get(comparison.upper())
    return None if test is None else (lambda sort: sort.type == "S" and test(sort.value))


def _every_item(table):
    if not table.range_key_attr:
        return list(table.items.values())
    return [item for partition in table.items.values() for item in partition.values()]


def _query(self, hash_key, range_comparison, range_objs, limit, exclusive_start_key, scan_index_forward,
           projection_expressions, index_name=None, *args, **kwargs):
    global _querying
    if index_name:
        _querying = _IndexQuery(index_name, hash_key, range_comparison, range_objs)
    else:
        _querying = _TableQuery(hash_key, range_comparison, range_objs)
    try:
        return _original_query(self, hash_key, range_comparison, range_objs, limit, exclusive_start_key,
                               scan_index_forward, projection_expressions, index_name, *args, **kwargs)
    finally:
        _querying = None


def _all_items(self):
    if _querying is None:
        return _original_all_items(self)
    return _querying.items(self)


Table.query = _query
Table.all_items = _all_items


# moto serialises every answer by walking the operation's botocore model, attribute by attribute:
# about 0.3 ms per item, so a Query of 1,280 items spent 400 ms there. An item operation's answer
# is already DynamoDB's JSON (attribute values as {type: value}): it is written as it is, with what
# the model walk did to it — absent members (None) left out, binary values in base64. Table
# operations (timestamps, nested descriptions) keep moto's serialiser.
_ITEM_OPERATIONS = frozenset({
    "GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem", "TransactGetItems",
})
_original_execute_result = DynamoResult.execute_result


def _wire(value):
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_wire(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    if isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(type(value).__name__)


def _execute_result(self, context):
    if context.operation_model.name not in _ITEM_OPERATIONS:
        return _original_execute_result(self, context)
    try:
        body = json.dumps(_wire(self.result), separators=(",", ":"))
    except TypeError:
        return _original_execute_result(self, context)
    return 200, {"Content-Type": "application/x-amz-json-1.0"}, body


DynamoResult.execute_result = _execute_result


# An index Query projects each item it returns (KEYS_ONLY, INCLUDE): moto turns the item into plain
# JSON, looks each projected name up in it and serialises the result back into a new item — half
# of a fan-out shard's Query (250 connections: 50 ms, 25 of them projecting). A projection of
# top-level names (every index projection, and most ProjectionExpressions) only needs those
# attributes copied: the same item, without the round trip. Nested paths, and values the round
# trip changes in form (binary becomes bytes, sets are reordered; maps and lists may hold either),
# keep moto's way.
_original_project = Item.project
_PLAIN_TYPES = frozenset({"S", "N", "BOOL", "NULL"})


def _project(self, projection_expressions):
    plain = all(
        len(path) == 1 and (path[0] not in self.attrs or self.attrs[path[0]].type in _PLAIN_TYPES)
        for path in projection_expressions
    )
    if not plain:
        return _original_project(self, projection_expressions)
    projected = Item.__new__(Item)
    projected.hash_key = self.hash_key
    projected.range_key = self.range_key
    attrs = LimitedSizeDict.__new__(LimitedSizeDict)
    dict.__init__(attrs)
    for (name,) in projection_expressions:
        if name in self.attrs:
            dict.__setitem__(attrs, name, copy.deepcopy(self.attrs[name]))
    projected.attrs = attrs
    return projected


Item.project = _project
