"""Tremol registers as ``get_supported_devices`` lists them: every model of ``models.MODELS`` (the Romanian
editions of the same devices included), with the payment codes each takes."""

from __future__ import annotations

from fiscald.drivers.supported import Supported
from fiscald.drivers.tremol.driver import TremolDriver
from fiscald.drivers.tremol.models import MODELS, check_config

SUPPORTED = (
    Supported("Tremol", tuple(MODELS), ("Serial", "Network"), TremolDriver,
              payment_codes={name: spec.dialect.codes for name, spec in MODELS.items()},
              payment_defaults={name: spec.dialect.payments for name, spec in MODELS.items()},
              check_config=check_config, network_password=True),
)
