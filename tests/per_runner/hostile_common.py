"""What the hostile-file scripts share (they run in a framework's environment, this folder on
their path): proving each live case runs its payload when loaded the naive way, and the index."""

import json
import os
import subprocess
import sys


def prove_and_index(out, entries, naive_load=None):
    """With `naive_load`, for each live entry run `naive_load(entry)` (a `python -c` argument
    list) in a child process and fail unless the payload left its marker (then remove it). Write
    the entries to OUT/hostile.json."""
    for e in entries:
        if not naive_load or not e["live"]:
            continue
        subprocess.run([sys.executable, "-c", *naive_load(e)], capture_output=True, timeout=600)
        if not os.path.exists(e["marker"]):
            sys.exit("%s: the naive load did not run the payload; the case proves nothing" % e["name"])
        os.unlink(e["marker"])
    with open(os.path.join(out, "hostile.json"), "w") as f:
        json.dump(entries, f, indent=1)
