"""Tiny random-weight pipelines of every model in the catalog, saved to a temporary
models directory and loaded back through brushwork's real loading code, offline, on the CPU."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from brushwork.engines.diffusion.catalog import MODELS

ENV = {
    "BRUSHWORK_DIFFUSERS_DEVICE": "cpu",
    "BRUSHWORK_DIFFUSERS_STEPS": "2",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_CACHE": "/nonexistent-hf-cache",  # only the models directory counts here
}


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    from brushwork.engines.diffusion.synthetic import build, save

    root = tmp_path_factory.mktemp("models")
    for name in MODELS:
        save(build(name), root / name)
    saved = {k: os.environ.get(k) for k in [*ENV, "BRUSHWORK_MODELS_DIR"]}
    os.environ.update(ENV, BRUSHWORK_MODELS_DIR=str(root))
    yield root
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
