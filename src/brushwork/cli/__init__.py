"""The ``brushwork`` command line (typer + rich)."""

from brushwork.cli.main import app, main

__all__ = ["app", "main"]
