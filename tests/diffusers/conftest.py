"""Tiny random-weight pipelines of every model in the catalog, saved to a temporary
models directory and loaded back through brushwork's real loading code, offline, on the CPU."""

from __future__ import annotations

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
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.diffusers.synthetic import build, save

    root = tmp_path_factory.mktemp("models")
    for name in MODELS:
        save(build(name), root / name)
    return root


@pytest.fixture
def tiny_models(tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The models directory, and the settings that make the diffusers apps use it (this test
    only: other tests keep seeing the apps unavailable)."""
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("BRUSHWORK_MODELS_DIR", str(tiny_model_dir))
    return tiny_model_dir
