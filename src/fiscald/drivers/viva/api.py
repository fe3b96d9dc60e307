"""Viva.com's two terminal APIs on the wire, behind one small interface (:class:`TerminalApi`).

Both APIs are sessions keyed by an id the ECR chooses: a POST starts a transaction under ``sessionId``, the
terminal answers at once (it is then waiting for the card), and the ECR polls the session until it holds the
outcome [S17][S18]. The driver (driver.py) chooses and stores the session id; this module only speaks HTTP.

Sources (docs/devices.md, "Viva.com"):
- [S17] developer.viva.com/apis-for-point-of-sale/card-terminals-devices/peer-to-peer-communication: Local
  Terminal API, HTTP to the terminal's LAN address, the terminal answers "PROCESSING", the ECR polls.
- [S18] developer.viva.com/apis-for-point-of-sale/card-terminals-devices/rest-api: Cloud Terminal API (ECR polls
  the REST service); webhooks 1802/1803 list the session's fields (Success, EventId, Message, SessionId,
  TerminalId, TransactionId, AbortOperation, AbortSuccess, CurrencyCode, ...).
- [S20] odoo/odoo addons/pos_viva_com: models/pos_payment_method.py (token: POST {accounts}/connect/token with
  HTTP basic client_id:client_secret and grant_type=client_credentials; calls under {api}/ecr/v1/; refund goes
  to transactions:refund with parentSessionId else transactions:unreferenced-refund; abort is
  DELETE sessions/{id}?cashRegisterId=...; demo-/live hosts; a 202 is retried while polling) and
  static/src/app/payment_viva_com.js (the sale body: sessionId, terminalId, cashRegisterId, amount in minor
  units, currencyCode as the ISO numeric code in a string, merchantReference, customerTrns, preauth false,
  maxInstalments 0, tipAmount 0; the session answer read as sessionId, success, transactionId,
  applicationLabel).
- [S21] QrCommunication/sdk-php-viva-local-terminal v1.0.0 release notes: the local API lives under /pos/v1 at
  the terminal's IP:port, without authentication, with transactions sale, refund, unreferenced-refund, abort
  and sessions get. The local API reference itself was not readable: its request and answer fields are taken
  to be the cloud API's (marked [unverified] in docs/devices.md).
- [S23] developer.viva.com/apis-for-point-of-sale/card-terminals-devices/rest-api ("This integration supports ISV
  scheme"; the ECR sends "either the merchant endpoint Sales Request or the ISV endpoint Sales Request (ISV)") and
  developer.viva.com/getting-started/find-your-account-credentials/isv-credentials (an ISV partner's client ID and
  client secret, from the ISV account's Settings > API Access > ISV Credentials, authenticate with OAuth 2.0).
- [S24] QrCommunication/sdk-php-viva-isv (MIT), src/Resources/EcrTerminals.php and openapi.yaml (EcrSaleRequest,
  EcrEventId): the ISV variant lives under /ecr/isv/v1 with the ISV's bearer token (src/HttpClient.php: the same
  client-credentials token call); the sale body is sessionId, terminalId (a number), cashRegisterId, amount,
  currencyCode (a number), merchantReference, tipAmount and isvDetails {amount: the ISV's fee in minor units,
  terminalMerchantId: the merchant owning the terminal}; a refund is transactions:refund with parentSessionId,
  currencyCode as a string and isvDetails {terminalMerchantId}; sessions are read at sessions/{id}, where eventId
  1100 means still in progress; abort is GET sessions:abort/{id}?cashRegisterId=...; no unreferenced refund.
"""

from __future__ import annotations

import abc
import time
from dataclasses import dataclass
from typing import Any

import httpx

IN_PROGRESS = 1100  # a session's eventId while the terminal still works on it [S24]
TIMEOUT_S = 10.0  # one HTTP exchange (Odoo's client uses 10 s [S20])
CHECK_TIMEOUT_S = 3.0  # the reachability check at start-up and in pos_status
# accounts and API hosts of each environment [S20]
HOSTS = {
    "demo": ("https://demo-accounts.vivapayments.com", "https://demo-api.vivapayments.com"),
    "live": ("https://accounts.vivapayments.com", "https://api.vivapayments.com"),
}


class Unreachable(Exception):
    """No answer. ``sent`` False: the request certainly did not arrive (connection refused)."""

    def __init__(self, detail: str, sent: bool) -> None:
        super().__init__(detail)
        self.detail = detail
        self.sent = sent


class NotFound(Exception):
    """The terminal (or the cloud) has no session with this id."""


class Refused(Exception):
    """The request was answered with an error status: nothing was started."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.body = body


class AuthFailed(Exception):
    """The cloud refused the client credentials."""


@dataclass(frozen=True)
class Request:
    """One transaction request: ``kind`` is sale, refund or unreferenced-refund (the endpoint's name)."""

    kind: str
    session_id: str
    amount: int  # minor units
    currency_code: str  # ISO 4217 numeric, as a string [S20]
    reference: str
    parent_session_id: str | None = None


class TerminalApi(abc.ABC):
    """Start a transaction, read a session, abort one; raises the exceptions above."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self._timeout = TIMEOUT_S

    unreferenced_refund = True  # the API has transactions:unreferenced-refund

    @property
    @abc.abstractmethod
    def terminal_id(self) -> str:
        """The terminal's id as results show it (until a session names it)."""

    @abc.abstractmethod
    async def start(self, request: Request) -> None: ...

    @abc.abstractmethod
    async def session(self, session_id: str) -> dict[str, Any] | None:
        """The finished session, or None while it is in progress; NotFound when there is none."""

    @abc.abstractmethod
    async def abort(self, session_id: str) -> None: ...

    async def reachable(self) -> None:
        """Raise Unreachable/AuthFailed when the terminal (or the cloud) cannot be used."""
        self._timeout = CHECK_TIMEOUT_S
        try:
            await self.session("00000000-0000-4000-8000-000000000000")
        except NotFound:
            return
        finally:
            self._timeout = TIMEOUT_S

    async def close(self) -> None:
        await self.client.aclose()

    async def _call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self.client.request(method, url, timeout=self._timeout, **kwargs)
        except httpx.ConnectError as exc:
            raise Unreachable(f"{type(exc).__name__} to {url.split('?')[0]}", sent=False) from None
        except httpx.HTTPError as exc:  # a timeout or a dropped connection: the request may have arrived
            raise Unreachable(f"{type(exc).__name__} from {url.split('?')[0]}", sent=True) from None

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            return response.text[:200]


class LocalApi(TerminalApi):
    """The Local Terminal API: HTTP to the terminal's LAN address, no authentication [S17][S21]."""

    def __init__(self, client: httpx.AsyncClient, host: str, port: int, cash_register_id: str) -> None:
        super().__init__(client)
        address = f"[{host}]" if ":" in host else host
        self.base = f"http://{address}:{port}/pos/v1"
        self.cash_register_id = cash_register_id
        self._terminal_id = f"{host}:{port}"

    @property
    def terminal_id(self) -> str:
        return self._terminal_id

    async def start(self, request: Request) -> None:
        body: dict[str, Any] = {
            "sessionId": request.session_id, "cashRegisterId": self.cash_register_id, "amount": request.amount,
            "currencyCode": request.currency_code, "merchantReference": request.reference,
            "customerTrns": request.reference, "tipAmount": 0,
        }
        if request.kind == "sale":
            body.update(preauth=False, maxInstalments=0)
        if request.parent_session_id is not None:
            body["parentSessionId"] = request.parent_session_id
        response = await self._call("POST", f"{self.base}/transactions:{request.kind}", json=body)
        if response.status_code != 200:
            raise Refused(response.status_code, self._json(response))

    async def session(self, session_id: str) -> dict[str, Any] | None:
        response = await self._call("GET", f"{self.base}/sessions/{session_id}")
        if response.status_code == 404:
            raise NotFound(session_id)
        if response.status_code != 200:
            raise Refused(response.status_code, self._json(response))
        body = self._json(response)
        if not isinstance(body, dict):
            raise Refused(response.status_code, body)
        if body.get("state") == "PROCESSING":  # the terminal still waits for the card [S17]
            return None
        if session_id != body.get("sessionId"):
            raise Refused(response.status_code, {"detail": "the answer is about another session"})
        return body

    async def abort(self, session_id: str) -> None:
        body = {"sessionId": session_id, "cashRegisterId": self.cash_register_id}
        response = await self._call("POST", f"{self.base}/transactions:abort", json=body)
        if response.status_code == 404:
            raise NotFound(session_id)
        if response.status_code != 200:
            raise Refused(response.status_code, self._json(response))


@dataclass(frozen=True)
class Isv:
    """The ISV variant: the partner's credentials act for ``merchant_id``, which owns the terminal [S23][S24]."""

    merchant_id: str
    fee_bp: int  # the ISV's fee on each sale, in basis points of its amount [ours: Viva takes the amount]

    def fee(self, amount: int) -> int:
        return (amount * self.fee_bp + 5000) // 10000  # round half up, as every percentage in fiscald


class CloudApi(TerminalApi):
    """The Cloud Terminal API with an OAuth2 client-credentials token: the merchant's ``/ecr/v1`` [S18][S20], or
    with ``isv`` an ISV partner's ``/ecr/isv/v1`` [S23][S24]."""

    def __init__(self, client: httpx.AsyncClient, *, environment: str, client_id: str, client_secret: str,
                 terminal_id: str, cash_register_id: str, accounts_url: str | None, api_url: str | None,
                 isv: Isv | None = None) -> None:
        super().__init__(client)
        accounts, api = HOSTS[environment]
        self.accounts = accounts_url or accounts
        self.isv = isv
        self.api = f"{api_url or api}/ecr/{'isv/v1' if isv else 'v1'}"
        self.unreferenced_refund = isv is None  # no source shows one on the ISV endpoints [S24]
        self._credentials = (client_id, client_secret)
        self._terminal_id = terminal_id
        self.cash_register_id = cash_register_id
        self._token: str | None = None
        self._expires = 0.0

    @property
    def terminal_id(self) -> str:
        return self._terminal_id

    async def _bearer(self, renew: bool = False) -> str:
        if self._token is None or renew or time.monotonic() >= self._expires:
            response = await self._call("POST", f"{self.accounts}/connect/token",
                                        data={"grant_type": "client_credentials"},
                                        auth=httpx.BasicAuth(*self._credentials))
            body = self._json(response)
            token = body.get("access_token") if isinstance(body, dict) else None
            if response.status_code != 200 or not isinstance(token, str):
                raise AuthFailed(f"the token service answered HTTP {response.status_code}")
            lifetime = body.get("expires_in")
            seconds = float(lifetime) if isinstance(lifetime, int | float) else 300.0
            self._token, self._expires = token, time.monotonic() + max(0.0, seconds - 30)
        return self._token

    async def _authorized(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One API call; an expired or revoked token is renewed once (Odoo does the same on 'Could not validate
        credentials' [S20])."""
        response = await self._call(method, f"{self.api}/{path}",
                                    headers={"Authorization": f"Bearer {await self._bearer()}"}, **kwargs)
        if response.status_code == 401:
            response = await self._call(method, f"{self.api}/{path}",
                                        headers={"Authorization": f"Bearer {await self._bearer(renew=True)}"},
                                        **kwargs)
            if response.status_code == 401:
                raise AuthFailed("the API refused a fresh token")
        return response

    def _body(self, request: Request) -> dict[str, Any]:
        body: dict[str, Any] = {
            "sessionId": request.session_id, "terminalId": self._terminal_id,
            "cashRegisterId": self.cash_register_id, "amount": request.amount,
            "currencyCode": request.currency_code, "merchantReference": request.reference,
        }
        if self.isv is not None:  # the ISV bodies as the ISV client sends them [S24]
            if self._terminal_id.isdigit():
                body["terminalId"] = int(self._terminal_id)
            details: dict[str, Any] = {"terminalMerchantId": self.isv.merchant_id}
            if request.kind == "sale":
                body.update(currencyCode=int(request.currency_code), tipAmount=0)
                details = {"amount": self.isv.fee(request.amount), **details}
            body["isvDetails"] = details
        elif request.kind == "sale":  # the rest of the sale body exactly as Odoo sends it [S20]
            body.update(customerTrns=" ", preauth=False, maxInstalments=0, tipAmount=0)
        if request.parent_session_id is not None:
            body["parentSessionId"] = request.parent_session_id
        return body

    async def start(self, request: Request) -> None:
        response = await self._authorized("POST", f"transactions:{request.kind}", json=self._body(request))
        if response.status_code != 200:
            raise Refused(response.status_code, self._json(response))

    async def session(self, session_id: str) -> dict[str, Any] | None:
        response = await self._authorized("GET", f"sessions/{session_id}")
        if response.status_code == 202:  # in progress [S20: Odoo retries on 202 while polling]
            return None
        if response.status_code == 404:
            raise NotFound(session_id)
        if response.status_code != 200:
            raise Refused(response.status_code, self._json(response))
        body = self._json(response)
        if isinstance(body, dict) and body.get("eventId") == IN_PROGRESS:  # [S24]
            return None
        if not isinstance(body, dict) or body.get("sessionId") != session_id:
            raise Refused(response.status_code, {"detail": "the answer is not this session"})
        return body

    async def abort(self, session_id: str) -> None:
        params = {"cashRegisterId": self.cash_register_id}
        if self.isv is not None:  # [S24]
            response = await self._authorized("GET", f"sessions:abort/{session_id}", params=params)
        else:  # [S20]
            response = await self._authorized("DELETE", f"sessions/{session_id}", params=params)
        if response.status_code == 404:
            raise NotFound(session_id)
        if response.status_code != 200:
            raise Refused(response.status_code, self._json(response))

    async def reachable(self) -> None:
        self._timeout = CHECK_TIMEOUT_S
        try:
            await self._bearer()
        finally:
            self._timeout = TIMEOUT_S
        await super().reachable()
