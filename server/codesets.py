"""Installed code-set files (`cutis codesets load`): checked, copied with their checksum and
source into the data folder, and loaded into the engine at start-up by every process."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from rulebooks.codeset_status import CodesetStatus, codeset_status
from rulebooks.dated_codesets import CODESET_KINDS, CodesetKind, CodeSets, default_codesets, load_codeset


def manifest_path(data_dir: Path) -> Path:
    return data_dir / "codesets" / "manifest.json"


def installed(data_dir: Path) -> list[dict[str, Any]]:
    path = manifest_path(data_dir)
    return json.loads(path.read_text()) if path.exists() else []


def install(
    data_dir: Path, kind: CodesetKind, source_file: Path, effective: dt.date, source: str, *, force: bool = False
) -> dict[str, Any]:
    """Check the file by reading it (a bad file is refused before anything is stored), then keep it.

    A release of the same kind and effective date already installed is replaced only with `force`:
    codings already made name it, and a slip of `--effective` would otherwise overwrite it silently.
    The same file again changes nothing.
    """
    if kind not in CODESET_KINDS:
        raise ValueError(f"unknown code set kind {kind!r}: expected one of {', '.join(CODESET_KINDS)}")
    try:
        entries = CodeSets().load(kind, source_file, effective, source)
    except KeyError as error:
        raise ValueError(f"{source_file}: the column {error} is missing") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(f"{source_file}: not a readable {kind} file ({error})") from None
    if entries == 0:
        raise ValueError(f"{source_file}: no {kind} entries found; is this the right file?")
    digest = hashlib.sha256(source_file.read_bytes()).hexdigest()
    loaded = next(
        (m for m in installed(data_dir) if (m["kind"], m["effective"]) == (kind, effective.isoformat())), None
    )
    if loaded is not None and loaded["sha256"] == digest:
        return loaded
    if loaded is not None and not force:
        raise ValueError(
            f"a {kind} release effective {loaded['effective']} is installed already ({loaded['source']}, "
            f"{loaded['entries']} entries, sha256 {loaded['sha256'][:12]}): add --force to replace it"
        )
    folder = data_dir / "codesets" / kind
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{effective.isoformat()}-{digest[:12]}{source_file.suffix}"
    shutil.copyfile(source_file, target)
    entry = {
        "kind": kind,
        "effective": effective.isoformat(),
        "file": str(target.relative_to(data_dir)),
        "sha256": digest,
        "entries": entries,
        "source": source,
        "installed_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    manifest = [m for m in installed(data_dir) if not (m["kind"] == kind and m["effective"] == entry["effective"])]
    manifest.append(entry)
    manifest.sort(key=lambda m: (m["kind"], m["effective"]))
    tmp = manifest_path(data_dir).with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, indent=2))
    tmp.replace(manifest_path(data_dir))  # atomic: a crash leaves the old manifest whole
    return entry


def load_installed(data_dir: Path) -> int:
    """Load every installed file into this process's code sets, oldest first; returns how many."""
    count = 0
    for entry in installed(data_dir):
        path = data_dir / entry["file"]
        if hashlib.sha256(path.read_bytes()).hexdigest() != entry["sha256"]:
            raise RuntimeError(f"{path}: checksum differs from the manifest; reinstall it with cutis codesets load")
        load_codeset(entry["kind"], path, dt.date.fromisoformat(entry["effective"]), entry.get("source"))
        count += 1
    return count


def status(on: dt.date) -> list[CodesetStatus]:
    """This process's code sets (the built-ins and every installed file) for dates of service on `on`."""
    return codeset_status(default_codesets(), on)
