"""DarkNet .cfg files: `[section]` headers followed by `key=value` lines.

Read as DarkNet's own `read_cfg` reads them (whitespace inside a line ignored, `#` and `;` start a
comment line, `[net]`/`[network]` first), but strictly: a key given twice, a line that is neither a
header nor `key=value`, and a value that is not the number it must be are errors naming the line,
where DarkNet would silently take one reading and OpenCV another.

Every value a converter reads is marked used; `Section.unused()` lists the keys no converter read,
so a key that changes what a layer computes is never ignored (training-only keys are listed in
`TRAINING_KEYS` and may stay unread).
"""

import io

from runners.common.errors import RunnerError

# DarkNet's alternative section names (parser.c string_to_layer_type) -> the canonical name.
ALIASES = {
    "network": "net",
    "conv": "convolutional",
    "conn": "connected",
    "max": "maxpool",
    "avg": "avgpool",
    "soft": "softmax",
    "lrn": "normalization",
    "local_avg": "local_avgpool",
}

# Section types DarkNet knows (beyond the ones with a converter): refused as unsupported, not unknown.
DARKNET_TYPES = {
    "shortcut", "scale_channels", "sam", "crop", "cost", "detection", "region", "yolo", "Gaussian_yolo", "local",
    "convolutional", "activation", "net", "crnn", "gru", "lstm", "conv_lstm", "history", "rnn", "connected",
    "maxpool", "local_avgpool", "reorg3d", "reorg", "avgpool", "dropout", "normalization", "batchnorm", "softmax",
    "route", "upsample", "empty", "silence", "implicit_add", "implicit_mul", "contrastive", "deconvolutional",
}  # fmt: skip

# Keys that only matter for training (or for DarkNet's own data loading): read by no converter.
TRAINING_KEYS = {
    "stopbackward", "train_only_bn", "dont_update", "burnin_update", "learning_rate", "learning_rate_min",
    "assisted_excitation", "jitter", "ignore_thresh", "truth_thresh", "random", "iou_thresh", "cls_normalizer",
    "iou_normalizer", "obj_normalizer", "iou_loss", "iou_thresh_kind", "nms_kind", "beta_nms", "max_delta",
    "resize", "counters_per_class", "label_smooth_eps", "focal_loss", "objectness_smooth", "uc_normalizer",
    "delta_normalizer", "object_scale", "noobject_scale", "class_scale", "coord_scale", "rescore", "bias_match",
    "absolute", "probability", "type", "max", "track_history_size", "sim_thresh", "dets_for_track",
    "dets_for_show", "track_ciou_norm", "embedding_layer", "map", "log", "sqrt", "smooth", "classfix",
    "dropblock", "dropblock_size_rel", "dropblock_size_abs",
}  # fmt: skip


class Section(object):
    """One `[type]` block: its options {key: (value, line)} and where it stands."""

    def __init__(self, path, header, kind, line, index):
        self.path = path
        self.header = header  # as written, e.g. "conv"
        self.kind = kind  # canonical, e.g. "convolutional"
        self.line = line
        self.index = index  # DarkNet's layer index (-1 for [net])
        self.options = {}
        self.used = set()

    @property
    def label(self):
        return "[net]" if self.index < 0 else "layer %d [%s] (line %d)" % (self.index, self.header, self.line)

    def error(self, reference, message, key=None, hint=""):
        line = self.options[key][1] if key in self.options else self.line
        return RunnerError(
            reference,
            "line %d: %s" % (line, message),
            file=self.path,
            node="layer %d" % self.index if self.index >= 0 else "net",
            op=self.kind,
            hint=hint,
        )

    def has(self, key):
        return key in self.options

    def text(self, key, default=None):
        self.used.add(key)
        if key not in self.options:
            return default
        return self.options[key][0]

    def _number(self, key, default, kind, convert):
        self.used.add(key)
        if key not in self.options:
            return default
        value = self.options[key][0]
        try:
            return convert(value)
        except ValueError:
            raise self.error(
                "corrupt-model", "%s=%s is not %s" % (key, value, kind), key, hint="fix the value in the .cfg"
            )

    def int(self, key, default=None):
        return self._number(key, default, "an integer", int)

    def float(self, key, default=None):
        return self._number(key, default, "a number", float)

    def ints(self, key, default=None):
        return self._number(key, default, "a list of integers", lambda v: [int(x) for x in v.split(",") if x])

    def floats(self, key, default=None):
        return self._number(key, default, "a list of numbers", lambda v: [float(x) for x in v.split(",") if x])

    def use_all(self):
        """Mark every key read (a section whose keys do not change what is computed)."""
        self.used.update(self.options)

    def unused(self):
        return [k for k in self.options if k not in self.used and k not in TRAINING_KEYS]


class Cfg(object):
    def __init__(self, path, net, layers):
        self.path = path
        self.net = net
        self.layers = layers


def read(path):
    """Parse the .cfg at `path` into a Cfg ([net] and the layer sections, in order)."""
    from runners.common.loading import require_file

    require_file(path, "DarkNet .cfg")
    with open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RunnerError(
            "corrupt-model",
            "not a text file (byte %d is not UTF-8)" % exc.start,
            file=path,
            hint="give the network's .cfg with -in and its .weights with -iw",
        )
    return parse_text(text, path)


def parse_text(text, path="<cfg>"):
    sections = []
    for number, raw_line in enumerate(io.StringIO(text), 1):
        line = "".join(raw_line.split())  # DarkNet's strip(): every space and tab goes
        if not line or line[0] in "#;":
            continue
        if line[0] == "[":
            if not line.endswith("]") or len(line) < 3:
                raise RunnerError(
                    "corrupt-model",
                    "line %d: section header %r does not end with ']'" % (number, raw_line.strip()),
                    file=path,
                    hint="a section starts with a line like [convolutional]",
                )
            header = line[1:-1]
            kind = ALIASES.get(header, header)
            index = len(sections) - 1 if sections else -1
            sections.append(Section(path, header, kind, number, index))
            continue
        key, sep, value = line.partition("=")
        if not sep or not key:
            raise RunnerError(
                "corrupt-model",
                "line %d: %r is neither a [section] header nor key=value" % (number, raw_line.strip()),
                file=path,
                hint="fix or remove that line of the .cfg",
            )
        if not sections:
            raise RunnerError(
                "corrupt-model",
                "line %d: option %s before the first section" % (number, key),
                file=path,
                hint="a DarkNet .cfg starts with a [net] section",
            )
        section = sections[-1]
        if key in section.options:
            raise RunnerError(
                "corrupt-model",
                "line %d: %s given twice in %s (first at line %d)"
                % (number, key, section.label, section.options[key][1]),
                file=path,
                node="layer %d" % section.index if section.index >= 0 else "net",
                op=section.kind,
                hint="DarkNet takes the first value and OpenCV the last; keep one",
            )
        section.options[key] = (value, number)
    if not sections or sections[0].kind != "net":
        raise RunnerError(
            "corrupt-model",
            "the first section is %s, not [net]" % ("[%s]" % sections[0].header if sections else "missing"),
            file=path,
            hint="a DarkNet .cfg starts with [net] (width, height, channels), then the layers",
        )
    layers = sections[1:]
    for s in layers:
        if s.kind == "net":
            raise s.error("corrupt-model", "a second [net] section", hint="a .cfg has one [net], the first section")
    return Cfg(path, sections[0], layers)


def for_opencv(cfg_text):
    """The cfg text with DarkNet's alternative section names written out ([conv] -> [convolutional],
    [network] -> [net]), which OpenCV's importer does not know."""
    out = []
    for raw_line in io.StringIO(cfg_text):
        line = "".join(raw_line.split())
        if line.startswith("[") and line.endswith("]") and line[1:-1] in ALIASES:
            raw_line = "[%s]\n" % ALIASES[line[1:-1]]
        out.append(raw_line)
    return "".join(out)
