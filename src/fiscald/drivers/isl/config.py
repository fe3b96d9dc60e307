"""An ISL register's settings, checked when they are saved against its brand's table (never accepted and then
ignored)."""

from __future__ import annotations

from fiscald.drivers.isl.brands import BRANDS
from fiscald.errors import Code, FiscalError
from fiscald.models.config import FiscalDeviceConfig


def check_config(config: FiscalDeviceConfig) -> None:
    brand = BRANDS[config.manufacturer]
    if config.header_lines or config.footer_lines:
        # the header and footer are part of the register's own programming (43h/2Bh in every ISL manual);
        # fiscald does not reprogram them
        field = "header_lines" if config.header_lines else "footer_lines"
        raise FiscalError(Code.CONFIG, f"{field}: a {brand.maker} register prints its own header and footer, as "
                                       "programmed in it; leave header_lines and footer_lines empty")
    if config.operator > brand.operators:
        raise FiscalError(Code.CONFIG, f"operator: a {brand.maker} register has operators 1..{brand.operators}")
    password = config.operator_password
    if password is not None and not brand.password_digits:
        raise FiscalError(Code.CONFIG, f"operator_password: a {brand.maker} register opens receipts without a "
                                       "password; leave it empty")
    if password is not None and len(password) > brand.password_digits:
        raise FiscalError(Code.CONFIG, f"operator_password: a {brand.maker} register takes at most "
                                       f"{brand.password_digits} digits")
