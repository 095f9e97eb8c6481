"""What cleans up after a broker that cannot: the watchdog process and the stale temp-folder sweep."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from processes import running, wait_for

from broker import tempdirs

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]

BROKER = """
import subprocess, sys, time
from broker import tempdirs
from broker.watchdog import WATCHDOG
folder = tempdirs.make("work")
kept = tempdirs.make("kept")
tempdirs.remove(kept)                   # removed by the broker itself: forgotten by the watchdog
(kept.parent / kept.name).mkdir()       # ... so a folder of that name made later is not touched
sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
WATCHDOG.add_group(sleeper.pid)
print(folder, kept, sleeper.pid, WATCHDOG._proc.pid, flush=True)
time.sleep(60)
"""


def test_watchdog_cleans_up_after_a_killed_broker(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), TMPDIR=str(tmp_path))
    broker = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(BROKER)], stdout=subprocess.PIPE, text=True, env=env
    )
    folder, kept, sleeper, watchdog = broker.stdout.readline().split()
    assert Path(folder).is_dir() and running(int(sleeper))
    broker.kill()
    broker.wait()
    try:
        assert wait_for(lambda: not running(int(sleeper)) and not running(int(watchdog)), 2.0)
        assert wait_for(lambda: not Path(folder).exists(), 2.0)
        assert Path(kept).is_dir()
    finally:
        for pid in (int(sleeper), int(watchdog)):
            if running(pid):
                os.kill(pid, 9)


def test_watchdog_does_nothing_after_a_normal_exit(tmp_path):
    code = "from broker import tempdirs; print(tempdirs.make('work'))"
    env = dict(os.environ, PYTHONPATH=str(ROOT), TMPDIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert not Path(out.stdout.strip()).exists()  # removed at exit by the broker itself


def test_stale_folders_of_dead_processes_are_swept(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    mine = tmp_path / f"mmbroker-work-{os.getpid()}-abcd1234"
    stale = tmp_path / f"mmbroker-onnx-{dead.pid}-abcd1234"
    unrelated = [tmp_path / "mmbroker-work-abcd1234", tmp_path / f"other-work-{dead.pid}-abcd1234"]
    for p in [mine, stale, *unrelated]:
        p.mkdir()
    (stale / "tmp").mkdir()
    (tmp_path / f"mmbroker-work-{dead.pid}-file0000").write_text("a file, not a folder")
    assert tempdirs.sweep_stale(tmp_path) == [stale]
    assert not stale.exists() and mine.exists() and all(p.exists() for p in unrelated)


def test_make_names_the_owner_and_is_private(tmp_path):
    p = tempdirs.make("work", parent=tmp_path)
    try:
        assert p.name.startswith(f"mmbroker-work-{os.getpid()}-") and (p.stat().st_mode & 0o777) == 0o700
        assert tempdirs.stale(tmp_path) == []
    finally:
        tempdirs.remove(p)
    assert not p.exists()


def test_signals_ignored_at_start_stay_ignored():
    """`nohup mmbroker ...` keeps running when the terminal closes."""
    code = (
        "import signal\n"
        "signal.signal(signal.SIGHUP, signal.SIG_IGN)\n"
        "from broker import interrupts\n"
        "assert interrupts.install()\n"
        "assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN\n"
        "assert signal.getsignal(signal.SIGTERM) is interrupts._handler\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=dict(os.environ, PYTHONPATH=str(ROOT)))
