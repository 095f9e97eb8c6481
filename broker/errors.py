"""The one error type users see: a short reference, a message, where it happened and what to do.

References and their default hints are listed in `error_refs.py` (docs/errors.md)."""

from __future__ import annotations

from typing import Any

from .error_refs import default_hint


class BrokerError(Exception):
    """An error the user can act on. Shown without a traceback unless --debug is given.

    A raise without a reference is a bug in the raise itself, hence the default `internal-bug`;
    a raise without a hint gets the reference's default hint."""

    reference = "internal-bug"

    def __init__(
        self,
        message: str,
        *,
        reference: str | None = None,
        hint: str = "",
        file: str = "",
        node: str = "",
        op: str = "",
        opset: int = 0,
        framework: str = "",
        nodes: list[str] | None = None,
        context: dict[str, Any] | None = None,
        exit_code: int = 1,
    ) -> None:
        super().__init__(message)
        if reference:
            self.reference = reference
        self.message = message
        self.hint = hint or default_hint(self.reference)
        self.file = file
        self.node = node
        self.op = op
        self.opset = opset
        self.framework = framework
        self.nodes = list(nodes or [])
        self.context = dict(context or {})
        self.exit_code = exit_code
        self.debug_detail = ""

    def __str__(self) -> str:
        text = self.message
        where = ""
        if self.node:
            where = f"at node '{self.node}'"
            if self.op:
                where += f" ({self.op}{f', opset {self.opset}' if self.opset else ''})"
        elif self.op:
            where = f"({self.op})"
        if where:
            text = f"{where}: {text}"
        if self.framework and not text.startswith(self.framework):
            text = f"{self.framework}: {text}"
        if self.file and self.file not in text:
            text = f"{self.file}: {text}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "message": self.message,
            "hint": self.hint,
            "file": self.file,
            "node": self.node,
            "op": self.op,
            "opset": self.opset,
            "framework": self.framework,
            "nodes": self.nodes,
        }


class RunnerFailed(BrokerError):
    """A runner reported a structured error for a call (unsupported op, corrupt model, ...)."""


class RunnerCrashed(BrokerError):
    """The runner process died, did not start, or did not answer within its deadline."""

    reference = "runner-crashed"
