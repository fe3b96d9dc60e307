"""``fiscald emulate daisy|eltrade|incotex``: the ISL brands beyond Datecs on the wire, one table file each
(brand.py says what a brand is), one core (emulator.py) built from the manuals and third-party drivers'
request strings (shared/spec/isl-brands.md), never from our driver."""

from fiscald.emulators.isl.brand import Brand
from fiscald.emulators.isl.daisy import DAISY
from fiscald.emulators.isl.eltrade import ELTRADE
from fiscald.emulators.isl.emulator import IslEmulator
from fiscald.emulators.isl.incotex import INCOTEX

BRANDS: dict[str, Brand] = {brand.name: brand for brand in (DAISY, ELTRADE, INCOTEX)}

__all__ = ["BRANDS", "Brand", "IslEmulator"]
