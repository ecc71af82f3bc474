"""One settings source: the environment is read by ``Settings`` alone, flags win only when
given, engines get their group, and a misspelt variable is named at start."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from brushwork.cli.main import app
from brushwork.engines.diffusion import DiffusersEngine
from brushwork.engines.openai_engine import OpenAIEngine
from brushwork.engines.studio import StudioEngine
from brushwork.settings import Settings, known_variables, unknown_variables

ENV = {
    "BRUSHWORK_PORT": "9999",
    "BRUSHWORK_DEV": "true",
    "BRUSHWORK_WORKERS": "3",
}


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    """What `serve` and `worker` would start with, without starting anything."""
    seen: dict[str, Any] = {}

    def fake_serve(settings: Settings, announce: Any = print, workers: bool = True) -> None:
        seen["serve"] = settings

    def fake_workers(settings: Settings, apps: Any, announce: Any = print) -> None:
        seen["worker"] = settings

    monkeypatch.setattr("brushwork.cli.serve.serve", fake_serve)
    monkeypatch.setattr("brushwork.cli.serve.run_workers", fake_workers)
    for key, value in {**ENV, "BRUSHWORK_DATA_DIR": str(tmp_path / "env-data")}.items():
        monkeypatch.setenv(key, value)
    return seen


def test_serve_and_worker_honour_the_environment(started: dict[str, Any], tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["serve"]).exit_code == 0
    assert runner.invoke(app, ["worker"]).exit_code == 0
    for command in ("serve", "worker"):
        settings = started[command]
        assert settings.port == 9999
        assert settings.dev is True
        assert settings.data_dir == tmp_path / "env-data"
        assert settings.workers == 3


def test_flags_win_over_the_environment(started: dict[str, Any], tmp_path: Path) -> None:
    runner = CliRunner()
    flags = ["--port", "8500", "--no-dev", "--data-dir", str(tmp_path / "flag"), "--workers", "2"]
    assert runner.invoke(app, ["serve", *flags]).exit_code == 0
    settings = started["serve"]
    assert (settings.port, settings.dev, settings.workers) == (8500, False, 2)
    assert settings.data_dir == tmp_path / "flag"
    result = runner.invoke(app, ["worker", "--workers", "5", "--data-dir", str(tmp_path / "w")])
    assert result.exit_code == 0
    assert (started["worker"].workers, started["worker"].data_dir) == (5, tmp_path / "w")


def test_a_standalone_worker_runs_one_process_unless_told(
    started: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BRUSHWORK_WORKERS")
    assert CliRunner().invoke(app, ["worker"]).exit_code == 0
    assert started["worker"].workers == 1


def test_an_unsafe_environment_refuses_to_start(
    started: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRUSHWORK_HOST", "0.0.0.0")  # dev mode off loopback
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 2 and "refusing to start" in result.output
    assert "serve" not in started


def test_a_misspelt_variable_is_named_at_start(
    started: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRUSHWORK_PROT", "1")
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 0
    assert "BRUSHWORK_PROT" in result.output and "BRUSHWORK_PORT" in result.output
    assert unknown_variables({"BRUSHWORK_DIFUSERS_STEPS": "2", "BRUSHWORK_PORT": "1"}) == [
        "BRUSHWORK_DIFUSERS_STEPS is not a brushwork setting and is ignored "
        "(did you mean BRUSHWORK_DIFFUSERS_STEPS?)"
    ]
    assert unknown_variables({"HOME": "/", "BRUSHWORK_API_KEY": "k"}) == []


def test_every_variable_the_code_names_is_known() -> None:
    """A BRUSHWORK_ name written anywhere in src/ is one Settings (or the SDK) reads."""
    import re

    src = Path(__file__).resolve().parents[2] / "src" / "brushwork"
    named = {
        name
        for path in src.rglob("*.py")
        for name in re.findall(r"BRUSHWORK_[A-Z_]+", path.read_text())
        if not name.endswith("_")  # a prefix (BRUSHWORK_DIFFUSERS_*), not a variable
    }
    assert named <= known_variables(), sorted(named - known_variables())


def test_engines_get_their_group_from_the_settings(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        studio={"assets": tmp_path / "assets"},
        diffusers={"max_batch": 2, "models_dir": tmp_path / "models", "compile": "auto"},
        openai={"api_key": "sk-test", "timeout": 7},
    )
    from brushwork.apps.registry import Registry

    registry = Registry(settings)
    studio = registry.engine("brushwork/studio")
    assert isinstance(studio, StudioEngine) and studio.assets == tmp_path / "assets"
    assert "not installed in " + str(tmp_path / "assets") in str(studio.unavailable_reason())
    flux = registry.engine("diffusers/flux-schnell")
    assert isinstance(flux, DiffusersEngine) and flux.options.max_batch == 2
    assert flux.options.compile is None
    assert str(tmp_path / "models" / "flux-schnell") in str(flux.unavailable_reason())
    remote = registry.engine("openai/gpt-image-2")
    assert isinstance(remote, OpenAIEngine) and (remote.api_key, remote.timeout) == ("sk-test", 7)


def test_group_variables_keep_their_names(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BRUSHWORK_ASSETS", str(tmp_path / "a"))
    monkeypatch.setenv("BRUSHWORK_MODELS_DIR", str(tmp_path / "m"))
    monkeypatch.setenv("BRUSHWORK_DIFFUSERS_CACHE", "0.1")
    monkeypatch.setenv("BRUSHWORK_DIFFUSERS_CHANNELS_LAST", "auto")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    settings = Settings()
    assert settings.studio.assets == tmp_path / "a"
    assert settings.diffusers.models_dir == tmp_path / "m"
    assert settings.diffusers.cache_threshold == 0.1
    assert settings.diffusers.channels_last is False
    assert settings.openai.api_key == "sk-env" and "sk-env" not in repr(settings)
    # a worker process gets the same values from the dump the pool hands it
    again = Settings(**settings.model_dump(mode="json"))
    assert again.studio == settings.studio and again.openai.api_key == "sk-env"
    monkeypatch.setenv("BRUSHWORK_DIFFUSERS_MAX_BATCH", "0")
    with pytest.raises(ValueError, match="max_batch"):
        Settings()


def test_dev_mode_has_no_per_key_submission_limit_unless_set(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path).submissions_per_minute == 120  # a shared server
    assert Settings(data_dir=tmp_path, dev=True).submissions_per_minute == 0  # one local user
    assert (
        Settings(data_dir=tmp_path, dev=True, rate_limit_per_minute=30).submissions_per_minute == 30
    )


def test_models_list_and_pull_know_the_masks_weights_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    monkeypatch.setenv("BRUSHWORK_MODELS_DIR", str(tmp_path / "models"))
    (tmp_path / "models" / "sam2").mkdir(parents=True)
    (tmp_path / "models" / "sam2" / "config.json").write_text("{}")
    listed = CliRunner().invoke(app, ["models", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = {r["name"]: r for r in json.loads(listed.output)}
    assert rows["flux2-klein"]["apps"] == ["diffusers/flux2-klein"]
    assert rows["sam2"]["apps"] == ["brushwork/masks"]
    assert rows["sam2"]["weights"] == str(tmp_path / "models" / "sam2")
    assert rows["owlv2"]["weights"] is None
    refused = CliRunner().invoke(app, ["models", "pull", "sam3"])
    assert refused.exit_code == 2 and "owlv2" in refused.output and "flux2-klein" in refused.output
