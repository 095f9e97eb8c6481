"""CNTK 2.7's wheel (CPython 3.6 only) links against OpenMPI 1.10 sonames that no current Debian
ships. Every MPI symbol it uses exists in OpenMPI 4.1 (Debian `libopenmpi3`), so a private folder
in the environment links the old sonames to the new libraries and is put on the runner's
LD_LIBRARY_PATH. CNTK never initialises MPI unless distributed training is asked for.

The pip that `python3.6 -m venv` bundles (18.1) does not know manylinux2014 wheels, so it is
upgraded first to the last pip that runs on 3.6."""

import glob
import os
import subprocess

PIP = "pip==21.3.1"
LIBS_DIR = "mmbroker-mpi"
# soname CNTK asks for -> library of libopenmpi3 it is linked to
SONAMES = {"libmpi.so.12": "libmpi.so.40", "libmpi_cxx.so.1": "libmpi_cxx.so.40"}
SEARCH = ["/usr/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu/openmpi/lib", "/usr/lib64", "/usr/lib"]


def pre_install(ctx):
    ctx.run([str(ctx.python), "-m", "pip", "install", "--disable-pip-version-check", PIP])


def _package_files(package):
    try:
        out = subprocess.run(["dpkg", "-L", package], stdout=subprocess.PIPE, universal_newlines=True, check=False)
    except OSError:
        return []
    return out.stdout.splitlines()


def find_library(name, package="libopenmpi3"):
    """The real path of shared library `name`, from the package's file list, else common folders."""
    for path in _package_files(package):
        if os.path.basename(path) == name and os.path.exists(path):
            return os.path.realpath(path)
    for folder in SEARCH:
        for path in glob.glob(os.path.join(folder, name)):
            return os.path.realpath(path)
    return None


def post_install(ctx):
    from broker.errors import BrokerError

    libs = ctx.env_dir / LIBS_DIR
    libs.mkdir(exist_ok=True)
    for old, new in SONAMES.items():
        real = find_library(new)
        if real is None:
            raise BrokerError(
                "%s not found: CNTK needs OpenMPI's %s (linked as %s)" % (new, new, old),
                reference="env-library-missing",
                framework=ctx.spec.framework,
                hint="as root: apt-get install -y libopenmpi3",
            )
        link = libs / old
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(real)
    folders = ["{env}/" + LIBS_DIR]
    if ctx.env_vars.get("LD_LIBRARY_PATH"):
        folders.append(ctx.env_vars["LD_LIBRARY_PATH"])
    ctx.env_vars["LD_LIBRARY_PATH"] = ":".join(folders)
