"""Slow imports run ahead on a thread, the definitions load without what only later steps need,
and scipy.special loads first without changing what skops trusts."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.preload import RISK_MODELS, in_background


def test_modules_are_imported_in_the_background(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("preloaded_first", "preloaded_after_a_failure"):
        (tmp_path / f"{name}.py").write_text("LOADED = True\n")
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    thread = in_background(("preloaded_first", "no_such_module", "preloaded_after_a_failure"))
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert sys.modules["preloaded_first"].LOADED
    # A module that fails stops the thread quietly: the step that needs it reports the error.
    assert "preloaded_after_a_failure" not in sys.modules


def test_loading_the_definitions_leaves_the_risk_models_and_the_feed_sinks_for_later() -> None:
    # What only the scoring and publishing steps need is imported when they run, not at the
    # start of every `omsi run`: the HTTP and PostgreSQL clients of the feed's sinks too.
    later = ("sklearn", "skops", *RISK_MODELS, "pipelines.feed.publish", "httpx", "psycopg")
    probe = f"import sys, pipelines.definitions; print(sorted(set({later!r}) & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _skops_names(first: str) -> tuple[list[str], int]:
    """The scipy ufunc names skops trusts, and how many modules were loaded before
    scipy.special, in a fresh interpreter that runs `first` before the definitions."""
    probe = (
        f"import json, sys; {first}; import pipelines.definitions, skops.io._trusted_types as t;"
        "print(json.dumps([t.SCIPY_UFUNC_TYPE_NAMES, list(sys.modules).index('scipy.special')]))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    names, place = json.loads(out.stdout)
    return names, place


def test_scipy_special_first_puts_it_ahead_of_the_definitions_and_changes_no_name() -> None:
    early, early_place = _skops_names(
        "from pipelines.preload import scipy_special_first;scipy_special_first()"
    )
    late, late_place = _skops_names("pass")
    # skops looks for each ufunc through the modules in this order: the earlier, the shorter.
    assert early_place < late_place / 5
    # It finds the same module for each either way, so a model saved in one order loads in the
    # other.
    assert early == late and len(early) > 100
