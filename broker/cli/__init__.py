"""The `mmbroker` command line. One module per command group, composed with add_typer."""

from .app import app, main, run

__all__ = ["app", "main", "run"]
