"""``brushwork`` commands: serve, worker, run, app list|get|run, task get, keys, db, models,
assets, demo.

Server commands (serve, worker, keys, db, models, assets) read ``Settings`` from the
environment; a flag given on the command line wins over it, an option left out leaves it
alone. SDK commands (run, app, task) talk to a server through the SDK
(``BRUSHWORK_BASE_URL``, ``BRUSHWORK_API_KEY``); on a terminal long work shows a rich
progress bar, and ``--json`` prints machine-readable results for scripts.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

from brushwork.client._sync import Client, inference
from brushwork.contract import CONTENT_TYPES, TaskStatus, fit_size, parse_size
from brushwork.errors import BrushworkError

app = typer.Typer(
    help="brushwork: self-hosted image generation and editing.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app_cmd = typer.Typer(help="List, describe and run apps.", no_args_is_help=True)
task_cmd = typer.Typer(help="Look at and delete tasks.", no_args_is_help=True)
keys_cmd = typer.Typer(help="Manage API keys (run on the server's machine).", no_args_is_help=True)
db_cmd = typer.Typer(help="The task store: schema and backups.", no_args_is_help=True)
models_cmd = typer.Typer(
    help="Open-weight models for the diffusers apps (see the README's 'Using a GPU').",
    no_args_is_help=True,
)
file_cmd = typer.Typer(help="Delete files; check the file store.", no_args_is_help=True)
session_cmd = typer.Typer(help="Multi-pass editing sessions.", no_args_is_help=True)
app.add_typer(app_cmd, name="app")
app.add_typer(task_cmd, name="task")
app.add_typer(file_cmd, name="file")
app.add_typer(session_cmd, name="session")
app.add_typer(file_cmd, name="files", hidden=True)  # `brushwork files check` reads well
app.add_typer(keys_cmd, name="keys")
app.add_typer(db_cmd, name="db")
app.add_typer(models_cmd, name="models")
assets_cmd = typer.Typer(help="The studio engine's emoji and icon assets.", no_args_is_help=True)
app.add_typer(assets_cmd, name="assets")

console = Console(stderr=True, soft_wrap=True)  # log lines stay whole in files
out = Console()

BaseUrl = Annotated[str | None, typer.Option("--base-url", envvar="BRUSHWORK_BASE_URL")]
ApiKey = Annotated[str | None, typer.Option("--api-key", envvar="BRUSHWORK_API_KEY")]
SessionOpt = Annotated[
    str | None,
    typer.Option(
        "--session",
        help='"new" or a session id: without --image, the pass edits the session\'s latest picture',
    ),
]
DataDir = Annotated[Path | None, typer.Option("--data-dir", help="where tasks and files live")]
AsJson = Annotated[bool, typer.Option("--json", help="print JSON for scripts")]


def main() -> None:
    try:
        app()
    except BrushworkError as exc:
        console.print(
            f"[red]error:[/red] {escape(exc.message)}"
            + (f" (param: {exc.param})" if exc.param else "")
        )
        sys.exit(1)


def _client(base_url: str | None, api_key: str | None) -> Client:
    return inference(base_url=base_url, api_key=api_key)


def _settings(**overrides: Any) -> Any:
    """The environment's settings with the flags that were given (None: not given) on top."""
    from brushwork.settings import Settings  # server side: only for server commands

    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValueError as exc:
        console.print(f"[red]refusing to start:[/red] {exc}")
        raise typer.Exit(2) from None


def _warn_unknown_variables() -> None:
    from brushwork.settings import unknown_variables

    for line in unknown_variables():
        console.print(f"[yellow]warning:[/yellow] {line}")


def _print_json(value: Any) -> None:
    out.print_json(json.dumps(value, default=str))


# ---------------------------------------------------------------- server side


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="address to listen on [default: 127.0.0.1]")
    ] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on [default: 8420]")] = None,
    data_dir: DataDir = None,
    dev: Annotated[
        bool | None, typer.Option("--dev/--no-dev", help="no API key needed; loopback only")
    ] = None,
    workers: Annotated[int | None, typer.Option(help="worker processes (default: cores)")] = None,
    no_workers: Annotated[
        bool, typer.Option("--no-workers", help="API only; run `brushwork worker` elsewhere")
    ] = False,
) -> None:
    """Start the API server and its worker processes (BRUSHWORK_* settings, flags on top)."""
    from brushwork.cli.serve import serve as run_server

    _warn_unknown_variables()
    settings = _settings(host=host, port=port, data_dir=data_dir, dev=dev, workers=workers)
    run_server(settings, announce=console.print, workers=not no_workers)


@app.command()
def worker(
    data_dir: DataDir = None,
    workers: Annotated[
        int | None,
        typer.Option(help="worker processes (one per device) [default: BRUSHWORK_WORKERS or 1]"),
    ] = None,
    apps: Annotated[
        str | None, typer.Option(help="serve only these apps (comma-separated)")
    ] = None,
) -> None:
    """Run worker processes without an API server; SIGTERM lets each finish its task first."""
    import os

    from brushwork.apps.registry import Registry
    from brushwork.cli.serve import run_workers

    _warn_unknown_variables()
    # compat: a standalone worker runs one process unless told otherwise (not one per core)
    default = None if os.environ.get("BRUSHWORK_WORKERS") else 1
    settings = _settings(data_dir=data_dir, workers=default if workers is None else workers)
    chosen = [a.strip() for a in apps.split(",") if a.strip()] if apps else None
    unknown = sorted(set(chosen or []) - set(Registry(settings).apps))
    if unknown:
        console.print(f"[red]unknown app(s):[/red] {', '.join(unknown)}")
        raise typer.Exit(2)
    run_workers(settings, chosen, announce=console.print)


@keys_cmd.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="a label for the key")] = "key",
    data_dir: DataDir = None,
) -> None:
    """Create an API key; it is printed once and stored only as a hash."""
    from brushwork.tasks.store import Store

    settings = _settings(data_dir=data_dir)
    store = Store(settings.database)
    key = store.create_key(name)
    out.print(key)
    owner = store.owner_of_key(key)
    assert owner is not None
    console.print(f"webhook signing secret for this key: {store.webhook_secret(owner)}")


@keys_cmd.command("list")
def keys_list(data_dir: DataDir = None, as_json: AsJson = False) -> None:
    """List keys (prefix, name, state) and each key's webhook signing secret."""
    from datetime import UTC, datetime

    from brushwork.tasks.store import Store

    keys = Store(_settings(data_dir=data_dir).database).list_keys()
    if as_json:
        _print_json(keys)
        return
    for key in keys:
        made = datetime.fromtimestamp(key["created_at"], UTC).strftime("%Y-%m-%d %H:%M")
        state = "revoked" if key["revoked_at"] else "active"
        typer.echo(
            f"{key['prefix']}…  {key['name']:<16} {state:<8} {made}  {key['webhook_secret']}"
        )


@keys_cmd.command("revoke")
def keys_revoke(
    key: Annotated[str, typer.Argument(help="the key's prefix as `keys list` shows it, or its id")],
    data_dir: DataDir = None,
) -> None:
    """Revoke a key: requests with it get 401 from then on."""
    from brushwork.tasks.store import Store

    if not Store(_settings(data_dir=data_dir).database).revoke_key(key.rstrip("…")):
        console.print(f"[red]no active key matches {key!r}[/red]")
        raise typer.Exit(1)
    out.print(f"revoked {key}")


@db_cmd.command("backup")
def db_backup(
    target: Annotated[Path, typer.Argument(help="where the copy goes (a new SQLite file)")],
    data_dir: DataDir = None,
) -> None:
    """Copy the task store while the server runs (SQLite's online backup); PostgreSQL: pg_dump."""
    import sqlite3

    settings = _settings(data_dir=data_dir)
    if not settings.database.startswith("sqlite"):
        console.print("[red]the task store is PostgreSQL: back it up with pg_dump[/red]")
        raise typer.Exit(2)
    if target.exists():
        console.print(f"[red]{target} exists; name a new file[/red]")
        raise typer.Exit(2)
    source = sqlite3.connect(settings.database.removeprefix("sqlite:///"))
    copy = sqlite3.connect(target)
    try:
        with copy:
            source.backup(copy)
    finally:
        copy.close()
        source.close()
    out.print(f"task store copied to {target} (files live in {settings.files_dir} or the bucket)")


@file_cmd.command("check")
def files_check(
    repair: Annotated[
        bool, typer.Option(help="remove orphaned and partial files; mark lost ones expired")
    ] = False,
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """List bytes no task or upload owns, half-written files, and records whose bytes are gone."""
    from brushwork.files.store import open_files
    from brushwork.tasks.store import Store

    settings = _settings(data_dir=data_dir)
    store = Store(settings.database)
    found = open_files(settings.files_url, settings.files_dir, store).check(repair=repair)
    if as_json:
        _print_json({"orphans": found.orphans, "partial": found.partial, "missing": found.missing})
    else:
        for kind, names in (("orphan", found.orphans), ("partial", found.partial),
                            ("missing", found.missing)):  # fmt: skip
            for name in names:
                out.print(f"{kind:<8} {name}")
        verb = "repaired" if repair else "found"
        out.print(
            f"{len(found.orphans)} orphaned, {len(found.partial)} partial, "
            f"{len(found.missing)} missing file(s) {verb}"
        )
    if not found.clean and not repair:
        raise typer.Exit(1)


@db_cmd.command("upgrade")
def db_upgrade(data_dir: DataDir = None) -> None:
    """Apply the schema migrations (serve and worker also do this when they start)."""
    from brushwork.tasks.migrations import current
    from brushwork.tasks.store import Store

    store = Store(_settings(data_dir=data_dir).database)  # opening the store migrates it
    out.print(f"schema at revision {current(store.engine)}")


@assets_cmd.command("install")
def assets_install() -> None:
    """Fetch the studio's assets from the npm registry into BRUSHWORK_ASSETS (idempotent)."""
    from brushwork.engines.studio import assets

    try:
        assets.install(_settings().studio.assets, announce=out.print)
    except Exception as exc:  # network, integrity: say what failed, keep what was there
        console.print(f"[red]assets not installed: {exc}[/red]")
        raise typer.Exit(1) from None


@assets_cmd.command("list")
def assets_list(as_json: AsJson = False) -> None:
    """Where the assets are, how many, and each source's licence and attribution."""
    from brushwork.engines.studio import assets

    root = _settings().studio.assets
    reason = assets.missing_reason(root)
    if reason is not None:
        console.print(f"[yellow]{reason}[/yellow]")
        raise typer.Exit(1)
    library = assets.library(root)
    kinds: dict[str, int] = {}
    for entry in library.entries:
        kinds[entry["kind"]] = kinds.get(entry["kind"], 0) + 1
    if as_json:
        _print_json({"root": str(library.root), "counts": kinds, "licenses": library.licenses})
        return
    out.print(f"{library.root}: " + ", ".join(f"{n} {k}s" for k, n in sorted(kinds.items())))
    for key, info in library.licenses.items():
        out.print(f"  {key:<10} {info['license']:<12} {info['attribution']}")


@models_cmd.command("list")
def models_list(as_json: AsJson = False) -> None:
    """Each model: its repository, licence, which apps use it, and where its weights are."""
    from brushwork.engines import masks
    from brushwork.engines.diffusion.catalog import APPS, MODELS, find_weights

    models_dir = _settings().diffusers.models_dir
    rows: list[dict[str, Any]] = [
        {
            "name": m.name,
            "repo": m.repo,
            "license": m.license,
            "apps": [a.id for a in APPS.values() if a.model == m.name],
            "weights": find_weights(m, models_dir),
        }
        for m in MODELS.values()
    ]
    rows += [
        {"name": name, "repo": repo, "license": licence, "apps": ["brushwork/masks"],
         "weights": masks.find_model(models_dir, name, repo)}
        for name, (repo, licence) in masks.WEIGHTS.items()
    ]  # fmt: skip
    if as_json:
        _print_json(rows)
        return
    out.print(f"models directory: {models_dir} (BRUSHWORK_MODELS_DIR)")
    for row in rows:
        where = row["weights"]
        state = f"[green]{where}[/green]" if where else "[yellow]not on this machine[/yellow]"
        out.print(f"[bold]{row['name']}[/bold]  {row['repo']}  ({row['license']})")
        out.print(f"    apps: {', '.join(row['apps'])}\n    weights: {state}")


@models_cmd.command("pull")
def models_pull(
    name: Annotated[str, typer.Argument(help="a model name from `brushwork models list`")],
) -> None:
    """Download a model's weights into the models directory (the only command that downloads)."""
    from brushwork.engines.diffusion.catalog import MODELS
    from brushwork.engines.masks import WEIGHTS

    known = {m.name: (m.repo, m.license) for m in MODELS.values()} | WEIGHTS
    if name not in known:
        console.print(f"[red]unknown model {name!r}; known: {', '.join(known)}[/red]")
        raise typer.Exit(2)
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        console.print("[red]install the GPU extra first: pip install 'brushwork[diffusers]'[/red]")
        raise typer.Exit(1) from None
    repo, licence = known[name]
    target = _settings().diffusers.models_dir / name
    out.print(f"downloading {repo} ({licence}) into {target}")
    snapshot_download(repo, local_dir=target)
    out.print(f"done: the apps using {name} load it from {target}")


# ---------------------------------------------------------------- through the SDK


def _progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def follow(client: Client, stream: Any) -> dict[str, Any]:
    """Consume a task's update stream; a progress bar on a terminal. Returns the final task."""
    final: dict[str, Any] = {}
    show = console.is_terminal
    with _progress_bar() if show else _Quiet() as bar:
        bar_id = bar.add_task("queued", total=100) if show else TaskID(0)
        for update in stream:
            final = update
            if show:
                bar.update(
                    bar_id,
                    completed=update.get("progress", 0),
                    description=update.get("status_name", "").lower(),
                )
    return final


class _Quiet:
    def __enter__(self) -> Any:
        return self

    def __exit__(self, *_: object) -> None:
        return None


def _save(client: Client, task: dict[str, Any], target: Path, many: bool) -> list[Path]:
    saved = []
    images = (task.get("output") or {}).get("images", [])
    for i, image in enumerate(images):
        path = target
        if target.is_dir() or many:
            ext = Path(image["filename"]).suffix
            stem = (
                target / Path(image["filename"]).stem if target.is_dir() else target.with_suffix("")
            )
            path = stem.parent / f"{stem.name}{'' if target.is_dir() else f'-{i + 1}'}{ext}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(client.files.download(image["uri"]))
        saved.append(path)
    return saved


def _finish(client: Client, task: dict[str, Any], target: Path | None, as_json: bool) -> None:
    if TaskStatus.parse(task.get("status", 0)) != TaskStatus.COMPLETED:
        error = (task.get("error") or {}).get("message", task.get("status_name"))
        console.print(
            f"[red]task {task.get('id')} {task.get('status_name', '').lower()}:[/red] {error}"
        )
        if as_json:
            out.print_json(json.dumps(task))
        raise typer.Exit(1)
    n = len((task.get("output") or {}).get("images", []))
    saved = _save(client, task, target, many=n > 1) if target else []
    if as_json:
        out.print_json(json.dumps({**task, "saved": [str(p) for p in saved]}))
        return
    for path in saved:
        out.print(str(path))
    if not saved:
        for image in task["output"]["images"]:
            out.print(image["uri"])


@app.command()
def run(
    prompt: Annotated[str, typer.Argument(help="what to draw, or how to edit the image")],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="file (or directory) to write")
    ] = Path("brushwork.png"),
    size: Annotated[str | None, typer.Option(help="WIDTHxHEIGHT, e.g. 1536x1024")] = None,
    fit: Annotated[bool, typer.Option(help="round --size to the nearest valid size")] = False,
    image: Annotated[
        list[Path] | None, typer.Option("--image", help="reference image (repeat)")
    ] = None,
    mask: Annotated[Path | None, typer.Option(help="mask for the first image")] = None,
    n: Annotated[int, typer.Option("-n", help="number of images (1..10)")] = 1,
    quality: Annotated[str, typer.Option(help="auto, low, medium or high")] = "auto",
    fmt: Annotated[str | None, typer.Option("--format", help="png, jpeg or webp")] = None,
    compression: Annotated[int | None, typer.Option(help="jpeg/webp quality 0..100")] = None,
    seed: Annotated[int | None, typer.Option(help="same seed, same pixels")] = None,
    app_id: Annotated[str, typer.Option("--app", help="app id")] = "brushwork/studio",
    as_json: Annotated[bool, typer.Option("--json", help="print the task as JSON")] = False,
    expand: Annotated[
        str | None,
        typer.Option(help="outpaint: grow the --image by L,T,R,B pixels (or one number for all)"),
    ] = None,
    session: SessionOpt = None,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
) -> None:
    """Generate or edit images and save them (the short form of `app run`)."""
    inp: dict[str, Any] = {"prompt": prompt, "n": n, "quality": quality}
    if size:
        w, h = parse_size(size)
        if fit:
            fw, fh = fit_size(w, h)
            if (fw, fh) != (w, h):
                console.print(f"--fit: using {fw}x{fh} instead of {w}x{h}")
            w, h = fw, fh
        inp |= {"width": w, "height": h}
    fmt = fmt or {".jpg": "jpeg", ".jpeg": "jpeg", ".webp": "webp"}.get(
        output.suffix.lower(), "png"
    )
    if fmt not in CONTENT_TYPES:
        raise BrushworkError(
            f"--format must be png, jpeg or webp, got {fmt!r}", param="output_format"
        )
    inp["output_format"] = fmt
    for key, value in (("output_compression", compression), ("seed", seed)):
        if value is not None:
            inp[key] = value
    if image:
        inp["images"] = [Path(p) for p in image]
    if mask:
        inp["mask"] = Path(mask)
    if expand:
        inp |= _expanded(inp, expand)
    with _client(base_url, api_key) as client:
        task = follow(client, client.run(_params(app_id, inp, session), stream=True))
        _announce_session(task, session)
        _finish(client, task, output, as_json)


def _expanded(inp: dict[str, Any], expand: str) -> dict[str, Any]:
    """The first image on a larger canvas and the mask of its new border (SPEC §10), the
    original pixels kept exactly; says so when the border had to grow to an allowed size."""
    from PIL import Image

    from brushwork.client._common import expanded
    from brushwork.imaging.canvas import plan

    parts = [p.strip() for p in expand.split(",")]
    if len(parts) not in (1, 4) or not all(p.isdigit() for p in parts):
        raise BrushworkError(
            f"--expand takes L,T,R,B pixels or one number, got {expand!r}", param="expand"
        )
    left, top, right, bottom = [int(p) for p in parts] * (4 // len(parts))
    if not inp.get("images") or "mask" in inp:
        raise BrushworkError("--expand needs --image and makes its own mask", param="expand")
    with Image.open(inp["images"][0]) as source:
        size = source.size
    borders, note = plan(*size, left, top, right, bottom)
    if note:
        console.print(f"--expand: {note}")
    canvas, border = expanded(inp["images"][0], (left, top, right, bottom))
    width, height = borders.size_around(*size)
    return {"images": [canvas, *inp["images"][1:]], "mask": border, "width": width,
            "height": height}  # fmt: skip


@app.command("mask")
def mask_cmd(
    image: Annotated[Path, typer.Argument(help="the picture to select in")],
    output: Annotated[Path, typer.Option("-o", "--output", help="mask file")] = Path("mask.png"),
    subject: Annotated[bool, typer.Option("--subject", help="the main subject")] = False,
    background: Annotated[bool, typer.Option("--background", help="all but the subject")] = False,
    point: Annotated[
        list[str] | None, typer.Option("--point", help="X,Y to include (repeat); -X,Y excludes")
    ] = None,
    box: Annotated[str | None, typer.Option(help="X0,Y0,X1,Y1 around the object")] = None,
    colour: Annotated[str | None, typer.Option("--colour", "--color", help='"red"')] = None,
    text: Annotated[str | None, typer.Option(help='words: "the sky" (GPU engine)')] = None,
    grow: Annotated[int, typer.Option(help="pixels outward (negative: inward)")] = 0,
    feather: Annotated[int, typer.Option(help="pixels of soft edge")] = 0,
    invert: Annotated[bool, typer.Option(help="select the rest")] = False,
    alpha: Annotated[
        bool, typer.Option(help="write OpenAI's convention: RGBA, alpha 0 = selected")
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Make a mask in one click, on this machine (SPEC §10): white = selected, or --alpha."""
    from PIL import Image

    from brushwork.imaging import selection

    chosen = [n for n, on in (("subject", subject), ("background", background),
              ("point", bool(point)), ("box", box is not None), ("colour", colour is not None),
              ("text", text is not None)) if on]  # fmt: skip
    if len(chosen) != 1:
        raise BrushworkError(
            "give exactly one of --subject, --background, --point, --box, --colour, --text",
            param="mode",
        )
    options: dict[str, Any] = {}
    if point:
        options["points"] = [_numbers(p.lstrip("-"), 2, "point") for p in point]
        options["labels"] = [0 if p.startswith("-") else 1 for p in point]
    if box is not None:
        options["box"] = _numbers(box, 4, "box")
    if colour is not None or text is not None:
        options["text"] = colour if colour is not None else text
    with Image.open(image) as picture:
        picture.load()
    found = selection.select(picture, chosen[0], **options)
    found = selection.adjust(found, grow=grow, feather=feather, invert=invert)
    (selection.alpha_mask(found) if alpha else Image.fromarray(found, "L")).save(output)
    bounds, area = selection.extent(found)
    if as_json:
        _print_json({"mask": str(output), "box": bounds, "area": area})
    else:
        console.print(f"{output}: {area:.1%} selected, box {bounds}")


def _numbers(text: str, count: int, param: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != count:
        raise BrushworkError(f"--{param} takes {count} numbers, got {text!r}", param=param)
    return values


def _params(app_id: str, inp: dict[str, Any], session: str | None) -> dict[str, Any]:
    return {"app": app_id, "input": inp} | ({"session": session} if session else {})


def _announce_session(task: dict[str, Any], session: str | None) -> None:
    if session == "new" and task.get("session_id"):
        console.print(f"session {task['session_id']} (next pass: --session {task['session_id']})")


@app_cmd.command("list")
def app_list(base_url: BaseUrl = None, api_key: ApiKey = None, as_json: AsJson = False) -> None:
    """List the apps this server offers."""
    with _client(base_url, api_key) as client:
        apps = client.apps.list()
        if as_json:
            _print_json(apps)
            return
        for item in apps:
            state = (
                "available" if item["available"] else f"unavailable: {item['unavailable_reason']}"
            )
            out.print(f"{item['id']:<28} {state}")


@app_cmd.command("get")
def app_get(
    app_id: str,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    as_json: AsJson = True,  # noqa: ARG001 - always JSON; the flag is accepted like elsewhere
) -> None:
    """Describe an app, with its input and output schema (JSON)."""
    with _client(base_url, api_key) as client:
        out.print_json(json.dumps(client.apps.get(app_id)))


@app_cmd.command("run")
def app_run(
    app_id: str,
    input_: Annotated[str, typer.Option("--input", help="JSON text, or a path to a JSON file")],
    no_wait: Annotated[
        bool, typer.Option("--no-wait", help="print the queued task and exit")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the task as JSON")] = False,
    save: Annotated[Path | None, typer.Option(help="directory to save images in")] = None,
    session: SessionOpt = None,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
) -> None:
    """Run an app with a full input object."""
    text = Path(input_).read_text() if Path(input_).is_file() else input_
    try:
        inp = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BrushworkError(f"--input is not valid JSON: {exc}", param="input") from None
    with _client(base_url, api_key) as client:
        params = _params(app_id, inp, session)
        if no_wait:
            out.print_json(json.dumps(client.run(params, wait=False)))
            return
        task = follow(client, client.run(params, stream=True))
        _announce_session(task, session)
        if save:
            save.mkdir(parents=True, exist_ok=True)
        _finish(client, task, save, as_json)


@task_cmd.command("get")
def task_get(
    task_id: str,
    follow_: Annotated[bool, typer.Option("-f", "--follow", help="follow until it ends")] = False,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    as_json: AsJson = True,  # noqa: ARG001 - always JSON; the flag is accepted like elsewhere
) -> None:
    """Show a task (JSON); with -f, follow its progress until it ends."""
    with _client(base_url, api_key) as client:
        task = (
            follow(client, client.tasks.stream(task_id)) if follow_ else client.tasks.get(task_id)
        )
        out.print_json(json.dumps(task))


@task_cmd.command("rm")
def task_rm(
    task_ids: Annotated[list[str], typer.Argument(help="task ids")],
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
) -> None:
    """Delete finished tasks and their output files."""
    with _client(base_url, api_key) as client:
        for task_id in task_ids:
            client.tasks.delete(task_id)
            out.print(f"deleted task {task_id}")


@session_cmd.command("list")
def session_list(base_url: BaseUrl = None, api_key: ApiKey = None, as_json: AsJson = False) -> None:
    """Your sessions, newest first."""
    with _client(base_url, api_key) as client:
        page = client.sessions.list()
    if as_json:
        _print_json(page["data"])
        return
    for item in page["data"]:
        out.print(
            f"{item['id']}  {item['app']:<22} {item['status']:<8} "
            f"{item['call_count']} pass(es)  expires {item['expires_at']}"
        )


@session_cmd.command("get")
def session_get(
    session_id: str,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    as_json: AsJson = True,  # noqa: ARG001 - always JSON; the flag is accepted like elsewhere
) -> None:
    """A session's passes (oldest first) and its latest picture (JSON)."""
    with _client(base_url, api_key) as client:
        _print_json(client.sessions.get(session_id))


@session_cmd.command("end")
def session_end(session_id: str, base_url: BaseUrl = None, api_key: ApiKey = None) -> None:
    """End a session: later passes in it are refused (410)."""
    with _client(base_url, api_key) as client:
        client.sessions.end(session_id)
    out.print(f"ended session {session_id}")


@file_cmd.command("rm")
def file_rm(
    file_ids: Annotated[list[str], typer.Argument(help="file ids or uris")],
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
) -> None:
    """Delete uploaded files (their bytes too)."""
    with _client(base_url, api_key) as client:
        for file_id in file_ids:
            client.files.delete(file_id)
            out.print(f"deleted file {file_id}")


DEMO_PROMPT = 'A poster that says "Hello from brushwork" at sunset, with a starry sky'


def wait_healthy(base: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BrushworkError(f"the server exited with code {proc.returncode}; see its output")
        try:
            if httpx.get(f"{base}/health", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise BrushworkError(f"the server did not answer at {base} within {timeout:.0f} s")


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="port for the local server")] = 8420,
    output: Annotated[Path, typer.Option("-o", "--output", help="where the sample goes")] = Path(
        "out/sample.png"
    ),
    keep_serving: Annotated[bool, typer.Option(help="keep the server running afterwards")] = True,
    data_dir: DataDir = None,
) -> None:
    """Start a local dev server, generate a sample through the SDK, then keep serving."""
    cmd = [sys.executable, "-m", "brushwork.cli", "serve", "--dev", "--port", str(port)]
    if data_dir is not None:
        cmd += ["--data-dir", str(data_dir)]
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(cmd)  # noqa: S603 - our own interpreter and module, fixed args
    # SIGTERM (a supervisor, `kill`) stops the server it started, as Ctrl-C does
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        wait_healthy(base, proc, timeout=60)
        console.print(f"generating a sample: {DEMO_PROMPT!r}")
        with inference(base_url=base) as client:
            params = {"app": "brushwork/studio", "input": {"prompt": DEMO_PROMPT, "seed": 7}}
            task = follow(client, client.run(params, stream=True))
            output.parent.mkdir(parents=True, exist_ok=True)
            _finish(client, task, output, as_json=False)
        console.print(f"[green]sample written to {output.resolve()}[/green]")
        if keep_serving:
            console.print(f"server running at {base} (dev mode) - Ctrl-C to stop")
            proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        proc.terminate()
        proc.wait(15)


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt
