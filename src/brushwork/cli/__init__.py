"""The ``brushwork`` command line (typer + rich, from the ``cli`` extra)."""


def main() -> None:
    try:
        from brushwork.cli.main import main as run
    except ModuleNotFoundError as exc:  # the SDK alone was installed
        raise SystemExit(
            f"the brushwork command needs the CLI extra ({exc.name} is missing): "
            "pip install 'brushwork[cli]' (or 'brushwork[server]' to run a server)"
        ) from None
    run()


__all__ = ["main"]
