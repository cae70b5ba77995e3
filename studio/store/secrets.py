"""API keys for OpenAI-compatible servers, kept in the system keyring (never in settings.json).

Keys are stored under the service ``"artifacts-studio"`` with the server's normalised base URL as
the user name, so ``http://host:8080``, ``http://host:8080/`` and ``http://host:8080/v1`` share one
key. Without a usable keyring (a headless Linux box has none), :func:`set_api_key` says so and
:func:`get_api_key` returns None; the ``STUDIO_API_KEY`` environment variable covers headless use.
Key values are never logged.
"""

from __future__ import annotations

import logging
import os
from urllib.parse import urlsplit

from studio.engine.base import EngineError

log = logging.getLogger(__name__)

SERVICE = "artifacts-studio"
ENV_KEY = "STUDIO_API_KEY"
# The server $STUDIO_API_KEY belongs to: $STUDIO_API_KEY_URL, else $STUDIO_BASE_URL. It is sent
# nowhere else (a key in the environment must not follow a --base-url to another host).
ENV_KEY_URL = "STUDIO_API_KEY_URL"
ENV_BASE_URL = "STUDIO_BASE_URL"
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})

_SUFFIXES = ("/chat/completions", "/completions", "/models")


def normalize_base_url(url: str) -> str:
    """The API root of an OpenAI-compatible server, in one canonical form.

    Adds ``http://`` when no scheme is given, lower-cases scheme and host, drops user info, query,
    fragment, trailing slashes and a pasted endpoint (``/chat/completions``, ``/models``); a bare
    host gets ``/v1``. ``"localhost:8080/"`` -> ``"http://localhost:8080/v1"``.

    Raises:
        EngineError: not an http(s) URL with a host.
    """
    text = url.strip()
    if not text:
        raise EngineError("the server address is empty")
    if "://" not in text:
        text = "http://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise EngineError(f"{url!r} is not a valid server address: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise EngineError(f"{url!r} is not an http(s) server address (e.g. http://127.0.0.1:8080/v1)")
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    path = parts.path.rstrip("/")
    for suffix in _SUFFIXES:
        if path.endswith(suffix):
            path = path[: -len(suffix)].rstrip("/")
            break
    netloc = host if port is None else f"{host}:{port}"
    return f"{scheme}://{netloc}{path or '/v1'}"


def _usable(backend: object) -> bool:
    from keyring.backends import chainer, fail

    if isinstance(backend, fail.Keyring):
        return False
    if isinstance(backend, chainer.ChainerBackend):
        return any(_usable(b) for b in backend.backends)
    if type(backend).__module__ == "keyring.backends.null":
        return False
    try:
        return float(backend.priority) > 0  # type: ignore[attr-defined]
    except Exception:  # a backend that cannot tell its priority cannot be trusted either
        return False


def keyring_available() -> bool:
    """True when a real system keyring backend is there to store keys in."""
    try:
        import keyring
    except ImportError:
        return False
    try:
        return _usable(keyring.get_keyring())
    except Exception as exc:
        log.warning("the system keyring cannot be used: %s", type(exc).__name__)
        return False


def get_api_key(base_url: str) -> str | None:
    """The key stored for ``base_url``, or None (no key, no keyring, or the keyring failed)."""
    if not keyring_available():
        return None
    import keyring

    try:
        return keyring.get_password(SERVICE, normalize_base_url(base_url)) or None
    except EngineError:
        return None
    except Exception as exc:  # locked or broken keyring: behave as if no key were stored
        log.warning("could not read the API key from the system keyring: %s", type(exc).__name__)
        return None


def set_api_key(base_url: str, key: str) -> None:
    """Store ``key`` for ``base_url`` in the system keyring (an empty key deletes it).

    Raises:
        EngineError: no usable keyring, a bad URL, or the keyring refused the key.
    """
    user = normalize_base_url(base_url)
    key = key.strip()
    if not key:
        delete_api_key(base_url)
        return
    if not keyring_available():
        raise EngineError(
            "No system keyring is available: install and unlock one (e.g. GNOME Keyring, KWallet, "
            f"macOS Keychain, Windows Credential Manager), or set {ENV_KEY} in the environment"
        )
    import keyring

    try:
        keyring.set_password(SERVICE, user, key)
    except Exception as exc:
        raise EngineError(f"the system keyring did not store the API key: {type(exc).__name__}") from None
    log.info("stored an API key for %s in the system keyring", user)


def delete_api_key(base_url: str) -> None:
    """Forget the key stored for ``base_url`` (nothing happens when there is none or no keyring)."""
    if not keyring_available():
        return
    import keyring
    from keyring.errors import PasswordDeleteError

    user = normalize_base_url(base_url)
    try:
        keyring.delete_password(SERVICE, user)
    except PasswordDeleteError:
        return
    except Exception as exc:
        raise EngineError(f"the system keyring did not delete the API key: {type(exc).__name__}") from None
    log.info("deleted the API key for %s from the system keyring", user)


def resolve_api_key(base_url: str, explicit: str | None = None) -> tuple[str | None, str]:
    """The key to send to ``base_url`` and where it came from.

    Order: ``explicit``, the keyring entry for ``base_url``, ``$STUDIO_API_KEY`` (only when
    ``base_url`` is the server it belongs to: :func:`env_key_owner`), none.

    Returns:
        (key or None, "argument" | "keyring" | "environment" | "none")
    """
    if explicit:
        return explicit, "argument"
    if key := get_api_key(base_url):
        return key, "keyring"
    if key := os.environ.get(ENV_KEY, "").strip():
        owner = env_key_owner()
        if owner is not None and owner == _normalized(base_url):
            return key, "environment"
        log.warning(
            "%s is not sent to %s: it belongs to %s (set %s to the server it is for)",
            ENV_KEY,
            _normalized(base_url) or base_url,
            owner or "no server",
            ENV_KEY_URL,
        )
    return None, "none"


def env_key_owner() -> str | None:
    """The normalised base URL ``$STUDIO_API_KEY`` belongs to (``$STUDIO_API_KEY_URL``, else
    ``$STUDIO_BASE_URL``), or None when neither names a valid server."""
    for var in (ENV_KEY_URL, ENV_BASE_URL):
        if value := os.environ.get(var, "").strip():
            return _normalized(value)
    return None


def _normalized(url: str) -> str | None:
    try:
        return normalize_base_url(url)
    except EngineError:
        return None


def is_loopback(base_url: str) -> bool:
    """Whether ``base_url`` names this machine (localhost, 127.x.x.x, ::1)."""
    host = (urlsplit(_normalized(base_url) or "").hostname or "").lower()
    return host in _LOOPBACK_HOSTS or host.startswith("127.")


def insecure_key_warning(base_url: str) -> str | None:
    """A warning when a key would travel unencrypted (plain http to another machine), else None."""
    norm = _normalized(base_url)
    if norm is None or not norm.startswith("http://") or is_loopback(norm):
        return None
    host = urlsplit(norm).hostname
    return (
        f"Warning: {host} is reached over plain http, so the API key is sent unencrypted and "
        "anyone on the network path can read it. Use https:// for a remote server."
    )


__all__ = [
    "ENV_KEY",
    "ENV_KEY_URL",
    "SERVICE",
    "delete_api_key",
    "env_key_owner",
    "get_api_key",
    "insecure_key_warning",
    "is_loopback",
    "keyring_available",
    "normalize_base_url",
    "resolve_api_key",
    "set_api_key",
]
