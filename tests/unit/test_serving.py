"""ArtifactServer: pages by revision, data files, one origin per artifact, clean errors."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from studio.core.serving import ArtifactServer, NotFound, host_for


def _split(url: str) -> tuple[str, str, str]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.path, parts.query


def test_put_page_returns_a_url_that_resolves_to_the_page() -> None:
    server = ArtifactServer()
    url = server.put_page("abc", "<p>é</p>")
    assert url == "artifact://abc/index.html?r=1"
    mime, data = server.resolve(*_split(url))
    assert mime.startswith("text/html") and "utf-8" in mime
    assert data.decode("utf-8") == "<p>é</p>"


def test_revisions_are_kept_a_while_and_latest_is_the_default() -> None:
    server = ArtifactServer()
    urls = [server.put_page("a", f"v{n}") for n in range(1, 7)]
    assert urls[-1].endswith("?r=6")
    assert server.resolve("a", "/index.html", "r=5")[1] == b"v5"
    assert server.resolve("a", "/index.html")[1] == b"v6"
    assert server.resolve("a", "/")[1] == b"v6"
    with pytest.raises(NotFound):
        server.resolve("a", "/index.html", "r=1")  # dropped


def test_data_files_are_per_artifact() -> None:
    server = ArtifactServer()
    server.put_page("one", "x")
    server.put_page("two", "y")
    assert server.put_file("one", "x.csv", "text/csv", b"1,2") == "artifact://one/data/x.csv"
    assert server.resolve("one", "/data/x.csv") == ("text/csv", b"1,2")
    with pytest.raises(NotFound):
        server.resolve("two", "/data/x.csv")
    assert server.files("one") == {"x.csv": ("text/csv", b"1,2")}
    server.put_file("one", "plot.png", "", b"\x89PNG")
    assert server.resolve("one", "/data/plot.png")[0] == "image/png"
    server.put_file("one", "my data (1) é.csv", "text/csv", b"z")
    assert server.resolve("one", "/data/my data (1) é.csv") == ("text/csv", b"z")


@pytest.mark.parametrize("name", ["../x", "a/b", "", "..", "a\\b", "a\nb", "x" * 256])
def test_file_names_must_be_plain(name: str) -> None:
    with pytest.raises(ValueError):
        ArtifactServer().put_file("a", name, "text/plain", b"")


def test_unknown_hosts_and_paths_are_not_found() -> None:
    server = ArtifactServer()
    server.put_page("a", "x")
    for host, path in [
        ("b", "/index.html"),
        ("a", "/other.html"),
        ("a", "/data/"),
        ("a", "/data/../index.html"),
    ]:
        with pytest.raises(NotFound):
            server.resolve(host, path)
    server.remove("a")
    with pytest.raises(NotFound):
        server.resolve("a", "/index.html")


def test_ids_map_to_distinct_valid_hosts() -> None:
    assert host_for("msg-12") == "msg-12"
    hosts = {host_for(i) for i in ["Msg_1", "msg-1", "msg 1", "MSG/1", "a" * 80]}
    assert len(hosts) == 5
    for host in hosts:
        assert host == host.lower() and len(host) <= 63
        assert all(c.isalnum() or c == "-" for c in host)
    server = ArtifactServer()
    url = server.put_page("Msg_1/v2", "z")
    assert server.resolve(*_split(url))[1] == b"z"
    with pytest.raises(ValueError):
        host_for("")
