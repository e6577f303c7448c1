"""Names of proxies and toxics fit in one API path segment."""

from __future__ import annotations

import pytest

from gameday.proxy.errors import ApiError
from gameday.proxy.names import MAX_NAME_LENGTH, check_name


@pytest.mark.parametrize("name", ["db", "backend-1-postgres", "prøxy", "with space", "x" * 255])
def test_usable_names(name: str) -> None:
    assert check_name("proxy", name) == name


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("x" * (MAX_NAME_LENGTH + 1), "longer than 255"),
        ("x" * 100_000, "longer than 255"),
        ("tab\there", "unprintable"),
        ("nul\x00", "unprintable"),
        ("a/b", "slash"),
    ],
)
def test_unusable_names_are_a_400(name: str, reason: str) -> None:
    with pytest.raises(ApiError) as caught:
        check_name("proxy", name)
    assert caught.value.status == 400 and reason in caught.value.message
    assert len(caught.value.message) < 300  # the message quotes the name, cut short
