"""Operations a crash interrupted on a device that keys its requests itself (``Driver.resumes_interrupted``).

A bank terminal's driver derives the terminal's request id (a Viva session id) from the Idempotency-Key and
stores it before the request leaves, so running the operation again with the same key finds that request and
waits for its real outcome instead of starting a second one. At start-up such a keyed record is dropped rather
than answered 1010 OutcomeUnknown: the client's retry with the same key then answers the terminal's outcome.
Operations without a key stay 1010 (nothing could find their request again).
"""

from __future__ import annotations

import logging
from functools import partial

from fiscald.drivers.registry import find
from fiscald.errors import FiscalError
from fiscald.models.config import DeviceConfig, kind_of
from fiscald.store import Database, archive
from fiscald.store import operations as op_repo

log = logging.getLogger("fiscald.resume")


def resumes(config: DeviceConfig) -> bool:
    """The device's driver keys its requests itself, so an interrupted keyed operation is resumed by its retry."""
    try:
        return find(kind_of(config), config.manufacturer, config.model).driver.resumes_interrupted
    except FiscalError:
        return False


async def recover(db: Database, rec: op_repo.OperationRecord) -> bool:
    """Drop ``rec`` when its device resumes interrupted operations and it has a key; False: not handled."""
    if rec.idem_key is None:
        return False
    record = await db.read(partial(archive.device_record, device_id=rec.device_id))
    if record is None or not resumes(record.config):
        return False
    await db.write(lambda c: op_repo.forget(c, rec.id))
    log.warning("operation %s (%s) on %s was interrupted: a retry with its key resumes it on the device",
                rec.id, rec.operation, rec.device_id)
    return True
