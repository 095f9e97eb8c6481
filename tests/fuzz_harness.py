"""Running fuzz cases through the real CLI: each case is one `mmbroker ...` command run in-process
(error rendering and exit codes included) under a deadline, and its outcome is checked: exit 0, a
parity verdict, or exactly one clean `error[<reference>]` with a reference of the table that is
not `internal-bug` and not a timeout. Runners stay warm between cases (one per framework for the
whole module) so that a case costs a call, not a process start."""

from __future__ import annotations

import faulthandler
import os
import re
import signal
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

from helpers import run_cli

from broker.error_refs import REFERENCES
from broker.pipeline import Session

ERROR_LINE = re.compile(r"^error\[([a-z0-9-]+)\]: ", re.M)
# outcomes that are findings, not clean errors: our own bug, a hang
FINDINGS = {"internal-bug", "runner-timeout"}


class CaseTimeout(BaseException):
    """Raised in the test's thread when a case runs past its deadline (a BaseException, so that the
    CLI's own handler of unexpected exceptions does not swallow it)."""


@contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Fail a case that hangs: an alarm interrupts Python code; a hang inside C code that no signal
    reaches ends the test process with every thread's traceback after twice the time."""

    def expire(signum: int, frame: Any) -> None:
        raise CaseTimeout(f"no answer within {seconds} s")

    old = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    faulthandler.dump_traceback_later(2 * seconds + 30, exit=True)
    try:
        yield
    finally:
        signal.alarm(0)
        faulthandler.cancel_dump_traceback_later()
        signal.signal(signal.SIGALRM, old)


class WarmSession(Session):
    """A Session whose runners outlive it, shared by every case of a module, each call under the
    fuzz deadline (a runner that hangs is stopped by its call deadline and restarted next case)."""

    POOL: dict[str, Any] = {}
    CALL_TIMEOUT = 60.0

    def runner(self, framework: str, quiet: bool = False) -> Any:
        proc = self.POOL.get(framework)
        if proc is None or not proc.alive():
            self._runners.pop(framework, None)
            proc = super().runner(framework, quiet)
            proc.call_timeout = self.CALL_TIMEOUT
            self.POOL[framework] = proc
        self._runners[framework] = proc
        return proc

    def close(self) -> None:
        self._runners.clear()  # the pool's runners stay up for the next case
        super().close()

    @classmethod
    def stop_all(cls) -> None:
        for proc in cls.POOL.values():
            proc.stop()
        cls.POOL.clear()


@dataclass
class Outcomes:
    counts: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)

    def run(self, case: str, *args: Any, timeout: int = 120) -> str:
        """Run one command; record its outcome (ok, parity-fail or the error's reference)."""
        try:
            with deadline(timeout):
                r = run_cli(*args)
        except CaseTimeout as exc:
            self.problems.append(f"{case}: `mmbroker {' '.join(map(str, args))}` hung: {exc}")
            self.counts["hang"] += 1
            return "hang"
        refs = ERROR_LINE.findall(r.stderr)
        if r.exit_code == 0 and not refs:
            outcome = "ok"
        elif r.exit_code == 1 and not refs and "parity: FAIL" in r.stdout:
            outcome = "parity-fail"
        elif r.exit_code == 1 and len(refs) == 1:
            outcome = refs[0]
        else:
            outcome = "unclean"
        if (
            "Traceback" in r.stderr
            or outcome == "unclean"
            or outcome in FINDINGS
            or (outcome not in ("ok", "parity-fail") and outcome not in REFERENCES)
        ):
            self.problems.append(
                f"{case}: `mmbroker {' '.join(map(str, args))}` -> exit {r.exit_code}, {outcome}:\n{r.stderr[-1500:]}"
            )
        self.counts[outcome] += 1
        self.log.append(f"{case}: {' '.join(map(str, args))}: {outcome}: {(r.stderr.strip().splitlines() or [''])[0]}")
        return outcome

    def report(self) -> None:
        """Print the outcome counts (and every case's outcome to $MMBROKER_FUZZ_LOG); fail on findings."""
        print(f"fuzz outcomes: {dict(sorted(self.counts.items()))}")
        if os.environ.get("MMBROKER_FUZZ_LOG"):
            with open(os.environ["MMBROKER_FUZZ_LOG"], "a") as f:
                f.write("\n".join(self.log) + "\n")
        assert not self.problems, "\n\n".join(self.problems)
