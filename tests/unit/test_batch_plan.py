"""`mmbroker batch` without Ray: plans read from YAML and TOML and refused with the place to fix,
the digest of a cell's inputs, finished cells found again, the matrix rendered; and convert's
options read by name the same way for the CLI and a plan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from broker.batch import matrix, store
from broker.batch.plan import read_plan
from broker.errors import BrokerError
from broker.pipeline import convert_request

pytestmark = pytest.mark.unit

YAML = """\
targets: [onnx, torch]
options: {seed: 3}
models:
  - name: net
    source: onnx
    files: [net.onnx]
    options: {inputShape: "1,3,8,8", atol: 1e-3}
  - name: other
    source: pytorch
    files: [sub/other.pt2]
"""


@pytest.fixture()
def plan_dir(tmp_path: Path) -> Path:
    (tmp_path / "net.onnx").write_bytes(b"onnx bytes")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "other.pt2").write_bytes(b"pt2 bytes")
    (tmp_path / "plan.yaml").write_text(YAML)
    return tmp_path


def test_yaml_plan_read(plan_dir: Path) -> None:
    plan = read_plan(plan_dir / "plan.yaml")
    assert plan.targets == ["onnx", "pytorch"]  # aliases resolved
    net, other = plan.models
    assert net.files == [plan_dir / "net.onnx"] and other.files == [plan_dir / "sub" / "other.pt2"]
    assert net.options == {"seed": 3, "inputShape": "1,3,8,8", "atol": 1e-3}
    cells = plan.cells()
    assert [c.key for c in cells] == ["net/onnx", "net/pytorch", "other/onnx", "other/pytorch"]
    assert cells[1].output_name == "net.pth" and cells[0].output_name == "net.onnx"
    assert len({c.digest for c in cells}) == 4


def test_toml_plan_gives_the_same_cells(plan_dir: Path) -> None:
    (plan_dir / "plan.toml").write_text(
        'targets = ["onnx", "torch"]\noptions = {seed = 3}\n'
        '[[models]]\nname = "net"\nsource = "onnx"\nfiles = ["net.onnx"]\n'
        'options = {inputShape = "1,3,8,8", atol = 1e-3}\n'
        '[[models]]\nname = "other"\nsource = "pytorch"\nfiles = ["sub/other.pt2"]\n'
    )  # fmt: skip
    from_yaml = [c.digest for c in read_plan(plan_dir / "plan.yaml").cells()]
    assert [c.digest for c in read_plan(plan_dir / "plan.toml").cells()] == from_yaml


def test_digest_follows_file_bytes_options_and_target(plan_dir: Path) -> None:
    before = {c.key: c.digest for c in read_plan(plan_dir / "plan.yaml").cells()}
    (plan_dir / "net.onnx").write_bytes(b"other onnx bytes")
    (plan_dir / "plan.yaml").write_text(YAML.replace("seed: 3", "seed: 4"))
    after = {c.key: c.digest for c in read_plan(plan_dir / "plan.yaml").cells()}
    assert all(after[k] != before[k] for k in before)
    (plan_dir / "plan.yaml").write_text(YAML)
    again = {c.key: c.digest for c in read_plan(plan_dir / "plan.yaml").cells()}
    assert again["other/onnx"] == before["other/onnx"] and again["net/onnx"] != before["net/onnx"]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (("options: {inputShape", "options: {inputShap"), ["unknown convert option inputShap", "net"]),
        (("name: other", "name: net"), ["two models are named 'net'"]),
        (("name: other", "name: ../x"), ["no usable name"]),
        (("[onnx, torch]", "[onnx, nosuch]"), ["unknown or unavailable framework"]),
        (("files: [net.onnx]", "files: [gone.onnx]"), ["file not found"]),
        (("source: pytorch", "source: pytorch\n    colour: red"), ["unknown key colour"]),
        (("targets: [onnx, torch]", "targets: [onnx, torch"), ["cannot be read"]),
        (("options: {seed: 3}", "options: {report: r.html}"), ["report is set by batch"]),
    ],
)
def test_bad_plans_refused(plan_dir: Path, change: tuple[str, str], words: list[str]) -> None:
    (plan_dir / "plan.yaml").write_text(YAML.replace(*change))
    with pytest.raises(BrokerError) as err:
        read_plan(plan_dir / "plan.yaml")
    assert err.value.reference in ("bad-option", "missing-file")
    for w in words:
        assert w in err.value.message


def test_finished_cell_found_only_with_the_same_digest(plan_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    cell = read_plan(plan_dir / "plan.yaml").cells()[0]
    assert store.finished(out, cell) is None
    record = {"model": "net", "target": "onnx", "status": "pass", "digest": cell.digest, "max_abs": 0.0, "max_rel": 0.0,
              "files": {"net.onnx": [b"x", b"z"], "../../escape": [b"y"]}, "report_bytes": b"<html>"}  # fmt: skip
    saved = store.save_cell(out, cell, record)
    assert saved["files"] == ["model/net.onnx"] and saved["report"] == "report.html"
    assert not (out / "cells" / "escape").exists() and not (out / "escape").exists()
    assert (out / "cells" / "net" / "onnx" / "model" / "net.onnx").read_bytes() == b"xz"
    assert store.finished(out, cell)["status"] == "pass"
    cell.digest = "changed"
    assert store.finished(out, cell) is None
    lost = {**record, "digest": cell.digest, "status": "error", "lost": True, "files": {}}
    store.save_cell(out, cell, lost)
    assert store.finished(out, cell) is None  # a worker lost at every attempt: run again
    assert sorted(p.name for p in (out / "cells" / "net").iterdir()) == ["onnx"]  # no staging left


def test_matrix_renders_each_status(plan_dir: Path, tmp_path: Path) -> None:
    plan = read_plan(plan_dir / "plan.yaml")
    cells = plan.cells()
    records = {
        "net/onnx": {"status": "pass", "max_abs": 1e-7, "max_rel": 2e-6, "attempts": 2, "report": "report.html"},
        "net/pytorch": {"status": "fail", "max_abs": 0.5, "max_rel": 0.25, "report": "report.html"},
        "other/onnx": {"status": "refused", "op": "Einsum", "reference": "unsupported-op", "message": "<b>x</b>"},
    }
    store.write_matrix(tmp_path, plan, cells, records)
    doc = json.loads((tmp_path / "matrix.json").read_text())
    by = {(c["model"], c["target"]): c for c in doc["cells"]}
    assert by[("other", "pytorch")]["status"] == "pending"
    assert by[("net", "onnx")]["retried"] and by[("net", "onnx")]["report"] == "cells/net/onnx/report.html"
    md = (tmp_path / "matrix.md").read_text()
    assert "[pass (max abs 1e-07, rel 2e-06), 2 attempts](cells/net/onnx/report.html)" in md
    assert "fail (max abs 0.5, rel 0.25)" in md and "refused (op Einsum)" in md
    page = (tmp_path / "matrix.html").read_text()
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page  # messages escaped
    assert 'class="fail" data-model="net" data-target="pytorch"' in page
    assert matrix.summary({"status": "error", "reference": "bad-shape", "message": "m"}) == "error (bad-shape: m)"


def test_convert_request_reads_options_by_name(tmp_path: Path) -> None:
    req, _ = convert_request(
        "onnx", ["m.onnx"], "coreml", tmp_path / "m.mlmodel",
        {"inputShape": "x:1,3,8,8", "isBGR": True, "redBias": -1.5, "class": "Net", "verify": "false",
         "atol": "1e-3", "dstNode": ["a", "b"], "size": "32,32"},
    )  # fmt: skip
    assert req.input_shapes[0].name == "x" and req.input_shapes[0].shape == [1, 3, 8, 8]
    assert req.emit_options == {"isBGR": "1", "redBias": "-1.5", "format": "mlmodel"}
    assert req.parse_options == {"class": "Net"} and req.verify is False and req.atol == 1e-3
    assert req.dst_nodes == ["a", "b"] and req.image is not None and req.image.size == (32, 32)
    with pytest.raises(BrokerError, match="unknown convert option colour"):
        convert_request("onnx", ["m.onnx"], "onnx", tmp_path / "o.onnx", {"colour": 1}, where="net")
    with pytest.raises(BrokerError) as err:
        convert_request("onnx", ["m.onnx"], "onnx", tmp_path / "o.onnx", {"atol": "tiny"})
    assert err.value.reference == "bad-option"


def test_without_ray_the_error_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from broker.batch.ray_run import import_ray

    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    with pytest.raises(BrokerError) as err:
        import_ray()
    assert err.value.reference == "missing-dependency" and "mmbroker[batch]" in err.value.hint


def test_cntk_cells_ask_for_a_node_with_cpython_36(plan_dir: Path) -> None:
    from broker.batch.ray_run import _needs, interpreter_resource

    assert interpreter_resource("cntk") == "python-3.6"
    assert interpreter_resource("onnx") == interpreter_resource("pytorch") == ""
    (plan_dir / "plan.yaml").write_text(YAML.replace("[onnx, torch]", "[onnx, cntk]"))
    needs = {c.key: _needs(c) for c in read_plan(plan_dir / "plan.yaml").cells()}
    assert needs["net/cntk"] == {"python-3.6": 1.0} and needs["net/onnx"] == {}


RUNNERS = """\
runners:
  onnx: {address: "grpcs://127.0.0.1:7443", tls_ca: tls/ca.pem, tls_cert: tls/c.pem, tls_key: tls/c.key}
"""


@pytest.fixture()
def tls_dir(plan_dir: Path) -> Path:
    (plan_dir / "tls").mkdir()
    for name in ("ca.pem", "c.pem", "c.key"):
        (plan_dir / "tls" / name).write_text("PEM")
    return plan_dir / "tls"


def test_plan_runners_read_relative_to_the_plan(plan_dir: Path, tls_dir: Path) -> None:
    from broker.batch.ray_run import _needs

    before = {c.key: c.digest for c in read_plan(plan_dir / "plan.yaml").cells()}
    cntk = YAML.replace("[onnx, torch]", "[onnx, cntk]") + RUNNERS.replace("onnx:", "cntk:")
    (plan_dir / "plan.yaml").write_text(cntk)
    plan = read_plan(plan_dir / "plan.yaml")
    [spec] = plan.runners.values()
    assert (spec.framework, spec.host, spec.port, spec.tls) == ("cntk", "127.0.0.1", 7443, True)
    assert (spec.ca, spec.cert, spec.key) == (tls_dir / "ca.pem", tls_dir / "c.pem", tls_dir / "c.key")
    cells = {c.key: c for c in plan.cells()}
    assert cells["net/cntk"].served == ["cntk"] and cells["net/onnx"].served == []
    assert _needs(cells["net/cntk"]) == {}  # served remotely: no node with CPython 3.6 needed
    assert cells["net/onnx"].digest == before["net/onnx"]  # local cells keep their digest
    (plan_dir / "plan.yaml").write_text(YAML + RUNNERS)
    served = {c.key: c for c in read_plan(plan_dir / "plan.yaml").cells()}
    assert served["net/onnx"].served == ["onnx"] and served["other/onnx"].served == ["onnx"]
    assert served["net/pytorch"].served == ["onnx"]  # its source
    assert served["other/pytorch"].served == [] and served["other/pytorch"].digest == before["other/pytorch"]
    assert all(served[k].digest != before[k] for k in ("net/onnx", "net/pytorch", "other/onnx"))


def test_plan_runners_in_toml(plan_dir: Path, tls_dir: Path) -> None:
    (plan_dir / "plan.toml").write_text(
        'targets = ["onnx"]\n[[models]]\nname = "net"\nsource = "onnx"\nfiles = ["net.onnx"]\n'
        '[runners.torch]\naddress = "grpc://127.0.0.1:7000"\nplaintext_loopback = true\n'
    )  # fmt: skip
    [spec] = read_plan(plan_dir / "plan.toml").runners.values()
    assert spec.framework == "pytorch" and not spec.tls and spec.ca is None


@pytest.mark.parametrize(
    ("runners", "reference", "words"),
    [
        ("runners: [onnx]\n", "bad-option", ["`runners` must map"]),
        ("runners: {onnx: {tls_ca: tls/ca.pem}}\n", "bad-option", ["runners.onnx needs an address"]),
        ("runners: {onnx: {address: 'grpcs://h:1', colour: red}}\n", "bad-option",
         ["runners.onnx: unknown key colour"]),
        ("runners: {onnx: {address: 'http://h:1'}}\n", "bad-option", ["runners.onnx", "FRAMEWORK=grpcs://HOST:PORT"]),
        ("runners: {onnx: {address: 'grpcs://h'}}\n", "bad-option", ["runners.onnx"]),
        ("runners: {onnx: {address: 'grpc://10.0.0.1:1', plaintext_loopback: true}}\n", "bad-option",
         ["plaintext gRPC is allowed only to a loopback address"]),
        ("runners: {onnx: {address: 'grpcs://h:1', tls_cert: tls/c.pem}}\n", "bad-option", ["go together"]),
        ("runners: {onnx: {address: 'grpcs://h:1', tls_ca: tls/gone.pem}}\n", "missing-file",
         ["runners.onnx: the tls_ca file is not found"]),
        ("runners: {nosuch: {address: 'grpcs://h:1'}}\n", "bad-option", ["runners.nosuch"]),
    ],
)  # fmt: skip
def test_bad_plan_runners_refused(
    plan_dir: Path, tls_dir: Path, runners: str, reference: str, words: list[str]
) -> None:
    (plan_dir / "plan.yaml").write_text(YAML + runners)
    with pytest.raises(BrokerError) as err:
        read_plan(plan_dir / "plan.yaml")
    assert err.value.reference == reference, err.value
    assert err.value.file.endswith("plan.yaml") or reference == "missing-file"
    for w in words:
        assert w in err.value.message, err.value.message


def test_batch_takes_remote_runners_from_the_command_line_the_plan_and_remote_toml(
    plan_dir: Path, tls_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """--runner wins over the plan's runners, which win over $MMBROKER_HOME/remote.toml (the Ray part
    of the command is left out: its runners are what it would run with)."""
    from helpers import run_cli

    from broker.batch import ray_run

    home = tmp_path / "home"
    home.mkdir()
    (home / "remote.toml").write_text(
        '[runners.onnx]\naddress = "grpcs://toml-host:1"\n[runners.caffe]\naddress = "grpcs://toml-host:2"\n'
        '[runners.pytorch]\naddress = "grpcs://toml-host:3"\n'
    )
    monkeypatch.setenv("MMBROKER_HOME", str(home))
    (plan_dir / "plan.yaml").write_text(YAML + RUNNERS.replace("onnx:", "pytorch:") + RUNNERS.replace("runners:\n", ""))
    seen: dict[str, Any] = {}
    monkeypatch.setattr(ray_run, "import_ray", lambda: None)
    monkeypatch.setattr(ray_run, "run_batch", lambda plan, out, opts: seen.update(plan.runners) or [])
    r = run_cli("batch", str(plan_dir / "plan.yaml"), "-o", str(tmp_path / "out"), "--runner",
                "onnx=grpcs://cli-host:7443", "--tls-ca", str(tls_dir / "ca.pem"))  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert {fw: spec.address for fw, spec in seen.items()} == {
        "onnx": "cli-host:7443", "pytorch": "127.0.0.1:7443", "caffe": "toml-host:2"}  # fmt: skip
    assert seen["onnx"].ca == tls_dir / "ca.pem" and seen["pytorch"].cert == tls_dir / "c.pem"
