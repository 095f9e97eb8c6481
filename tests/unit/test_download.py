"""`mmbroker download` / `mmdownload` against files served from 127.0.0.1 (nothing leaves the machine):
listing, a download with its progress bar, resume with a Range request, digest checks that leave
nothing behind, HTTP errors, --mirror, a full disk, and the preprocessing `convert` takes from it."""

from __future__ import annotations

import hashlib
import json
import os

import pytest
from helpers import run_cli
from local_server import RangeHandler, entry_with, use_catalogue

from broker import catalogue
from broker.catalogue import ModelFile
from broker.catalogue.preprocess import image_preprocess_for, record
from broker.inputs import ImagePreprocess

PAYLOAD = os.urandom(300_000)


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("MMBROKER_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_catalogue_entries_are_complete():
    entries = catalogue.load()
    assert {"keras", "pytorch", "onnx", "caffe", "mxnet", "tensorflow", "darknet"} <= {e.framework for e in entries}
    for e in entries:
        assert e.home.startswith("http") and e.licence and e.input and e.files, e.key
        assert {"order", "scale", "mean", "std", "layout"} <= set(e.preprocessing), e.key
        for f in e.files:
            assert f.url.startswith("http") and f.url.rsplit("/", 1)[-1] == f.name, (e.key, f.url)
            assert f.algorithm in ("", "sha256", "sha256-prefix", "sha1", "md5"), f.digest
            lengths = {"sha256": 64, "sha1": 40, "md5": 32, "sha256-prefix": 8}
            assert not f.digest or len(f.expected) == lengths[f.algorithm], f.digest
    assert catalogue.find(entries, "inception_v3", "keras").assemble["output"] == "imagenet_inception_v3.h5"


def test_list_and_json(home):
    r = run_cli("download", "-f", "onnx", "--json")
    assert r.exit_code == 0, r.stderr
    names = [e["name"] for e in json.loads(r.stdout)]
    assert "resnet18-v2" in names and all(e["framework"] == "onnx" for e in json.loads(r.stdout))
    r = run_cli("download")
    assert r.exit_code == 0 and "squeezenet1.0" in r.stdout and "yolov3" in r.stdout


def test_unknown_name_suggests_the_closest(home):
    r = run_cli("download", "-f", "pytorch", "-n", "resnet5")
    assert r.exit_code == 1 and "Traceback" not in r.stderr
    assert "no model 'resnet5'" in r.stderr and "resnet50" in r.stderr
    r = run_cli("download", "-f", "fortran")
    assert r.exit_code == 1 and "frameworks in the catalogue" in r.stderr


def test_download_verifies_and_places(file_server, home, tmp_path, monkeypatch):
    root, url = file_server
    (root / "net.onnx").write_bytes(PAYLOAD)
    sha = hashlib.sha256(PAYLOAD).hexdigest()
    use_catalogue(monkeypatch, entry_with([("net.onnx", f"{url}/net.onnx", f"sha256:{sha}")], tmp_path))
    out = tmp_path / "out"
    r = run_cli("download", "-f", "onnx", "-n", "testnet", "-o", out)
    assert r.exit_code == 0, r.stderr
    assert (out / "net.onnx").read_bytes() == PAYLOAD
    assert "net.onnx: downloaded" in r.stderr and "━" in r.stderr  # the progress bar
    assert (home / "downloads" / "onnx" / "testnet" / "net.onnx").is_file()
    # cached: no second request
    before = len(RangeHandler.requests)
    r = run_cli("download", "-f", "onnx", "-n", "testnet", "-o", tmp_path / "again", "--json")
    assert r.exit_code == 0 and len(RangeHandler.requests) == before
    assert json.loads(r.stdout)["written"][0]["how"] == "cached"


def test_resume_asks_for_the_rest(file_server, home, tmp_path, monkeypatch):
    root, url = file_server
    (root / "net.onnx").write_bytes(PAYLOAD)
    use_catalogue(
        monkeypatch,
        entry_with(
            [("net.onnx", f"{url}/net.onnx", "sha256-prefix:" + hashlib.sha256(PAYLOAD).hexdigest()[:8])], tmp_path
        ),
    )
    part = home / "downloads" / "onnx" / "testnet" / "net.onnx.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(PAYLOAD[:100_000])  # an interrupted download
    r = run_cli("download", "-f", "onnx", "-n", "testnet", "-o", tmp_path / "out")
    assert r.exit_code == 0, r.stderr
    assert RangeHandler.requests[-1] == ("/net.onnx", "bytes=100000-")
    assert "net.onnx: resumed" in r.stderr
    assert (tmp_path / "out" / "net.onnx").read_bytes() == PAYLOAD and not part.exists()


def test_wrong_digest_leaves_nothing(file_server, home, tmp_path, monkeypatch):
    root, url = file_server
    (root / "net.onnx").write_bytes(PAYLOAD)
    use_catalogue(monkeypatch, entry_with([("net.onnx", f"{url}/net.onnx", "sha1:" + "0" * 40)], tmp_path))
    out = tmp_path / "out"
    r = run_cli("download", "-f", "onnx", "-n", "testnet", "-o", out)
    assert r.exit_code == 1 and "Traceback" not in r.stderr
    assert "digest-mismatch" in r.stderr and "nothing was kept" in r.stderr
    cache = home / "downloads" / "onnx" / "testnet"
    assert not out.exists() and not any(cache.iterdir())


def test_http_error_and_mirror(file_server, home, tmp_path, monkeypatch):
    root, url = file_server
    (root / "net.onnx").write_bytes(PAYLOAD)
    md5 = hashlib.md5(PAYLOAD).hexdigest()
    use_catalogue(monkeypatch, entry_with([("net.onnx", f"{url}/gone/net.onnx", f"md5:{md5}")], tmp_path))
    r = run_cli("download", "-f", "onnx", "-n", "testnet", "-o", tmp_path / "out")
    assert r.exit_code == 1 and "HTTP 404" in r.stderr and "download-failed" in r.stderr
    r = run_cli("download", "-f", "onnx", "-n", "testnet", "-o", tmp_path / "out", "--mirror", url)
    assert r.exit_code == 0, r.stderr
    (tmp_path / "home" / "downloads" / "onnx" / "testnet" / "net.onnx").unlink()
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "net.onnx").write_bytes(PAYLOAD)
    r = run_cli("download", "-f", "onnx", "-n", "testnet", "-o", tmp_path / "out2", "--mirror", mirror)
    assert r.exit_code == 0, r.stderr
    assert (tmp_path / "out2" / "net.onnx").read_bytes() == PAYLOAD


def test_unverified_file_says_so(file_server, home, tmp_path, monkeypatch):
    root, url = file_server
    (root / "net.cfg").write_bytes(b"[net]\n")
    use_catalogue(monkeypatch, entry_with([("net.cfg", f"{url}/net.cfg", "")], tmp_path))
    r = run_cli("download", "-f", "onnx", "-n", "testnet", "-o", tmp_path / "out")
    assert r.exit_code == 0 and "unverified" in r.stderr


def test_full_disk_removes_the_part(file_server, home, tmp_path, monkeypatch):
    """The part file is a link to /dev/full: every write fails with ENOSPC, as on a full disk."""
    root, url = file_server
    (root / "net.onnx").write_bytes(PAYLOAD)
    use_catalogue(monkeypatch, entry_with([("net.onnx", f"{url}/net.onnx", "")], tmp_path))
    part = home / "downloads" / "onnx" / "testnet" / "net.onnx.part"
    part.parent.mkdir(parents=True)
    part.symlink_to("/dev/full")
    r = run_cli("download", "-f", "onnx", "-n", "testnet", "-o", tmp_path / "out")
    assert r.exit_code == 1 and "no space left" in r.stderr and "Traceback" not in r.stderr
    assert not os.path.lexists(part) and not (tmp_path / "out").exists()


def test_mmdownload_program(file_server, home, tmp_path, monkeypatch, capsys):
    from broker.cli.mmdnn import mmdownload

    root, url = file_server
    (root / "net.onnx").write_bytes(PAYLOAD)
    use_catalogue(monkeypatch, entry_with([("net.onnx", f"{url}/net.onnx", "")], tmp_path))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.argv", ["mmdownload", "-f", "onnx", "-n", "testnet", "-o", "./"])
    with pytest.raises(SystemExit) as done:
        mmdownload()
        raise SystemExit(0)
    assert done.value.code in (0, None)
    assert (tmp_path / "net.onnx").read_bytes() == PAYLOAD
    assert "onnx model testnet is saved in [net.onnx]" in capsys.readouterr().out


def test_convert_takes_the_catalogue_preprocessing(home, tmp_path):
    model = tmp_path / "net.onnx"
    model.write_bytes(PAYLOAD)
    image = tmp_path / "cat.png"
    pre = {"order": "bgr", "scale": 1.0, "mean": [104.0, 117.0, 123.0], "std": [1.0, 1.0, 1.0], "layout": "nchw"}
    assert image_preprocess_for([str(model)], image)[0].order == "rgb"  # not from the catalogue
    record([model], "onnx/testnet", pre)
    got, note = image_preprocess_for([str(model)], image)
    assert (got.order, got.scale, got.mean) == ("bgr", 1.0, (104.0, 117.0, 123.0))
    assert "onnx/testnet" in note and "bgr" in note
    assert image_preprocess_for([str(model)], tmp_path / "x.npy")[0].order == "rgb"  # not an image
    chosen = ImagePreprocess(order="bgr", mean=(0.5,))
    assert image_preprocess_for([str(model)], image, chosen) == (chosen, "")  # the user's options win


def test_model_file_digest_kinds():
    assert ModelFile("a", "u", digest="sha256-prefix:f37072fd").verification() == "sha256 prefix"
    assert ModelFile("a", "u").verification() == "unverified"
