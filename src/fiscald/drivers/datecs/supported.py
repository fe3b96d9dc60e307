"""Datecs registers as ``get_supported_devices`` lists them: every model of ``models.MODELS``, with what each
lacks and the payment codes it takes."""

from __future__ import annotations

from fiscald.drivers.datecs.driver import DatecsDriver
from fiscald.drivers.datecs.models import MODELS, check_config
from fiscald.drivers.supported import Supported

SUPPORTED = (
    Supported("Datecs", tuple(MODELS), ("Serial", "Network"), DatecsDriver,
              lacking={name: spec.lacking for name, spec in MODELS.items() if spec.lacking},
              payment_codes={name: spec.codes for name, spec in MODELS.items()},
              payment_defaults={name: spec.payments for name, spec in MODELS.items()},
              check_config=check_config),
)
