"""The `mmbroker` command line. One module per command group, composed with add_typer."""

from .app import app, main

__all__ = ["app", "main"]
