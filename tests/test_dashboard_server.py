"""`omsi dashboard` serves unattended and safely: a background start on a fresh $HOME with no
terminal answers its health check, listens on loopback only, and says so loudly when exposed."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.dashboard_server import (
    NO_AUTH_WARNING,
    browse_url,
    is_loopback,
    streamlit_command,
    streamlit_env,
)

HEALTH_SECONDS = 15
OMSI = Path(sys.executable).with_name("omsi")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _listening_addresses(port: int) -> set[str]:
    """Local addresses of sockets in LISTEN state on `port`, read from the kernel's table."""
    found = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, state = fields[1], fields[3]
            hex_address, hex_port = local.split(":")
            if state != "0A" or int(hex_port, 16) != port:  # 0A = TCP_LISTEN
                continue
            raw = bytes.fromhex(hex_address)
            # The kernel prints each 32-bit word in host (little-endian) order.
            words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            family = socket.AF_INET if width == 8 else socket.AF_INET6
            found.add(socket.inet_ntop(family, words))
    return found


def _start(port: int, home: Path, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    if not OMSI.exists():
        pytest.fail(f"no omsi command beside {sys.executable}: run `uv sync` from the repo root")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("STREAMLIT_", "OMSI_"))
    }
    # A fresh machine: no ~/.streamlit (no credentials.toml), an empty OMSI_HOME.
    env |= {"HOME": str(home / "user"), "OMSI_HOME": str(home / "omsi")}
    (home / "user").mkdir(parents=True)
    with log.open("wb") as out:
        # Like `omsi dashboard --port N < /dev/null &`: no terminal on any stream.
        return subprocess.Popen(
            [str(OMSI), "dashboard", "--port", str(port), *extra],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )


def _stop(server: subprocess.Popen[bytes]) -> None:
    # The whole session: omsi and the streamlit process it started.
    try:
        os.killpg(server.pid, 15)
    except ProcessLookupError:
        return
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, 9)
        server.wait()


@pytest.fixture
def started(tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[bytes], Path]]:
    port = _free_port()
    log = tmp_path / "dashboard.log"
    server = _start(port, tmp_path, log)
    try:
        yield port, server, log
    finally:
        _stop(server)


def test_background_start_on_a_fresh_home_is_healthy_on_loopback_only(started) -> None:
    port, server, log = started
    started_at = time.monotonic()
    healthy = False
    while time.monotonic() - started_at < HEALTH_SECONDS:
        assert server.poll() is None, f"omsi dashboard exited:\n{log.read_text()}"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1) as r:
                healthy = r.status == 200 and r.read().strip() == b"ok"
                break
        except OSError:
            time.sleep(0.25)
    output = log.read_text()
    assert healthy, f"no answer on /_stcore/health within {HEALTH_SECONDS}s:\n{output}"

    assert _listening_addresses(port) == {"127.0.0.1"}
    # It never asked anything, and it never announced usage statistics.
    assert "Email" not in output and "email" not in output
    assert "usage statistics" not in output.lower()
    assert "no login" not in output


def test_an_exposed_address_warns_that_there_is_no_login(tmp_path: Path) -> None:
    port = _free_port()
    log = tmp_path / "dashboard.log"
    server = _start(port, tmp_path, log, "--address", "0.0.0.0")
    try:
        deadline = time.monotonic() + HEALTH_SECONDS
        while time.monotonic() < deadline and "listening on" not in log.read_text():
            time.sleep(0.2)
        output = log.read_text()
    finally:
        _stop(server)
    assert NO_AUTH_WARNING.format(address="0.0.0.0") in output, output


def test_command_line_pins_loopback_headless_and_no_statistics() -> None:
    command = streamlit_command(8600)
    flags = dict(zip(command[5::2], command[6::2], strict=True))
    assert flags["--server.address"] == "127.0.0.1"
    assert flags["--server.headless"] == "true"
    assert flags["--server.showEmailPrompt"] == "false"
    assert flags["--browser.gatherUsageStats"] == "false"
    assert flags["--server.port"] == "8600"
    assert streamlit_command(8600, "10.1.2.3")[command.index("--server.address") + 1] == "10.1.2.3"
    env = streamlit_env(Path("/srv/omsi"), {"STREAMLIT_BROWSER_GATHER_USAGE_STATS": "true"})
    assert env["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] == "false"
    assert env["OMSI_HOME"] == "/srv/omsi"


@pytest.mark.parametrize(
    ("address", "loopback"),
    [("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("localhost", True),
     ("0.0.0.0", False), ("::", False), ("10.0.0.5", False), ("dash.example.com", False)],
)  # fmt: skip
def test_loopback_addresses(address: str, loopback: bool) -> None:
    assert is_loopback(address) is loopback


def test_browse_url_names_a_reachable_host() -> None:
    assert browse_url(8501, "127.0.0.1") == "http://localhost:8501"
    assert browse_url(8501, "0.0.0.0") == "http://localhost:8501"
    assert browse_url(8501, "10.0.0.5") == "http://10.0.0.5:8501"
    assert browse_url(8501, "fd00::5") == "http://[fd00::5]:8501"


def test_project_config_turns_off_prompts_and_statistics() -> None:
    import tomllib

    config_file = Path(__file__).resolve().parents[1] / "dashboards" / ".streamlit" / "config.toml"
    config = tomllib.loads(config_file.read_text())
    assert config["server"]["address"] == "127.0.0.1"
    assert config["server"]["headless"] is True
    assert config["server"]["showEmailPrompt"] is False
    assert config["browser"]["gatherUsageStats"] is False
    assert shutil.which("streamlit", path=str(Path(sys.executable).parent))
