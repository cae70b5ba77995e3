"""The network gate: every connection Chromium opens goes through this loopback SOCKS5 proxy.

Chromium is started with ``--proxy-server=socks5://127.0.0.1:<port>`` and
``--proxy-bypass-list=<-loopback>`` (see :mod:`studio.web.flags`), so connections that never pass
the request interceptor (``<link rel=preconnect>``, speculative preconnects) reach this gate too.
The gate connects only to destinations the interceptor let through for an artifact whose Network
toggle is on; everything else is refused here, before any DNS lookup (SOCKS5 carries host names).
QUIC/WebTransport is not proxied by Chromium, so with the proxy set it never leaves the machine.

Qt-free: it runs on its own threads and calls ``on_blocked(host, port)`` from them.
"""

from __future__ import annotations

import logging
import socket
import struct
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

ALLOW_S = 120.0  # an allowed destination stays open this long after its last allowed request
MAX_CONNECTIONS = 64  # connections relayed at once (the rest are refused)
_IDLE_S = 300.0  # a relayed connection with no traffic for this long is closed


class NetGate:
    """A loopback SOCKS5 proxy that relays only to allowed (host, port) destinations.

    Args:
        on_blocked: called with (host, port) for every refused connection (from a gate thread).
    """

    def __init__(self, on_blocked: Callable[[str, int], None] | None = None) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._allowed: dict[tuple[str, int], float] = {}
        self._listeners: list[Callable[[str, int], None]] = [on_blocked] if on_blocked else []
        self._active = 0
        self.blocked_count = 0
        self.relayed_count = 0
        self._closed = False
        self._thread = threading.Thread(target=self._accept, name="studio-netgate", daemon=True)
        self._thread.start()

    # -- policy --------------------------------------------------------------------------
    def allow(self, host: str, port: int) -> None:
        """Let connections to ``host:port`` through for the next :data:`ALLOW_S` seconds."""
        with self._lock:
            self._allowed[(host.lower().strip("[]"), int(port))] = time.monotonic() + ALLOW_S

    def allowed(self, host: str, port: int) -> bool:
        """Whether a connection to ``host:port`` would be relayed now."""
        key = (host.lower().strip("[]"), int(port))
        with self._lock:
            until = self._allowed.get(key)
            if until is None:
                return False
            if until < time.monotonic():
                del self._allowed[key]
                return False
            return True

    def add_listener(self, fn: Callable[[str, int], None]) -> None:
        """Call ``fn(host, port)`` (from a gate thread) for each refused connection."""
        with self._lock:
            self._listeners.append(fn)

    def remove_listener(self, fn: Callable[[str, int], None]) -> None:
        """Stop calling ``fn``."""
        with self._lock:
            if fn in self._listeners:
                self._listeners.remove(fn)

    def close(self) -> None:
        """Stop accepting connections."""
        self._closed = True
        try:
            self._listener.close()
        except OSError:
            pass

    # -- the proxy -----------------------------------------------------------------------
    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(
                target=self._serve, args=(conn,), name="studio-netgate-conn", daemon=True
            ).start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        try:
            target = _handshake(conn)
        except (OSError, ValueError) as exc:
            log.debug("bad SOCKS request: %s", exc)
            conn.close()
            return
        host, port = target
        with self._lock:
            busy = self._active >= MAX_CONNECTIONS
        if busy or not self.allowed(host, port):
            self._refuse(conn, host, port)
            return
        try:
            upstream = socket.create_connection((host, port), timeout=10)
        except OSError:
            conn.sendall(b"\x05\x04\x00\x01" + b"\x00" * 6)  # host unreachable
            conn.close()
            return
        conn.sendall(b"\x05\x00\x00\x01" + b"\x00" * 6)
        with self._lock:
            self._active += 1
            self.relayed_count += 1
        try:
            _relay(conn, upstream)
        finally:
            with self._lock:
                self._active -= 1

    def _refuse(self, conn: socket.socket, host: str, port: int) -> None:
        try:
            conn.sendall(b"\x05\x02\x00\x01" + b"\x00" * 6)  # not allowed by ruleset
        except OSError:
            pass
        conn.close()
        with self._lock:
            self.blocked_count += 1
            listeners = list(self._listeners)
        log.info("connection to %s:%d refused (network off)", host, port)
        for fn in listeners:
            try:
                fn(host, port)
            except Exception:  # a listener must not kill the gate
                log.exception("net gate listener failed")


def _read(conn: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise ValueError("connection closed during the handshake")
        data += chunk
    return data


def _handshake(conn: socket.socket) -> tuple[str, int]:
    """The SOCKS5 greeting and CONNECT request: the (host, port) asked for."""
    version, count = _read(conn, 2)
    if version != 5:
        raise ValueError(f"not SOCKS5 (version {version})")
    methods = _read(conn, count)
    if 0 not in methods:
        conn.sendall(b"\x05\xff")
        raise ValueError("no acceptable auth method")
    conn.sendall(b"\x05\x00")
    version, cmd, _, atyp = _read(conn, 4)
    if atyp == 1:
        host = socket.inet_ntop(socket.AF_INET, _read(conn, 4))
    elif atyp == 3:
        host = _read(conn, _read(conn, 1)[0]).decode("ascii", errors="replace")  # Chromium sends punycode
    elif atyp == 4:
        host = socket.inet_ntop(socket.AF_INET6, _read(conn, 16))
    else:
        raise ValueError(f"bad address type {atyp}")
    (port,) = struct.unpack("!H", _read(conn, 2))
    if cmd != 1:
        conn.sendall(b"\x05\x07\x00\x01" + b"\x00" * 6)
        raise ValueError(f"unsupported command {cmd}")
    return host, port


def _relay(a: socket.socket, b: socket.socket) -> None:
    """Copy bytes both ways until either side closes."""
    for s in (a, b):
        s.settimeout(_IDLE_S)

    def pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while chunk := src.recv(65536):
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    other = threading.Thread(target=pump, args=(b, a), name="studio-netgate-relay", daemon=True)
    other.start()
    pump(a, b)
    other.join(_IDLE_S)
    a.close()
    b.close()


_gate: NetGate | None = None
_gate_lock = threading.Lock()


def process_gate() -> NetGate:
    """The process's one gate (Chromium's proxy flag is process-wide), started on first use."""
    global _gate
    with _gate_lock:
        if _gate is None:
            _gate = NetGate()
        return _gate


def current_gate() -> NetGate | None:
    """The process's gate if one was started (else None: Chromium was started without it)."""
    return _gate
