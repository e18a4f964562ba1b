"""Read the world's knobs: the default TOML, optionally overlaid by a user's file."""

from __future__ import annotations

import copy
import re
import tomllib
from pathlib import Path
from typing import Any

DEFAULT_CONFIG = Path(__file__).with_name("default_world.toml")
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_.-]+")


class ConfigError(ValueError):
    """A world config that cannot be used; the message says which key and what to do."""


def _merge(base: dict[str, Any], override: dict[str, Any], where: str) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        path = f"{where}.{key}" if where else key
        if key not in base:
            # Category and carrier tables are open: a user may add a new category or carrier.
            if where in ("catalogue.categories", "carriers"):
                merged[key] = value
                continue
            raise ConfigError(
                f"unknown config key '{path}': check the spelling against {DEFAULT_CONFIG.name}"
            )
        if isinstance(base[key], dict) and isinstance(value, dict):
            merged[key] = _merge(base[key], value, path)
        else:
            merged[key] = value
    return merged


def load_config(path: Path | None = None) -> dict[str, Any]:
    """The default world, with the keys of `path` (if given) merged over it."""
    config = tomllib.loads(DEFAULT_CONFIG.read_text())
    if path is None:
        return config
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist: pass a TOML file to --config")
    try:
        override = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"config file {path} is not valid TOML ({exc}): fix it and retry"
        ) from exc
    config = _merge(config, override, "")
    _check(config)
    return config


def _check(config: dict[str, Any]) -> None:
    shares = config["demand"]["channels"]
    if abs(sum(shares.values()) - 1.0) > 1e-6:
        raise ConfigError("demand.channels shares must sum to 1: adjust them in your config")
    for key in ("lines_per_order", "units_per_line"):
        if abs(sum(config["demand"][key]) - 1.0) > 1e-6:
            raise ConfigError(f"demand.{key} probabilities must sum to 1: adjust them")
    for carrier, levels in config["carriers"].items():
        # Carrier names and service levels are written into events by templates, not a JSON
        # encoder, so they must be plain names.
        for name in (carrier, *levels):
            if not _PLAIN_NAME.fullmatch(name):
                raise ConfigError(
                    f"carrier or service level {name!r} in [carriers] must use only letters,"
                    " digits, '_', '-' or '.': rename it in your config"
                )
    if config["catalogue"]["skus"] < 20:
        raise ConfigError("catalogue.skus must be at least 20: raise it in your config")
