"""Rules a device configuration must satisfy before it is saved (docs/manage.md, "Validation").

Every failure is a 400 Config error whose message starts with the field it is about. Nothing here
writes anything except :func:`prepare_scan_folder`, which may create the folder on request.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import get_args

from fiscald.central import url as central_url
from fiscald.config import Settings, is_loopback
from fiscald.drivers.registry import SUPPORTED
from fiscald.drivers.supported import Supported
from fiscald.errors import Code, FiscalError
from fiscald.models.config import DeviceConfig, FiscalDeviceConfig, kind_of
from fiscald.models.connection import DETAILS_FIELD, WINDOWS_PORT, Details, NetworkDetails, SerialDetails, connection
from fiscald.operations.models import PaymentType

PAYMENT_TYPES: tuple[str, ...] = get_args(PaymentType)


def supported_entry(kind: str, manufacturer: str, model: str, settings: Settings) -> Supported:
    """The registry entry for an exact manufacturer/model, honouring the simulated-devices gate."""
    entries = [e for e in SUPPORTED if e.kind == kind and (settings.enable_simulated_devices or not e.simulated)]
    by_maker = [e for e in entries if e.manufacturer == manufacturer]
    if not by_maker:
        gated = any(e.kind == kind and e.simulated and e.manufacturer == manufacturer for e in SUPPORTED)
        if gated:
            raise FiscalError(Code.CONFIG, f"manufacturer: {manufacturer} devices are disabled; enable them with "
                                           "POST /manage/save_settings {\"enable_simulated_devices\": true} or "
                                           "`fiscald settings set enable_simulated_devices true`")
        known = ", ".join(sorted({e.manufacturer for e in entries})) or "none"
        raise FiscalError(Code.CONFIG, f"manufacturer: {manufacturer!r} is not a supported {kind} manufacturer "
                                       f"(supported: {known}; see GET /manage/get_supported_devices)")
    for entry in by_maker:
        if model in entry.models:
            return entry
    models = ", ".join(m for e in by_maker for m in e.models)
    raise FiscalError(Code.CONFIG, f"model: {model!r} is not a {manufacturer} {kind} model (models: {models})")


def _folder_key(path: str) -> Path:
    try:
        return Path(os.path.normcase(os.path.realpath(path)))
    except OSError:  # not resolvable (no permission): compare it as written
        return Path(os.path.normcase(os.path.normpath(os.path.abspath(path))))


def _endpoint(details: Details) -> tuple[str, str] | None:
    """What two devices cannot share: (field, normalized endpoint)."""
    if isinstance(details, SerialDetails):
        port = details.port.upper() if WINDOWS_PORT.match(details.port) else os.path.realpath(details.port)
        return f"{DETAILS_FIELD}.port", f"serial port {port}"
    if isinstance(details, NetworkDetails):
        return f"{DETAILS_FIELD}.port", f"address {ipaddress.ip_address(details.ip_address)} port {details.port}"
    return None


def _stored_endpoint(config: DeviceConfig) -> tuple[str, str] | None:
    """The endpoint of an already stored device; one saved before a rule existed may not pass it."""
    try:
        return _endpoint(connection(config.connection_details))
    except FiscalError:
        return None


def _who(config: DeviceConfig) -> str:
    return f"{kind_of(config)} device {config.name!r} ({config.id})"


def check_device(config: DeviceConfig, others: Sequence[DeviceConfig], settings: Settings) -> None:
    """Everything but the scan folder's existence: connection, model, links and what devices cannot share.

    ``others`` are the other configured (not deleted) devices of both kinds."""
    kind = kind_of(config)
    details = connection(config.connection_details)
    entry = supported_entry(kind, config.manufacturer, config.model, settings)
    if config.connection_details.type not in entry.connection_types:
        raise FiscalError(Code.CONFIG, f"connection_details.type: {config.manufacturer} {config.model} connects "
                                       f"through {', '.join(entry.connection_types)}, not "
                                       f"{config.connection_details.type}")
    if isinstance(details, NetworkDetails) and details.password is not None and not entry.network_password:
        raise FiscalError(Code.CONFIG, f"{DETAILS_FIELD}.password: a {config.manufacturer} {config.model} asks no "
                                       "password on the network; leave it out")
    if isinstance(config, FiscalDeviceConfig):
        _check_fiscal(config, entry, others)
    check_unshared(config, others)


def check_unshared(config: DeviceConfig, others: Sequence[DeviceConfig]) -> None:
    """Two devices cannot share a serial port, a network address and port, or (overlapping) scan folders."""
    endpoint = _endpoint(connection(config.connection_details))
    if endpoint is not None:
        field, key = endpoint
        for other in others:
            other_endpoint = _stored_endpoint(other)
            if other_endpoint is not None and other_endpoint[1] == key:
                raise FiscalError(Code.CONFIG, f"{field}: {key} is already used by {_who(other)}")
    if not isinstance(config, FiscalDeviceConfig) or config.scan_folder is None:
        return
    mine = _folder_key(config.scan_folder)
    for other in others:
        if not isinstance(other, FiscalDeviceConfig) or other.scan_folder is None:
            continue
        theirs = _folder_key(other.scan_folder)
        if mine == theirs or mine in theirs.parents or theirs in mine.parents:
            relation = "is" if mine == theirs else "overlaps"
            raise FiscalError(Code.CONFIG, f"scan_folder: {config.scan_folder} {relation} the scan folder of "
                                           f"{_who(other)}")


def _check_fiscal(config: FiscalDeviceConfig, entry: Supported, others: Sequence[DeviceConfig]) -> None:
    if config.vat_rates is not None and not entry.simulated:
        raise FiscalError(Code.CONFIG, "vat_rates: only Simulated registers take VAT rates from the configuration; "
                                       "a real register uses the rates programmed in it")
    if config.linked_pos_device_id is not None:
        if not any(kind_of(o) == "pos" and o.id == config.linked_pos_device_id for o in others):
            raise FiscalError(Code.CONFIG, f"linked_pos_device_id: no POS terminal {config.linked_pos_device_id}")
    elif config.auto_send_card_to_pos:
        raise FiscalError(Code.CONFIG, "auto_send_card_to_pos: needs linked_pos_device_id (the POS terminal to use)")
    _check_payment_codes(config, entry)
    if entry.check_config is not None:
        entry.check_config(config)
    folder = config.scan_folder
    if folder is not None and not (folder.isprintable() and os.path.isabs(folder)):
        raise FiscalError(Code.CONFIG, f"scan_folder: {config.scan_folder!r} is not an absolute path")


def _check_payment_codes(config: FiscalDeviceConfig, entry: Supported) -> None:
    """Only our payment types, each remapped to a code the model takes; a model without codes takes none."""
    remapped = config.payment_codes or {}
    codes = entry.payment_codes.get(config.model)
    if remapped and codes is None:
        raise FiscalError(Code.CONFIG, f"payment_codes: a {config.manufacturer} {config.model} register has no "
                                       "payment codes to remap; leave it out (or null)")
    for kind, code in remapped.items():
        if kind not in PAYMENT_TYPES:
            raise FiscalError(Code.CONFIG, f"payment_codes.{kind}: not a payment type (types: "
                                           f"{', '.join(PAYMENT_TYPES)})")
        if codes is not None and code not in codes:
            known = ", ".join(f"{c} ({name})" for c, name in codes.items())
            raise FiscalError(Code.CONFIG, f"payment_codes.{kind}: {code!r} is not a payment code of a "
                                           f"{config.manufacturer} {config.model} (codes: {known})")


def prepare_scan_folder(path: str, create: bool) -> None:
    """The scan folder must be an existing, readable and writable directory; ``create`` makes it first."""
    folder = Path(path)
    try:
        exists = folder.exists()
    except OSError as exc:
        raise FiscalError(Code.CONFIG, f"scan_folder: cannot access {path}: {exc.strerror}") from None
    if not exists:
        if not create:
            raise FiscalError(Code.CONFIG, f"scan_folder: {path} does not exist (send \"create_scan_folder\": true "
                                           "to create it)")
        try:
            folder.mkdir(parents=True)
        except OSError as exc:
            raise FiscalError(Code.CONFIG, f"scan_folder: cannot create {path}: {exc.strerror}") from None
    if not folder.is_dir():
        raise FiscalError(Code.CONFIG, f"scan_folder: {path} is not a directory")
    if not os.access(folder, os.R_OK | os.W_OK | os.X_OK):
        raise FiscalError(Code.CONFIG, f"scan_folder: {path} is not readable and writable by fiscald")


def bind_address_problem(address: str) -> str | None:
    """Why the server could not listen on ``address``, or None: not an IP address, an IPv4-mapped IPv6 address
    (``::ffff:127.0.0.1``; asyncio listens on IPv6 sockets for IPv6 only, so write the IPv4 address), or an
    address this machine does not have. Port clashes are for start-up to say (the port may be freed by then)."""
    if address == "localhost":
        return None
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return f"{address!r} is not an IP address or localhost"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return f"{address!r} is an IPv4-mapped IPv6 address, which fiscald cannot listen on; write {ip.ipv4_mapped}"
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        if family == socket.AF_INET6 and hasattr(socket, "IPPROTO_IPV6"):
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        try:
            sock.bind((address, 0))
        except OSError as exc:
            return f"{address} is not an address this machine can listen on ({exc.strerror or exc})"
    return None


def check_settings(settings: Settings, changed: set[str]) -> None:
    """Cross-field rules of the settings (the single fields are checked by the Settings model)."""
    address = settings.bind_address
    if "bind_address" in changed:  # a stored address is checked when saved, not by every later save
        problem = bind_address_problem(address)
        if problem is not None:
            raise FiscalError(Code.CONFIG, f"bind_address: {problem}")
    token = settings.api_token
    if token is not None and not all(0x20 < ord(ch) < 0x7F for ch in token):
        raise FiscalError(Code.CONFIG, "api_token: only printable ASCII characters without spaces")
    if token is None and not is_loopback(address):
        field = "api_token" if "api_token" in changed and "bind_address" not in changed else "bind_address"
        raise FiscalError(Code.CONFIG, f"{field}: binding to {address} (not loopback) requires an api_token "
                                       "of 16 or more characters")
    if settings.central_url is not None:
        problem = central_url.problem(settings.central_url)
        if problem is not None:
            raise FiscalError(Code.CONFIG, f"central_url: {problem}")
        if settings.store_id is None:
            raise FiscalError(Code.CONFIG, "store_id: required with central_url (the name this store ships under, "
                                           "unique in the chain)")
