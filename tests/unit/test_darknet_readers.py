"""The DarkNet cfg and .weights readers and the Torch7 reader of the darknet runner, without OpenCV:
structure, line numbers in errors, header versions, --darknetStart, truncated and overlong files."""

from __future__ import annotations

import numpy as np
import pytest
from parity import darknet_models as dm
from parity import t7_models as tm

from runners.common.errors import RunnerError
from runners.darknet import cfg as cfgmod
from runners.darknet.parse import convert
from runners.darknet.t7 import reader as t7reader
from runners.darknet.t7.parse import convert as convert_t7
from runners.darknet.weights import Weights

pytestmark = pytest.mark.unit


class Spec:
    def __init__(self, shape, name=""):
        self.shape, self.name = shape, name


def parse(tmp_path, net: dm.Net, weights: bytes | None = None, start=None, cfg_text: str | None = None):
    cfg_path = tmp_path / "net.cfg"
    cfg_path.write_text(cfg_text if cfg_text is not None else net.cfg())
    w = tmp_path / "net.weights"
    w.write_bytes(net.weights() if weights is None else weights)
    return convert(cfgmod.read(str(cfg_path)), Weights(str(w), start), [])


def test_cfg_sections_aliases_comments_and_whitespace():
    text = "# a comment\n[network]\nwidth = 32\n height=16\n;another\n\n[conv]\nfilters=4\nsize=3\nactivation=leaky\n"
    cfg = cfgmod.parse_text(text, "x.cfg")
    assert cfg.net.kind == "net" and [(s.kind, s.index, s.line) for s in cfg.layers] == [("convolutional", 0, 7)]
    assert cfg.net.int("width") == 32 and cfg.net.int("height") == 16
    assert "[convolutional]" in cfgmod.for_opencv(text) and "[net]" in cfgmod.for_opencv(text)


@pytest.mark.parametrize(
    "text,line,words",
    [
        ("[net]\n[convolutional]\nsize=3\nsize=1\n", 4, "size given twice"),
        ("width=3\n[net]\n", 1, "before the first section"),
        ("[net]\n[maxpool\n", 2, "does not end with ']'"),
        ("[net]\n[route]\nlayers\n", 3, "neither a [section] header nor key=value"),
    ],
)
def test_cfg_errors_name_the_line(text, line, words):
    with pytest.raises(RunnerError) as err:
        cfgmod.parse_text(text, "bad.cfg")
    assert f"line {line}" in err.value.message and words in err.value.message and err.value.file == "bad.cfg"


def test_cfg_without_net_first():
    with pytest.raises(RunnerError, match=r"\[net\]"):
        cfgmod.parse_text("[convolutional]\nsize=1\n", "x.cfg")


def test_value_that_is_not_a_number_names_line_and_layer(tmp_path):
    net = dm.ops_activations()
    text = net.cfg().replace("size=3", "size=three", 1)
    with pytest.raises(RunnerError) as err:
        parse(tmp_path, net, cfg_text=text)
    assert "size=three is not an integer" in err.value.message and err.value.node == "layer 0"


def test_unknown_section_refused_with_its_line(tmp_path):
    net = dm.ops_classifier()
    text = net.cfg().replace("[dropout]", "[frobnicate]")
    line = text.splitlines().index("[frobnicate]") + 1
    with pytest.raises(RunnerError) as err:
        parse(tmp_path, net, cfg_text=text)
    e = err.value
    assert e.reference == "unsupported-op" and f"[frobnicate] at line {line}" in e.message
    assert "no DarkNet layer type" in e.message and e.node == "layer 3"


def test_key_that_changes_the_layer_is_never_ignored(tmp_path):
    net = dm.ops_activations()
    text = net.cfg().replace("activation=relu", "activation=relu\ndilation=2", 1)
    with pytest.raises(RunnerError) as err:
        parse(tmp_path, net, cfg_text=text)
    assert err.value.reference == "unsupported-attribute" and "dilation" in err.value.message


def test_defaults_darknet_and_opencv_disagree_on_are_required(tmp_path):
    net = dm.ops_activations()
    text = net.cfg().replace("activation=relu\n", "", 1)
    with pytest.raises(RunnerError, match="no activation="):
        parse(tmp_path, net, cfg_text=text)


@pytest.mark.parametrize("version,seen_bits", [((0, 1, 0), 32), ((0, 2, 0), 64), ((1, 0, 0), 64)])
def test_header_versions(tmp_path, version, seen_bits):
    net = dm.ops_classifier()
    ctx, outputs = parse(tmp_path, net, net.weights(version=version))
    assert ctx.weights.bits == seen_bits and ctx.weights.seen == 32013312
    assert outputs == ["layer_5"]


def test_darknet_start_reads_a_header_that_lies(tmp_path):
    net = dm.ops_classifier()
    data = bytearray(net.weights(version=(0, 2, 0)))  # 64-bit seen ...
    data[4:8] = np.array([1], "<i4").tobytes()  # ... but the header says 0.1
    with pytest.raises(RunnerError) as err:
        parse(tmp_path, net, bytes(data))
    assert "1 float(s) left over" in err.value.message and "--darknetStart 1" in err.value.hint
    ctx, _ = parse(tmp_path, net, bytes(data), start=1)
    assert ctx.weights.bits == 64


def test_truncated_weights_name_the_layer_that_ran_out(tmp_path):
    net = dm.ops_yolov2()
    data = net.weights()
    with pytest.raises(RunnerError) as err:
        parse(tmp_path, net, data[: len(data) - 4000])
    e = err.value
    assert e.reference == "corrupt-model" and e.file.endswith("net.weights")
    assert "the file ends inside layer 12 [convolutional]" in e.message and e.node == "layer 12"


def test_overlong_weights_refused(tmp_path):
    net = dm.ops_yolov2()
    with pytest.raises(RunnerError) as err:
        parse(tmp_path, net, net.weights() + b"\0" * 40)
    assert "10 float(s) left over after layer 12 [convolutional]" in err.value.message


def test_raw_heads_are_the_outputs(tmp_path):
    ctx, outputs = parse(tmp_path, dm.yolov3_tiny(divisor=16))
    assert outputs == ["layer_15", "layer_22"]
    assert ctx.shapes["layer_15"] == [1, 255, 13, 13] and ctx.shapes["layer_22"] == [1, 255, 26, 26]


def test_head_that_does_not_match_its_convolution(tmp_path):
    net = dm.yolov3_tiny(divisor=16)
    text = net.cfg().replace("classes=80", "classes=20", 1)
    with pytest.raises(RunnerError, match="3 anchors x 25 values need 75"):
        parse(tmp_path, net, cfg_text=text)


def t7_bytes(net) -> bytes:
    w = tm.Writer()
    w.obj(net)
    return w.bytes()


def test_t7_reader_round_trip(tmp_path):
    path = tmp_path / "n.t7"
    path.write_bytes(t7_bytes(tm.t7_cnn()))
    root = t7reader.read(str(path))
    assert root.class_name == "nn.Sequential"
    conv = root.fields["modules"][1.0]
    assert conv.class_name == "nn.SpatialConvolution" and conv.fields["weight"].shape == (8, 3, 3, 3)
    ctx, out = convert_t7(root, str(path), [Spec([3, 16, 16])])
    assert out == "l22_Normalize" and ctx.shapes[out] == [1, 16]


def test_t7_truncated(tmp_path):
    path = tmp_path / "n.t7"
    path.write_bytes(t7_bytes(tm.t7_cnn())[:-100])
    with pytest.raises(RunnerError) as err:
        t7reader.read(str(path))
    assert err.value.reference == "corrupt-model" and "bytes, " in err.value.message


def test_t7_unknown_class_named_with_its_place(tmp_path):
    path = tmp_path / "n.t7"
    path.write_bytes(t7_bytes(tm.t7_unknown()))
    with pytest.raises(RunnerError) as err:
        convert_t7(t7reader.read(str(path)), str(path), [Spec([1, 3, 8, 8])])
    e = err.value
    assert e.reference == "unsupported-op" and "module 1.2 (nn.SpatialUpSamplingBilinear)" in e.message
    assert e.node == "1.2" and e.file == str(path)


def test_t7_lua_function_is_refused(tmp_path):
    path = tmp_path / "n.t7"
    path.write_bytes(np.array([6, 1], "<i4").tobytes() + b"\0" * 16)
    with pytest.raises(RunnerError) as err:
        t7reader.read(str(path))
    assert err.value.reference == "unsafe-model"


def test_t7_needs_an_input_shape(tmp_path):
    path = tmp_path / "n.t7"
    path.write_bytes(t7_bytes(tm.t7_cnn()))
    with pytest.raises(RunnerError) as err:
        convert_t7(t7reader.read(str(path)), str(path), [])
    assert err.value.reference == "missing-input-shape"
