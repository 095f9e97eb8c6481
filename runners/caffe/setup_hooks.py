"""Caffe has no binary wheel for CPython 3.11: build one from the brocolli-caffe 9.0.2 sdist (BVLC
Caffe plus SSD layers, CMake through setup.py) once per machine, cache it under
$MMBROKER_HOME/wheels/caffe-<recipe hash>/, and let the pin `brocolli-caffe==9.0.2` install it.

What the sdist needs on Debian 12 (measured):
- setup.py requires conda, reads only the first digit of the gcc version and refuses Python > 3.9:
  those checks go, and CMake gets its arguments from this hook instead of $CONDA_PREFIX;
- python/CMakeLists.txt links `-lboost_python`, which Debian names `boost_python311`;
- HDF5 headers and libraries live under hdf5/serial; net.cpp includes a gtest header it never uses;
- the shipped caffe_pb2.py needs protobuf <= 3.20: it is generated again by the system protoc
  (3.21, whose output loads under protobuf 4.x to 7.x).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tarfile
import tempfile
from pathlib import Path

from broker import paths
from broker.envs.installer import clean_environment, find_uv

SDIST = "brocolli-caffe==9.0.2"
SDIST_FILE = "brocolli-caffe-9.0.2.tar.gz"
SDIST_SHA256 = "c6410cc60bdd6db685d441b66be7df05410f8850ac88d6b75d48ef9b2315c08a"
BUILD_PACKAGES = [
    "cmake", "g++", "make", "libboost-system-dev", "libboost-thread-dev", "libboost-filesystem-dev",
    "libboost-regex-dev", "libboost-python-dev", "libgoogle-glog-dev", "libgflags-dev", "libprotobuf-dev",
    "protobuf-compiler", "libhdf5-dev", "libopenblas-dev", "libgtest-dev",
]  # fmt: skip
BUILD_TOOLS = ["setuptools==65.5.0", "wheel==0.48.0"]
JOBS = str(max(1, min(os.cpu_count() or 2, 4)))
HDF5_INCLUDE = "/usr/include/hdf5/serial"
HDF5_LIB = "/usr/lib/x86_64-linux-gnu/hdf5/serial"
CMAKE_ARGS = "-DCMAKE_SKIP_RPATH=ON -DANACONDA_HOME=/nonexistent -DPYTHON_VERSION=python"

# (file, text in the sdist, replacement): each must match exactly once.
PATCHES = [
    ("setup.py", "out = subprocess.check_output(['conda', '--version'])", "pass"),
    ("setup.py", "if int(out[0]) < 5:", "if int(out.split('.')[0]) < 5:"),
    (
        "setup.py",
        "if sys.version_info.minor > 9 or sys.version_info.minor < 7:",
        "if sys.version_info.minor < 7:",
    ),
    ("setup.py", "if subprocess.call(install_command) != 0:", "if False:"),
    (
        "setup.py",
        "cmake_command = ['cmake', '-DANACONDA_HOME='+os.environ['CONDA_PREFIX'], "
        "'-DPYTHON_VERSION='+python_version, \"-B\", self.build_temp]",
        "cmake_command = ['cmake'] + os.environ['CAFFE_CMAKE_ARGS'].split() + ['-B', self.build_temp]",
    ),
    ("setup.py", "'-j4'", "'-j' + os.environ['CAFFE_BUILD_JOBS']"),
    ("python/CMakeLists.txt", "-lboost_python ", "-lboost_python311 "),
    ("src/caffe/net.cpp", '#include "caffe/test/test_caffe_main.hpp"\n', ""),
]


def numpy_pin(spec) -> str:
    pins = [f"numpy=={p.version}" for p in spec.pins if p.name == "numpy"]
    return pins[0] if pins else "numpy"


def cache_dir(spec, minor: str) -> Path:
    """Where the wheel of this recipe lives: the key is a hash of everything the build depends on
    (the sdist, the patches, build tools and flags, the interpreter's minor version, numpy)."""
    recipe = [SDIST, SDIST_SHA256, PATCHES, BUILD_TOOLS, HDF5_INCLUDE, HDF5_LIB, CMAKE_ARGS, minor, numpy_pin(spec)]
    key = hashlib.sha256(json.dumps(recipe).encode()).hexdigest()[:12]
    return paths.home() / "wheels" / ("caffe-" + key)


def cached_wheel(cache: Path) -> Path | None:
    wheels = sorted(cache.glob("brocolli_caffe-9.0.2-*.whl")) if cache.is_dir() else []
    return wheels[0] if wheels else None


def doctor_checks(spec, interpreter) -> list[tuple[str, str, str, str]]:
    """(status, name, detail, hint) for `mmbroker env doctor caffe`: the wheel, or what building it needs."""
    from broker.envs import system

    wheel = cached_wheel(cache_dir(spec, interpreter.minor))
    if wheel is not None:
        return [("ok", "caffe wheel", f"built before: {wheel}", "")]
    missing = system.missing_packages(BUILD_PACKAGES)
    if missing:
        return [
            (
                "warn",
                "caffe wheel",
                "not built yet; building it (7-15 min, once) needs Debian packages: " + ", ".join(missing),
                "as root: " + system.apt_install_command(missing),
            )
        ]
    return [("info", "caffe wheel", "not built yet: the first `env setup caffe` compiles it (7-15 min, once)", "")]


def pre_install(ctx) -> None:
    cache = cache_dir(ctx.spec, ctx.interpreter.minor)
    wheel = cached_wheel(cache)
    if wheel is not None:
        ctx.log(f"using the Caffe wheel built before: {wheel}")
    else:
        ctx.ensure_system_packages(BUILD_PACKAGES, purpose="to build")
        cache.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".caffe-build-", dir=cache.parent))
        try:
            wheel = build_wheel(ctx, work)
            staged = work / "cache"
            staged.mkdir()
            shutil.move(str(wheel), staged / wheel.name)
            if not cache.exists():
                os.replace(staged, cache)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        ctx.log(f"Caffe wheel cached in {cache}")
    ctx.install_args += ["--find-links", str(cache)]


def build_wheel(ctx, work: Path) -> Path:
    ctx.log(f"building Caffe ({SDIST}) from source with {JOBS} jobs: this takes 7-15 minutes once per machine")
    python = make_build_venv(ctx, work / "venv")
    ctx.run([python, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", SDIST, "-d", work])
    sdist = work / SDIST_FILE
    digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
    if digest != SDIST_SHA256:
        raise RuntimeError(f"{sdist} has sha256 {digest}, expected {SDIST_SHA256}: the sdist changed upstream")
    with tarfile.open(sdist) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(work, filter="data")
        else:  # Python before 3.11.4: the sdist's checksum was verified above
            tar.extractall(work)
    src = work / SDIST_FILE[: -len(".tar.gz")]
    apply_patches(src)
    proto = src / "src" / "caffe" / "proto"
    ctx.run(["protoc", f"-I{proto}", f"--python_out={src / 'python' / 'caffe' / 'proto'}", proto / "caffe.proto"])
    probe = "import numpy, sysconfig; print(numpy.get_include()); print(sysconfig.get_paths()['include'])"
    include = ctx.run([python, "-c", probe]).tail[-2:]
    env = clean_environment(
        {
            "CAFFE_CMAKE_ARGS": CMAKE_ARGS + ctx.interpreter.minor,
            "CAFFE_BUILD_JOBS": JOBS,
            "CXXFLAGS": " ".join("-I" + d for d in include + [HDF5_INCLUDE]),
            "LDFLAGS": "-L" + HDF5_LIB,
        }
    )
    out = work / "wheel"
    ctx.run([python, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-v", "-w", out, src], env=env)
    wheels = sorted(out.glob("brocolli_caffe-*.whl"))
    if not wheels:
        raise RuntimeError(f"the Caffe build wrote no wheel into {out}")
    return wheels[0]


def make_build_venv(ctx, target: Path) -> Path:
    uv = find_uv()
    if uv is not None:
        ctx.run([uv, "venv", "--seed", "--no-config", "--python", ctx.interpreter.path, target])
    else:
        ctx.run([ctx.interpreter.path, "-m", "venv", target])
    python = target / "bin" / "python"
    ctx.run([python, "-m", "pip", "install", numpy_pin(ctx.spec), *BUILD_TOOLS])
    return python


def apply_patches(src: Path) -> None:
    for name, old, new in PATCHES:
        path = src / name
        text = path.read_text()
        if text.count(old) != 1:
            raise RuntimeError(f"cannot patch {path}: expected {old!r} once, found it {text.count(old)} times")
        path.write_text(text.replace(old, new))
