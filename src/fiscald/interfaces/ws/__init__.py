"""The WebSocket API (docs/websocket.md): envelopes with action codes, concurrent requests on one connection,
asynchronous operations and pushed events.

Only translation lives here: envelope -> :class:`Operation` -> ``DeviceManager.execute`` -> reply and event
envelopes. Every error is a :class:`FiscalError` from the one table, in the same ``{"status", "error"}`` shape.

- :mod:`.protocol`: limits, payload models, envelope parsing and the reply/event shapes;
- :mod:`.connection`: one connection's reader, writer and flow control;
- :mod:`.actions`: what each action does;
- :mod:`.tracking`: where a submitted operation is (``operation.get``);
- :mod:`.endpoint`: the ``/ws`` route and the server options it relies on.
"""

from fiscald.interfaces.ws.endpoint import UVICORN_OPTIONS, build_ws_router

__all__ = ["UVICORN_OPTIONS", "build_ws_router"]
