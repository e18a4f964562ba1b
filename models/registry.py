"""The model registry: versions on disk, each with its card, and which one is promoted.

Layout under the registry root (`$OMSI_HOME/models`):

    <model>/<version>/model.skops   the estimator and what scoring needs (skops format)
    <model>/<version>/card.json     metrics against baselines, windows, features, versions, SHA-256
    <model>/promoted.json           the promoted version
    <model>/decisions.jsonl         every promotion decision with its numbers

Loading never runs arbitrary code: the artifact is a skops file (no pickle), its SHA-256 must
match the card's, and every type in it must be on TRUSTED_TYPES, an explicit allow-list; a file
that names any other type is refused before anything in it is built.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import skops.io as sio

ARTIFACT = "model.skops"
CARD = "card.json"
PROMOTED = "promoted.json"
DECISIONS = "decisions.jsonl"

# Beyond the types skops trusts by default (builtins, numpy, most scikit-learn estimators),
# exactly these may appear in an artifact.
TRUSTED_TYPES = [
    "functools.partial",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.utils.validation.check_array",
]


class ArtifactRefused(RuntimeError):
    """An artifact that failed its checksum or names a type that is not on the allow-list."""


@dataclass(frozen=True)
class ModelVersion:
    model: str
    version: str
    path: Path

    @property
    def card(self) -> dict:
        return json.loads((self.path / CARD).read_text())


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical_artifact(payload: dict) -> bytes:
    """skops bytes that depend only on the payload: the same model gives the same checksum.

    skops names its array files and object ids after Python's id() of each object and stamps
    zip entries with the clock; both are renumbered in order of appearance and stamped 1980-01-01.
    """
    original = zipfile.ZipFile(io.BytesIO(sio.dumps(payload)))
    schema = json.loads(original.read("schema.json"))
    ids: dict[int, int] = {}
    files: dict[str, str] = {}

    def renumber(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "__id__" and isinstance(value, int):
                    node[key] = ids.setdefault(value, len(ids) + 1)
                elif key == "file" and isinstance(value, str):
                    node[key] = files.setdefault(value, f"{len(files) + 1:06d}.npy")
                else:
                    renumber(value)
        elif isinstance(node, list):
            for item in node:
                renumber(item)

    renumber(schema)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        entries = [("schema.json", json.dumps(schema, indent=2).encode())]
        entries += [
            (new, original.read(old)) for old, new in sorted(files.items(), key=lambda x: x[1])
        ]
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, data)
    return out.getvalue()


def load_artifact(version: ModelVersion) -> dict:
    """The payload of a version, after its checksum and its types are verified."""
    data = (version.path / ARTIFACT).read_bytes()
    expected = version.card["artifact_sha256"]
    actual = sha256_bytes(data)
    if actual != expected:
        raise ArtifactRefused(
            f"{version.path / ARTIFACT} does not match its card (SHA-256 {actual[:12]}..., card "
            f"says {expected[:12]}...): the file was changed after training. Retrain with "
            f"`omsi train --model {version.model}` or restore the file."
        )
    try:
        untrusted = sio.get_untrusted_types(data=data)
    except Exception as exc:  # a damaged zip or schema: refuse, do not guess
        raise ArtifactRefused(
            f"{version.path / ARTIFACT} is not a readable skops file: {exc}"
        ) from exc
    unexpected = sorted(set(untrusted) - set(TRUSTED_TYPES))
    if unexpected:
        raise ArtifactRefused(
            f"{version.path / ARTIFACT} names types outside the allow-list: {', '.join(unexpected)}"
        )
    return sio.loads(data, trusted=TRUSTED_TYPES)


class Registry:
    def __init__(self, root: Path) -> None:
        self.root = root

    def versions(self, model: str) -> list[ModelVersion]:
        folder = self.root / model
        if not folder.exists():
            return []
        return [
            ModelVersion(model, path.name, path)
            for path in sorted(folder.iterdir())
            if (path / CARD).exists()
        ]

    def promoted(self, model: str) -> ModelVersion | None:
        pointer = self.root / model / PROMOTED
        if not pointer.exists():
            return None
        version = json.loads(pointer.read_text())["version"]
        path = self.root / model / version
        return ModelVersion(model, version, path) if (path / CARD).exists() else None

    def register(self, model: str, payload: dict, card: dict) -> ModelVersion:
        """Write a new version (artifact, then card) and return it; nothing is promoted."""
        data = canonical_artifact(payload)
        sha = sha256_bytes(data)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        version = f"{model}-{stamp}-{sha[:8]}"
        path = self.root / model / version
        path.mkdir(parents=True)
        (path / ARTIFACT).write_bytes(data)
        card = card | {"model": model, "version": version, "artifact_sha256": sha}
        _write_atomically(path / CARD, json.dumps(card, indent=2, sort_keys=True))
        return ModelVersion(model, version, path)

    def promote(self, version: ModelVersion, decision: dict) -> None:
        _write_atomically(
            self.root / version.model / PROMOTED,
            json.dumps({"version": version.version, "promoted_at": _now()}, indent=2),
        )
        self.record(version.model, decision)

    def record(self, model: str, decision: dict) -> None:
        with (self.root / model / DECISIONS).open("a") as log:
            log.write(json.dumps(decision | {"at": _now()}, sort_keys=True) + "\n")

    def decisions(self, model: str) -> list[dict]:
        path = self.root / model / DECISIONS
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
