"""`viper view --web`: textual-serve's server, guarded for a machine that also records.

Loopback only is not private: every web page open in the user's browser can reach 127.0.0.1, and
every websocket starts a viewer process. So, as Jupyter does, the server makes a secret at start
and prints the URL carrying it; on top of textual-serve's own aiohttp app (a subclass, adding one
middleware) every request must

- name this server in its Host header (a DNS-rebinding page names its own host),
- come from no page, or from this server's own page (Origin), and
- carry the token: `?token=` in the printed URL, then a cookie the page gets with it, so its
  websocket (whose URL textual-serve builds without a query of ours) carries it too.

Static files (textual-serve's script, fonts) need only the Host check. At most `max_sessions`
viewers run at once; one more is refused with 503 rather than started, so no number of tabs
can push the recorder towards the OOM killer.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable

from aiohttp import web
from textual_serve.server import Server

DEFAULT_MAX_SESSIONS = 4
HOST = "127.0.0.1"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class GuardedServer(Server):
    """textual-serve's Server on 127.0.0.1 behind a token, a Host and Origin check and a session cap."""

    def __init__(self, command: str, port: int, title: str, max_sessions: int = DEFAULT_MAX_SESSIONS,
                 token: str | None = None) -> None:
        # exec: the shell textual-serve starts each viewer with becomes the viewer, one process a tab
        super().__init__(f"exec {command}", host=HOST, port=port, title=title)
        self.token = token or secrets.token_urlsafe(32)
        self.max_sessions = max_sessions
        self.sessions = 0
        hosts = {f"{HOST}:{port}", f"localhost:{port}"}
        if port == 80:
            hosts |= {HOST, "localhost"}
        self._hosts = frozenset(hosts)
        self._origins = frozenset(f"http://{h}" for h in hosts)
        self._cookie = f"viper-view-{port}"  # cookies ignore the port: one name per server

    @property
    def url(self) -> str:
        """What to open in the browser: the page, with the token."""
        return f"{self.public_url}/?token={self.token}"

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(self._guard)
        return app

    async def on_startup(self, app: web.Application) -> None:
        """Quiet: `viper view` prints the one line that matters, the URL with its token."""

    def _has_token(self, request: web.Request) -> bool:
        expected = self.token.encode()
        offered = (request.query.get("token"), request.cookies.get(self._cookie))
        return any(hmac.compare_digest(o.encode(), expected) for o in offered if o is not None)

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.headers.get("Host") not in self._hosts:
            raise web.HTTPForbidden(text=f"viper view: serves only http://{HOST}:{self.port}/ (Host "
                                         f"{request.headers.get('Host')!r} refused)\n")
        origin = request.headers.get("Origin")
        if origin is not None and origin not in self._origins:
            raise web.HTTPForbidden(text=f"viper view: requests from pages of {origin} are refused\n")
        if request.path.startswith("/static/"):
            return await handler(request)
        if not self._has_token(request):
            raise web.HTTPForbidden(text="viper view: open the URL `viper view --web` printed, with its "
                                         "?token=\n")
        if request.path in ("/", "/ws") and self.sessions >= self.max_sessions:
            raise web.HTTPServiceUnavailable(
                text=f"viper view: all {self.max_sessions} viewer sessions are in use (--max-sessions); "
                     "close a tab and reload\n", headers={"Retry-After": "5"})
        if request.path == "/ws":
            self.sessions += 1  # no await between the check and here: the cap holds
            try:
                return await handler(request)
            finally:
                self.sessions -= 1
        response = await handler(request)
        if response.prepared:  # a download streams its own headers
            return response
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        if request.path == "/" and request.query.get("token") is not None:
            response.set_cookie(self._cookie, self.token, httponly=True, samesite="Strict", path="/")
        return response
