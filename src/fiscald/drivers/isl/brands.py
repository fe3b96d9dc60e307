"""The ISL brands fiscald drives, by manufacturer: adding one is its table file and a line here."""

from __future__ import annotations

from fiscald.drivers.isl.brand import Brand
from fiscald.drivers.isl.daisy import DAISY
from fiscald.drivers.isl.eltrade import ELTRADE
from fiscald.drivers.isl.incotex import INCOTEX

BRANDS: dict[str, Brand] = {brand.maker: brand for brand in (DAISY, ELTRADE, INCOTEX)}
