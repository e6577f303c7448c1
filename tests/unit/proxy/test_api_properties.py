"""Properties of the HTTP API, against a running server: whatever the method, path and body
(or bytes that are not HTTP at all), the answer is a valid result or Toxiproxy's JSON
error with a 4xx status; never a 500, never a hang (every request has a timeout), and the
server serves on afterwards.

One 500 is the machine's and not the input's, as in Toxiproxy: re-enabling a proxy (an
update, a reset) binds the port it had, and the kernel may have given that port to a proxy
created since. The property allows exactly that answer, and no other 5xx.
"""

from __future__ import annotations

import json
import socket
import string
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from proxytest import Background, recv_exactly, start_background, stop_background

from gameday.proxy.limits import Limits
from gameday.proxy.toxics import REGISTRY

LIMITS = Limits(
    max_proxies=20,
    max_body_bytes=64 * 1024,
    max_api_connections=32,
    header_timeout_s=0.5,
    body_timeout_s=0.5,
)
TIMEOUT_S = (5.0, 10.0)  # connect, read: a hang fails the example
FAST = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def server() -> Iterator[Background]:
    bg, thread = start_background(limits=LIMITS)
    # A proxy and a toxic for the random requests to find (and maybe change or delete).
    body = {"name": "a", "listen": "127.0.0.1:0", "upstream": bg.echo_address}
    assert requests.post(f"{bg.api}/proxies", json=body, timeout=5).status_code == 201
    toxic = {"type": "latency", "attributes": {"latency": 1}}
    assert requests.post(f"{bg.api}/proxies/a/toxics", json=toxic, timeout=5).status_code == 200
    yield bg
    _still_serves(bg)
    stop_background(bg, thread)


def _still_serves(bg: Background) -> None:
    assert requests.get(f"{bg.api}/version", timeout=5).status_code == 200
    requests.post(f"{bg.api}/reset", timeout=5)
    body = {"name": "after", "listen": "127.0.0.1:0", "upstream": bg.echo_address}
    requests.delete(f"{bg.api}/proxies/after", timeout=5)
    created = requests.post(f"{bg.api}/proxies", json=body, timeout=5)
    if created.status_code == 400:  # the random requests reached the limit of proxies
        for name in requests.get(f"{bg.api}/proxies", timeout=5).json():
            requests.delete(f"{bg.api}/proxies/{name}", timeout=5)
        created = requests.post(f"{bg.api}/proxies", json=body, timeout=5)
    assert created.status_code == 201, created.text
    port = int(created.json()["listen"].rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"still")
        assert recv_exactly(sock, 5) == b"still"


# -- strategies ------------------------------------------------------------------------------

FIELDS = ["name", "listen", "upstream", "enabled", "type", "stream", "toxicity", "attributes"]
ATTRIBUTES = sorted({"latency", "jitter", "rate", "delay", "timeout", "bytes", "average_size"})
names = (
    st.sampled_from(["a", "b", "latency_downstream"])
    | st.sampled_from(["x" * 256, "a/b", "tab\t", ""])
    | st.text(max_size=12)
)
hosts = st.sampled_from(
    [
        *("127.0.0.1", "localhost", "127.0.0.2", "[::1]", "::1"),
        *("0.0.0.0", "[::]", "", "0", "127.1", "203.0.113.5", "10.0.0.1", "postgres", "bad host"),
    ]
)
# Port 0, or ports the API must refuse: a fixed port may be in use or privileged.
listen_ports = st.sampled_from(["0", "-1", "65536", "99999", "", "x", "9" * 30, "\u0661"])
upstream_ports = st.sampled_from(["1", "5432", "0", "65535", "65536", "", "x"])
# Valid ones often, so that the rest of a body gets looked at too.
loopback = st.sampled_from(["127.0.0.1", "localhost", "[::1]"])
listens = (
    st.sampled_from(["127.0.0.1:0", "localhost:0"])
    | st.builds("{}:{}".format, loopback, listen_ports)
    | st.builds("{}:{}".format, hosts, listen_ports)
    | st.text(max_size=20)
)
upstreams = (
    st.sampled_from(["127.0.0.1:1", "postgres:5432", "10.0.0.1:80"])
    | st.builds("{}:{}".format, hosts, upstream_ports)
    | st.text(max_size=20)
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=20)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(FIELDS + ATTRIBUTES) | st.text(max_size=8), children)
    ),
    max_leaves=20,
)
updates = st.fixed_dictionaries(
    {},
    optional={
        "listen": listens,
        "upstream": upstreams,
        "enabled": st.booleans() | json_values,
        "name": names,
    },
)
proxy_specs = st.fixed_dictionaries(
    {"name": names, "upstream": upstreams},
    optional={"listen": listens, "enabled": st.booleans() | json_values},
)
toxics = st.fixed_dictionaries(
    {"type": st.sampled_from([*REGISTRY, "teleport", ""])},
    optional={
        "name": names,
        "stream": st.sampled_from(["upstream", "downstream", "UPSTREAM", "sideways"]),
        "toxicity": st.floats() | st.integers(-1, 2) | json_values,
        "attributes": st.dictionaries(
            st.sampled_from(ATTRIBUTES), st.integers(-5, 2**64) | json_values, max_size=3
        ),
    },
)
bodies = (
    st.none()
    | json_values.map(json.dumps)
    | proxy_specs.map(json.dumps)
    | st.lists(proxy_specs, max_size=4).map(json.dumps)
    | toxics.map(json.dumps)
    | st.binary(max_size=100)
    | st.sampled_from(["[" * 5000, "[" * 100_000 + "]" * 100_000, "NaN", '{"name": 1e999}'])
)
segment = names.map(lambda name: quote(name, safe=""))
paths = st.one_of(
    st.sampled_from(["/proxies", "/populate", "/reset", "/version", "/", "/proxies/"]),
    st.builds("/proxies/{}".format, segment),
    st.builds("/proxies/{}/toxics".format, segment),
    st.builds("/proxies/{}/toxics/{}".format, segment, segment),
    st.lists(segment, max_size=4).map(lambda parts: "/" + "/".join(parts)),
)
TOKEN = string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~"
methods = st.sampled_from(["GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS"]) | st.text(
    TOKEN, min_size=1, max_size=8
).filter(lambda method: method.upper() not in {"CONNECT", "TRACE"})


# -- properties ------------------------------------------------------------------------------


def _is_the_machines_500(body: dict[str, Any]) -> bool:
    return body.get("status") == 500 and "bind: address already in use" in str(body["error"])


def _post(url: str, body: object) -> requests.Response:
    # json.dumps, not requests' json=: that refuses NaN and Infinity, which Python's
    # json (and so the server) reads.
    return requests.post(url, data=json.dumps(body), timeout=TIMEOUT_S)


def _check(response: requests.Response, method: str) -> None:
    status = response.status_code
    assert status < 500 or _is_the_machines_500(response.json()), (status, response.text)
    if method.upper() == "HEAD" or status == 204:
        return
    assert response.headers["Content-Type"].startswith("application/json"), response.headers
    body = response.json()
    if status >= 400:
        assert isinstance(body, dict) and isinstance(body["error"], str), body
        assert body["status"] == status


@FAST
@given(method=methods, path=paths, body=bodies)
def test_any_request_gets_a_result_or_a_json_4xx(
    server: Background, method: str, path: str, body: str | bytes | None
) -> None:
    response = requests.request(method, server.api + path, data=body, timeout=TIMEOUT_S)
    _check(response, method)


BODY_ROUTES = ["/proxies", "/populate", "/proxies/a", "/proxies/a/toxics"]
BODY_ROUTES += ["/proxies/a/toxics/latency_downstream"]


@FAST
@given(method=st.sampled_from(["POST", "PATCH"]), path=st.sampled_from(BODY_ROUTES), body=bodies)
def test_any_body_on_a_route_that_reads_one(
    server: Background, method: str, path: str, body: str | bytes | None
) -> None:
    response = requests.request(method, server.api + path, data=body, timeout=TIMEOUT_S)
    _check(response, method)


@settings(FAST, max_examples=100)
@given(body=updates | json_values)
def test_any_proxy_update_gets_a_result_or_a_json_4xx(server: Background, body: object) -> None:
    # The finding that started this: a bad update disabled the proxy and broke reset.
    response = _post(f"{server.api}/proxies/a", body)
    _check(response, "POST")
    _check(requests.post(f"{server.api}/reset", timeout=TIMEOUT_S), "POST")


@settings(FAST, max_examples=100)
@given(spec=proxy_specs, toxic=toxics)
def test_any_proxy_and_toxic_get_a_result_or_a_json_4xx(
    server: Background, spec: dict[str, object], toxic: dict[str, object]
) -> None:
    created = _post(f"{server.api}/proxies", spec)
    _check(created, "POST")
    name = quote(str(spec["name"]), safe="")
    added = _post(f"{server.api}/proxies/{name}/toxics", toxic)
    _check(added, "POST")
    if created.status_code == 201:
        _check(requests.delete(f"{server.api}/proxies/{name}", timeout=TIMEOUT_S), "DELETE")


request_lines = st.builds(
    "{} {} HTTP/{}\r\n".format,
    methods,
    paths | st.text(max_size=10),
    st.sampled_from(["1.1", "1.0", "2", "x"]),
)
header_lines = st.lists(
    st.builds(
        "{}: {}\r\n".format,
        st.sampled_from(["Host", "Content-Length", "Transfer-Encoding", "Expect", "X"]),
        st.sampled_from(["x", "0", "10", "-1", "chunked", "100-continue", "9" * 30]),
    ),
    max_size=4,
)
raw_requests = st.binary(max_size=200) | st.builds(
    lambda line, headers, body: (line + "".join(headers) + "\r\n").encode() + body,
    request_lines,
    header_lines,
    st.binary(max_size=50),
)


@settings(FAST, max_examples=100)
@given(data=raw_requests)
def test_any_bytes_get_a_json_4xx_or_nothing(server: Background, data: bytes) -> None:
    with socket.create_connection(("127.0.0.1", server.server.api_port), timeout=5) as sock:
        sock.sendall(data)
        answer = b""
        try:
            while chunk := sock.recv(65536):  # the server closes; a hang times out
                answer += chunk
        except ConnectionResetError:
            pass  # aborted at the header deadline: an answer of nothing
    if not answer:
        return  # closed without an answer: what was sent is not a request yet
    head, _, rest = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split()[1])
    headers = dict(line.split(": ", 1) for line in header_lines)
    if status >= 400:
        assert headers["Content-Type"].startswith("application/json"), answer
    body = rest[: int(headers.get("Content-Length", "0"))]
    if not body:
        assert status < 500, answer
        return  # the answer to a HEAD: its head only
    error = json.loads(body) if status >= 400 else {}
    assert status < 500 or _is_the_machines_500(error), answer
    if status >= 400:
        assert error["status"] == status and isinstance(error["error"], str)
