"""Listen and upstream addresses: Go's host:port syntax, and the policy that keeps the
proxy on this host unless the operator says otherwise."""

from __future__ import annotations

import pytest

from gameday.proxy.addresses import Policy, check_listen, check_upstream, split_host_port
from gameday.proxy.errors import ApiError

DEFAULT = Policy()
REMOTE = Policy(allow_remote=True)
PUBLIC = Policy(allow_public_upstreams=True)


def _refusal(call: object) -> str:
    assert callable(call)
    with pytest.raises(ApiError) as caught:
        call()
    assert caught.value.status == 400
    return caught.value.message


@pytest.mark.parametrize(
    ("address", "expected"),
    [("127.0.0.1:80", ("127.0.0.1", 80)), ("[::1]:0", ("::1", 0)), (":8474", ("", 8474))],
)
def test_split_host_port(address: str, expected: tuple[str, int]) -> None:
    assert split_host_port(address) == expected


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("localhost", "missing port"),
        ("127.0.0.1:99999", "0..65535"),
        ("127.0.0.1:65536", "0..65535"),
        ("127.0.0.1:-1", "must be a number"),
        ("127.0.0.1:\u0661\u0662", "must be a number"),  # Arabic-Indic digits: int() reads them
        ("127.0.0.1:" + "9" * 5000, "0..65535"),  # more digits than int() accepts
        ("::1:80", "too many colons"),
    ],
)
def test_bad_syntax_is_a_400_naming_the_problem(address: str, reason: str) -> None:
    assert reason in _refusal(lambda: split_host_port(address))


@pytest.mark.parametrize(
    "listen", ["127.0.0.1:0", "127.0.0.2:15432", "localhost:0", "[::1]:0", "[::ffff:127.0.0.1]:0"]
)
def test_loopback_listens_need_nothing(listen: str) -> None:
    assert check_listen(listen, DEFAULT).loopback


@pytest.mark.parametrize(
    "listen", ["0.0.0.0:0", "[::]:0", ":0", "10.0.0.5:0", "203.0.113.5:80", "proxy:15432"]
)
def test_listening_beyond_loopback_needs_allow_remote(listen: str) -> None:
    assert "--allow-remote" in _refusal(lambda: check_listen(listen, DEFAULT))
    assert not check_listen(listen, REMOTE).loopback


@pytest.mark.parametrize("listen", ["0:0", "127.1:0", "0x7f.1:0"])
def test_shorthand_ipv4_cannot_pass_as_a_host_name(listen: str) -> None:
    # The resolver reads '0' as 0.0.0.0: as a "host name" it would dodge the policy.
    assert "four decimal numbers" in _refusal(lambda: check_listen(listen, REMOTE))


@pytest.mark.parametrize(
    "upstream",
    [
        "postgres:5432",  # compose service names, as in stack/config/proxies.json
        "gd-proxy-image-echo-1a2b:7000",
        "project_redis_1:6379",
        "127.0.0.1:5432",
        "10.1.2.3:1",
        "172.18.0.2:5432",
        "192.168.1.1:80",
        "100.64.0.1:80",
        "[fd00::1]:80",
        "[::ffff:10.0.0.1]:5432",
    ],
)
def test_names_and_local_upstreams_need_nothing(upstream: str) -> None:
    check_upstream(upstream, DEFAULT)


@pytest.mark.parametrize(
    "upstream", ["203.0.113.5:5432", "8.8.8.8:53", "[2001:db8::1]:80", "0.0.0.0:5432"]
)
def test_public_upstreams_need_allow_public_upstreams(upstream: str) -> None:
    assert "--allow-public-upstreams" in _refusal(lambda: check_upstream(upstream, DEFAULT))
    assert "--allow-public-upstreams" in _refusal(lambda: check_upstream(upstream, REMOTE))
    check_upstream(upstream, PUBLIC)


@pytest.mark.parametrize(
    ("upstream", "reason"),
    [
        ("postgres", "missing port"),
        ("postgres:0", "1..65535"),
        (":5432", "missing host"),
        ("postgres:99999", "0..65535"),
        ("bad host!:1", "neither an IP address nor a host name"),
        ("a" * 300 + ":1", "neither an IP address nor a host name"),
    ],
)
def test_an_upstream_needs_a_host_and_a_port(upstream: str, reason: str) -> None:
    assert reason in _refusal(lambda: check_upstream(upstream, PUBLIC))
