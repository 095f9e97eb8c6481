"""DarkNet .weights files: a header, then every layer's float32 parameters in cfg order.

Header (DarkNet parser.c `load_weights_upto`): int32 major, minor, revision, then `seen` (images
trained on) as uint64 when major*10+minor >= 2 and both are below 1000, else as int32. Version 0.1
files (YOLOv2 era) have the 16-byte header, 0.2 and later (YOLOv3, YOLOv4) the 20-byte one. MMdnn's
`--darknetStart 0|1` forced the 32-bit (0) or 64-bit (1) `seen` for files whose header lies; it
is taken here with the same meaning.

A major or minor version above 1000 marks files whose [connected] weights are stored transposed.

The floats are consumed layer by layer (`take`); too few for the cfg, or floats left over after
the last layer, are errors naming the layer: a .weights file is only meaningful with the .cfg it
was trained with.
"""

import os

import numpy as np

from runners.common.errors import RunnerError
from runners.common.loading import require_file


def seen_bits(major, minor):
    return 64 if (major * 10 + minor) >= 2 and major < 1000 and minor < 1000 else 32


class Weights(object):
    def __init__(self, path, start=None):
        require_file(path, "DarkNet .weights")
        self.path = path
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(20)
        if len(head) < 16:
            raise RunnerError(
                "corrupt-model",
                "%d bytes: shorter than the 16-byte DarkNet header" % size,
                file=path,
                hint="the file is truncated or not DarkNet weights; give the .weights saved with this .cfg",
            )
        self.major, self.minor, self.revision = (int(v) for v in np.frombuffer(head[:12], dtype="<i4"))
        self.header_bits = seen_bits(self.major, self.minor)
        if start is not None:
            self.bits = 64 if int(start) == 1 else 32
        else:
            self.bits = self.header_bits
        self.offset = 12 + self.bits // 8
        if len(head) < self.offset:
            raise RunnerError(
                "corrupt-model",
                "%d bytes: shorter than the %d-byte header of version %d.%d"
                % (size, self.offset, self.major, self.minor),
                file=path,
                hint="the file is truncated; give the complete .weights",
            )
        seen = head[12 : self.offset]
        self.seen = int(np.frombuffer(seen, dtype="<u8" if self.bits == 64 else "<u4")[0])
        self.transposed = self.major > 1000 or self.minor > 1000
        body = size - self.offset
        self.data = np.fromfile(path, dtype="<f4", offset=self.offset, count=body // 4)
        self.tail_bytes = body % 4
        self.pos = 0
        self.short = None  # (section, what, count, floats left) where the file first ran out

    @property
    def version(self):
        return "%d.%d.%d" % (self.major, self.minor, self.revision)

    def describe_header(self):
        forced = " (--darknetStart %d)" % (1 if self.bits == 64 else 0) if self.bits != self.header_bits else ""
        return "version %s, %d-bit 'seen'%s" % (self.version, self.bits, forced)

    def _start_hint(self, surplus):
        """A hint when a 'seen' of the other width would make the file fit exactly (`surplus` floats
        left over, negative when missing)."""
        if (self.bits, surplus) in ((64, -1), (32, 1)):
            other = 0 if self.bits == 64 else 1
            return (
                " The file fits with a %d-bit 'seen' in its header: if the header's version is wrong, "
                "--darknetStart %d reads it so." % (64 if other else 32, other)
            )
        return ""

    def take(self, count, section, what):
        """The next `count` floats, for `what` of `section` (a cfg Section). Past the end of the file
        zeros stand in, and the first layer that ran out is remembered for `finish` to name, once the
        whole cfg has said how many floats it needs."""
        count = int(count)
        end = self.pos + count
        if end > len(self.data) and self.short is None:
            self.short = (section, what, count, max(len(self.data) - self.pos, 0))
        out = self.data[self.pos : end]
        if out.size < count:
            out = np.concatenate([out, np.zeros(count - out.size, dtype=np.float32)])
        self.pos = end
        return out

    def finish(self, last):
        """Check that the file held exactly the floats the cfg needs; `last` is the last section that
        read weights (or None)."""
        surplus = len(self.data) - self.pos
        header = self.describe_header()
        if self.short is not None:
            section, what, count, have = self.short
            raise RunnerError(
                "corrupt-model",
                "the file ends inside %s: its %s need %d floats, %d are left. The cfg needs %d floats, the file "
                "holds %d after the header (%s)" % (section.label, what, count, have, self.pos, len(self.data), header),
                file=self.path,
                node="layer %d" % section.index,
                op=section.kind,
                hint="the .weights is truncated or belongs to another .cfg; give the pair that was trained "
                "together." + self._start_hint(surplus),
            )
        if surplus or self.tail_bytes:
            where = "after %s" % last.label if last is not None else "although the cfg has no layer with weights"
            raise RunnerError(
                "corrupt-model",
                "%d float(s)%s left over %s: the cfg needs %d floats, the file holds %d after the header (%s)"
                % (
                    surplus,
                    " and %d byte(s)" % self.tail_bytes if self.tail_bytes else "",
                    where,
                    self.pos,
                    len(self.data),
                    header,
                ),
                file=self.path,
                node="layer %d" % last.index if last is not None else "",
                op=last.kind if last is not None else "",
                hint="the .weights belongs to another .cfg (more or larger layers), or the file has data appended; "
                "give the pair that was trained together." + self._start_hint(surplus),
            )
