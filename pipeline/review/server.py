"""Starting the review page: bind a local address, then serve the app until interrupted.

Werkzeug's threaded server (Flask's own): one curator on their own machine, so no production
server is needed, and it needs nothing beyond Flask.
"""
from __future__ import annotations

import errno
import ipaddress
import logging
import threading

from werkzeug.serving import make_server

from .app import allowed_hosts, create_app
from .session import ReviewSession, ReviewSettings


class RemoteRefused(ValueError):
    """A non-loopback address asked for without the explicit flag."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class ReviewServer:
    """The app bound to host:port (port 0: any free port); `url` is the address to open."""

    def __init__(self, settings: ReviewSettings, host: str = "127.0.0.1", port: int = 0,
                 allow_remote: bool = False):
        if not is_loopback(host) and not allow_remote:
            raise RemoteRefused(f"refusing to listen on {host}: the review page has no login, so anyone who "
                                "can reach that address could change your records; it listens on 127.0.0.1 "
                                "only, unless you pass --allow-remote")
        self.session = ReviewSession(settings)
        self.app = create_app(self.session, set())
        self.moved_from: int | None = None
        try:
            self.server = make_server(host, port, self.app, threaded=True)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE or port == 0:
                raise
            self.moved_from = port   # another program has it: any free port will do
            self.server = make_server(host, 0, self.app, threaded=True)
        self.host, self.port = host, self.server.server_port
        self.app.config["REVIEW_HOSTS"] = allowed_hosts(self.port, host)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)   # no line per request
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def serve_forever(self) -> None:
        self.server.serve_forever()

    def start(self) -> "ReviewServer":
        """Serve in a background thread (for tests and notebooks); `stop()` ends it."""
        self._thread = threading.Thread(target=self.server.serve_forever, name="review-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self._thread is not None:
            self._thread.join()
        self.session.pooling.wait(60)
