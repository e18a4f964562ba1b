"""Start the Streamlit dashboards as an unattended server: loopback by default, never a prompt.

`omsi dashboard` runs this. The command line is a pure function (`streamlit_command`) so the
safety-relevant flags are unit-tested; `serve` starts the server, waits for its health
endpoint, optionally opens a browser, and stays in the foreground until the server exits.
"""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys
import time
import urllib.request
import webbrowser
from collections.abc import Callable, Mapping
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "dashboards" / "app.py"
LOOPBACK = "127.0.0.1"
HEALTH_PATH = "/_stcore/health"
# How long `serve` waits for the health endpoint before opening a browser anyway.
STARTUP_SECONDS = 30

NO_AUTH_WARNING = (
    "warning: the dashboards have no login. Listening on {address} lets anyone who can reach "
    "this machine read the retailer's orders. Put them behind your single sign-on proxy and "
    "keep this port closed to everyone else (docs/dashboards.md, 'Sharing the dashboards')."
)


def is_loopback(address: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def streamlit_command(port: int, address: str = LOOPBACK) -> list[str]:
    """The `streamlit run` command line for the dashboards.

    The flags repeat what dashboards/.streamlit/config.toml says, so a user's own
    ~/.streamlit/config.toml or STREAMLIT_* variables cannot switch the prompt, the browser
    or usage statistics back on (command-line flags win over both).
    """
    return [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.port", str(port),
        "--server.address", address,
        "--server.headless", "true",
        "--server.showEmailPrompt", "false",
        "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
        "--client.toolbarMode", "minimal",
    ]  # fmt: skip


def streamlit_env(omsi_home: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The server's environment: the home it serves, and no Streamlit telemetry variables."""
    env = dict(os.environ if base is None else base)
    env["OMSI_HOME"] = str(omsi_home)
    env["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] = "false"
    env["STREAMLIT_SERVER_SHOW_EMAIL_PROMPT"] = "false"
    return env


def browse_url(port: int, address: str) -> str:
    host = "localhost" if address in ("0.0.0.0", "::") or is_loopback(address) else address
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _wait_healthy(url: str, server: subprocess.Popen[bytes], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(url + HEALTH_PATH, timeout=1) as response:
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.3)
    return False


def serve(
    omsi_home: Path,
    port: int,
    address: str = LOOPBACK,
    open_browser: bool = False,
    say: Callable[[str], None] = print,
) -> int:
    """Run the dashboards until the server stops; returns its exit code."""
    if not is_loopback(address):
        say(NO_AUTH_WARNING.format(address=address))
    url = browse_url(port, address)
    server = subprocess.Popen(
        streamlit_command(port, address),
        env=streamlit_env(omsi_home),
        # Never read the terminal: a server started with `&` or by a service has none.
        stdin=subprocess.DEVNULL,
    )
    say(f"dashboards on {url} (listening on {address}:{port}; Ctrl+C to stop)")
    try:
        if open_browser and _wait_healthy(url, server, STARTUP_SECONDS):
            webbrowser.open(url)
        return server.wait()
    except KeyboardInterrupt:
        server.terminate()
        try:
            return server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            return server.wait()
