"""SQS in moto at SQS's cost shape: what the emulator changes in moto's SQS backend (moto 5.2.5).

Real SQS answers a SendMessage, ReceiveMessage or DeleteMessage in the same time whatever the
queue's depth. moto's cost grows with it, steeply: every FIFO send builds the queue's whole
attribute dictionary three or four times (to read `ContentBasedDeduplication`), and each build
counts the visible, delayed and in-flight messages by asking every message the time through
`datetime` (two conversions per message and question); every received message builds it again
(to read `MessageRetentionPeriod`); a delete lists every message's receipt handles twice. Measured
in process on this machine: a FIFO send 28 ms and a receive 190 ms with 100 messages queued,
94 and 590 ms with 1,000; with the changes below 0.1–0.3 ms and 1–3 ms from 100 to 5,000
queued (the DeleteMessage 0.5 ms → 0.2 ms). Under load that feeds itself — a slower queue gets deeper — which is
what stopped a 5,000-client `make bench` (docs/scale.md). The changes below keep every answer
moto gives and only remove that cost:

- `Queue.attributes` is a read-only mapping that computes an attribute when it is read, so a
  send that reads one flag does not count the queue three times;
- a message's visibility and delay compare with `time.time()` instead of two `datetime`
  conversions;
- a delete finds the message in one pass.
"""

import json
import time
from collections.abc import Mapping

from moto.core.utils import camelcase_to_underscores
from moto.sqs.exceptions import ReceiptHandleIsInvalid
from moto.sqs.models import Message, Queue


def _now_millis():
    return time.time() * 1000.0


Message.visible = property(lambda self: _now_millis() > self.visible_at)
Message.delayed = property(lambda self: _now_millis() < self.delayed_until)


def _messages(self):
    now = _now_millis()
    return [m for m in self._messages if now > m.visible_at and not now < m.delayed_until]


def _approximate_number_of_messages_delayed(self):
    now = _now_millis()
    return sum(1 for m in self._messages if now < m.delayed_until)


def _approximate_number_of_messages_not_visible(self):
    now = _now_millis()
    return sum(1 for m in self._messages if not now > m.visible_at)


Queue.messages = property(_messages)
Queue.approximate_number_of_messages_delayed = property(_approximate_number_of_messages_delayed)
Queue.approximate_number_of_messages_not_visible = property(_approximate_number_of_messages_not_visible)


class _Attributes(Mapping):
    """moto's `Queue.attributes` dictionary, each value computed when it is read: the same keys,
    in the same order, with the same values (booleans as "true"/"false", a redrive policy as
    JSON; `Policy` and `RedrivePolicy` are base attributes, None when unset)."""

    def __init__(self, queue):
        self._queue = queue
        names = list(Queue.BASE_ATTRIBUTES)
        if queue.fifo_queue:
            names += Queue.FIFO_ATTRIBUTES
        if queue.kms_master_key_id:
            names += Queue.KMS_ATTRIBUTES
        self._names = names

    def __getitem__(self, name):
        if name not in self._names:
            raise KeyError(name)
        queue = self._queue
        if name == "Policy" and queue.policy:
            value = queue.policy
        elif name == "RedrivePolicy" and queue.redrive_policy:
            value = json.dumps(queue.redrive_policy)
        else:
            value = getattr(queue, camelcase_to_underscores(name))
        return str(value).lower() if isinstance(value, bool) else value

    def __iter__(self):
        return iter(self._names)

    def __len__(self):
        return len(self._names)


Queue.attributes = property(_Attributes)


def _delete_message(self, receipt_handle):
    if receipt_handle in self.deleted_messages:
        # Already deleted: moto (as SQS) accepts it again.
        return
    for index, message in enumerate(self._messages):
        if message.receipt_handle == receipt_handle or receipt_handle in message._old_receipt_handles:
            break
    else:
        raise ReceiptHandleIsInvalid()
    # Receipt handles are unique, so the one message moto's filter would have removed.
    del self._messages[index]
    self.pending_messages.discard(message)
    self.deleted_messages.update(message.all_receipt_handles)


Queue.delete_message = _delete_message
