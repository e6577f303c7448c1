"""Leases: who keeps a replica alive, told apart without Docker."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from gameday.infra import ownership


def test_this_process_holds_a_live_lease() -> None:
    lease = ownership.current_lease()
    assert lease.startswith(f"pid:{socket.gethostname()}:{os.getpid()}:")
    assert ownership.lease_is_alive(lease)


def test_the_lease_of_a_finished_process_is_dead() -> None:
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            "from gameday.infra import ownership; print(ownership.current_lease())",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert not ownership.lease_is_alive(child.stdout.strip())


def test_a_reused_pid_with_another_start_time_is_dead() -> None:
    _, host, pid, ticks = ownership.current_lease().split(":")
    assert not ownership.lease_is_alive(f"pid:{host}:{pid}:{int(ticks) + 1}")


def test_kept_manual_and_foreign_leases_are_never_reaped() -> None:
    assert ownership.lease_is_alive(ownership.PERSISTENT)
    assert ownership.lease_is_alive(ownership.MANUAL)
    assert ownership.lease_is_alive("pid:some-other-host:1:1")
    assert ownership.lease_is_alive("garbage")


def test_a_killed_process_not_yet_reaped_holds_no_lease() -> None:
    import signal
    import time

    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from gameday.infra import ownership; print(ownership.current_lease(),"
            " flush=True); import time; time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    lease = child.stdout.readline().strip()
    assert ownership.lease_is_alive(lease)
    child.send_signal(signal.SIGKILL)
    time.sleep(0.5)  # dead, but a zombie until we wait() for it
    try:
        assert not ownership.lease_is_alive(lease)
    finally:
        child.wait()
