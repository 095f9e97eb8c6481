"""What a pickle stream would import, read without unpickling it.

torch.load(weights_only=True) decides whether a file is safe; this module only explains a refusal:
it lists the globals (`posix.system`, `__main__.Net`, ...) the stream names, so an error can say
why loading it would run code, and it tells a pickle that names such objects from bytes that are
no pickle at all (a corrupt file). The standard library's pickletools disassembles without
executing; torch's own `get_unsafe_globals_in_checkpoint` reads only GLOBAL opcodes of zip
checkpoints, not STACK_GLOBAL (protocol 4+) or legacy files, hence this walk.
"""

import io
import pickletools
import re
import zipfile

_STRING_OPS = {
    "SHORT_BINUNICODE",
    "BINUNICODE",
    "BINUNICODE8",
    "UNICODE",
    "STRING",
    "BINSTRING",
    "SHORT_BINSTRING",
}
_PUSH_OPS_WITHOUT_STRING = {"STACK_GLOBAL", "GLOBAL", "INST"}
_DOTTED = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$")


class Scan(object):
    """`globals`: dotted names the stream imports; `parsed`: the first pickle reached STOP."""

    def __init__(self):
        self.globals = []
        self.parsed = False

    def add(self, module, name):
        full = "%s.%s" % (module, name) if module is not None and name is not None else "?"
        if full != "?" and not _DOTTED.match(full):
            full = "?"
        if full not in self.globals:
            self.globals.append(full)


def _scan_one(stream, scan):
    """Walk one pickle; return True if it reached STOP."""
    memo = {}
    recent = []  # values pushed, a str for strings and None for anything else
    for op, arg, _pos in pickletools.genops(stream):
        name = op.name
        if name in _STRING_OPS:
            value = arg.decode("latin-1") if isinstance(arg, bytes) else arg
            recent.append(value)
        elif name == "GLOBAL" or name == "INST":
            module, _, attr = str(arg).partition(" ")
            scan.add(module, attr)
            recent.append(None)
        elif name == "STACK_GLOBAL":
            module = recent[-2] if len(recent) >= 2 else None
            attr = recent[-1] if recent else None
            scan.add(module, attr)
            recent[-2:] = [None]
        elif name == "MEMOIZE":
            memo[len(memo)] = recent[-1] if recent else None
        elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
            memo[arg] = recent[-1] if recent else None
        elif name in ("GET", "BINGET", "LONG_BINGET"):
            recent.append(memo.get(arg))
        elif op.stack_after and name not in _PUSH_OPS_WITHOUT_STRING:
            recent.append(None)
        if name == "STOP":
            return True
    return False


def scan_stream(data, max_pickles=5):
    """Globals named by the pickles at the start of `data` (a legacy torch.save file holds several
    in a row, then raw storage bytes)."""
    scan = Scan()
    stream = io.BytesIO(data)
    for i in range(max_pickles):
        start = stream.tell()
        try:
            done = _scan_one(stream, scan)
        except (ValueError, EOFError, IndexError, UnicodeDecodeError, OverflowError):
            done = False
        if not done:
            break
        if i == 0:
            scan.parsed = True
        if stream.tell() == start or stream.tell() >= len(data):
            break
    return scan


def scan_file(path):
    """Scan a torch.save file: the data.pkl of a zip checkpoint, or a legacy (plain pickle) file."""
    with open(path, "rb") as f:
        data = f.read()
    if zipfile.is_zipfile(io.BytesIO(data)):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                pkl = [n for n in z.namelist() if n == "data.pkl" or n.endswith("/data.pkl")]
                data = z.read(pkl[0]) if pkl else b""
        except (zipfile.BadZipFile, OSError, KeyError, EOFError):
            data = b""
    return scan_stream(data)


def unsafe(scan, allowed):
    """The globals of `scan` not in `allowed` (a set of dotted names); '?' for one it could not name."""
    return [g for g in scan.globals if g not in allowed]


def torch_allowed_globals():
    """What torch.load(weights_only=True) accepts (torch's own table plus user additions)."""
    try:
        from torch import _weights_only_unpickler as wo

        return set(wo._get_allowed_globals()) | set(wo._get_user_allowed_globals())
    except (ImportError, AttributeError):  # a torch without the table: name every global
        return set()
