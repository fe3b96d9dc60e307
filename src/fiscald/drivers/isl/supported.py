"""Daisy, Eltrade and Incotex registers as ``get_supported_devices`` lists them: one row per brand of
``brands.BRANDS``, every model of its table, with the payment codes it takes."""

from __future__ import annotations

from fiscald.drivers.isl.brands import BRANDS
from fiscald.drivers.isl.config import check_config
from fiscald.drivers.isl.driver import IslDriver
from fiscald.drivers.supported import Supported

SUPPORTED = tuple(
    Supported(brand.maker, tuple(brand.models), ("Serial", "Network"), IslDriver,
              lacking={name: brand.lacking for name in brand.models if brand.lacking},
              payment_codes={name: dict(brand.codes) for name in brand.models},
              payment_defaults={name: dict(brand.payment_codes) for name in brand.models},
              check_config=check_config)
    for brand in BRANDS.values())
