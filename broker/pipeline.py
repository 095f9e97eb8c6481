"""One conversion session: the runners it needs (started once each), a workspace, the steps.

with Session(console) as s:
    ir = s.toir("pytorch", ["m.pt2"], ...)
    files = s.tocode("onnx", ir, out_dir)
    model = s.tomodel("onnx", files, "m.onnx")
    report = s.verify(("pytorch", ["m.pt2"]), ("onnx", model), ir)
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np
from rich.console import Console

from runners.common import ir as common_ir
from runners.common import tensors
from runners.common.rpc import pb

from . import ircache, parity, tempdirs, warm
from .error_refs import default_hint
from .errors import BrokerError
from .frameworks import READS_FOLDERS
from .inputs import ImagePreprocess, PreparedInputs, at_other_sizes, open_input, prepare_inputs
from .ir import preload
from .ir.files import IRFiles
from .ir.inputs import read as graph_inputs
from .outputs import StagedOutput, check_folder, check_output, copy_into
from .shapes import FREE_BATCH, ShapeHint, dim_names, parse_dims, resolve
from .supervisor import RunnerProcess

if TYPE_CHECKING:
    import onnx

    from .ir.legalize import Capabilities

# The IR passes (and onnx under them) are imported where they are used: a conversion served from
# the caches (broker/ircache.py: parsed IR, emitted code, reference outputs) runs none of them, and
# their import is 50 ms of its 0.8 s.


@dataclass
class InputShape:
    """A shape given with --inputShape: None where a dimension is left free (`?`, `-1` or a name, kept
    in `dim_names`); MMdnn's form without the batch (3,224,224) leaves the batch free."""

    name: str
    shape: list[int | None]
    dim_names: list[str] = field(default_factory=list)
    dtype: str = ""  # the parser's default (float32) when not said

    @classmethod
    def parse(cls, text: str) -> InputShape:
        """`1,3,224,224`, `[1,3,224,224]`, `name:1,3,224,224`, `N,3,224,224` or `?,3,224,224`."""
        name, _, dims = text.rpartition(":") if ":" in text else ("", "", text)
        name = name.strip()
        shape = parse_dims(dims, f"--inputShape for {name}" if name else "--inputShape")
        names = dim_names(dims)
        return cls(name, shape, names if any(names) else [])

    def hint(self) -> ShapeHint:
        return ShapeHint(self.name, list(self.shape), "--inputShape")

    def concrete(self) -> list[int]:
        """The shape a parser is given: each free dimension at the value it is first checked at."""
        if all(d is not None for d in self.shape):
            return [int(d) for d in self.shape if d is not None]
        (_, dims, _), *_ = resolve([(self.name, self.shape, "float32")])[0]
        return dims

    def free_axes(self, rank: int, input_name: str) -> dict[int, str]:
        """{axis: dimension name} of the dimensions this shape leaves free in an input of `rank`
        dimensions: the batch when the shape leaves it out, and every `?`/`-1`/named one."""
        shift = 1 if len(self.shape) == rank - 1 else 0
        if len(self.shape) + shift != rank:
            return {}
        free = {0: FREE_BATCH} if shift else {}
        for i, d in enumerate(self.shape):
            if d is None:
                given = self.dim_names[i] if i < len(self.dim_names) else ""
                axis = i + shift
                free[axis] = given or (FREE_BATCH if axis == 0 else f"{input_name}_dim{axis}")
        return free


@dataclass
class EnvOptions:
    python: str | None = None
    find_links: tuple[str, ...] = ()
    no_index: bool = False


@dataclass
class Session:
    console: Console | None = None
    workspace: Path | None = None
    keep_workspace: bool = False
    env_options: EnvOptions = field(default_factory=EnvOptions)
    keep_warm: bool | None = None  # reuse and keep warm runners (broker/warm.py); default MMBROKER_KEEP_WARM
    ir_cache: bool | None = None  # reuse parsed IR (broker/ircache.py); default MMBROKER_IR_CACHE
    timings: dict[str, float] = field(default_factory=dict)
    remotes: dict[str, Any] = field(default_factory=dict)  # framework -> broker.remote.RemoteSpec: served elsewhere
    _runners: dict[str, RunnerProcess] = field(default_factory=dict)
    _envs: dict[str, Any] = field(default_factory=dict)
    _starting: dict[str, threading.Lock] = field(default_factory=dict)  # one start of a framework's runner at a time
    _guard: threading.Lock = field(default_factory=threading.Lock)
    _describe: dict[str, Future[Any]] = field(default_factory=dict)
    _given_source: str = ""  # the first source parsed, to name in errors about the workspace
    _sources: dict[Path, str] = field(default_factory=dict)  # IR graph -> the source file it was parsed from
    _own_workspace: bool = False
    fixed_sizes: dict[str, str] = field(default_factory=dict)  # target -> the sizes tocode fixed, said
    _ahead: dict[str, Future[Any]] = field(default_factory=dict)  # reference outputs being computed already
    _ahead_threads: list[tuple[str, threading.Thread]] = field(default_factory=list)  # (framework, thread)
    _closing: bool = False
    _ir_entries: dict[Path, str] = field(default_factory=dict)  # IR graph -> its IR cache entry
    _said: list[str] = field(default_factory=list)  # what the passes said for the target being emitted

    def __enter__(self) -> Session:
        if self.keep_warm is None:
            self.keep_warm = warm.enabled()
        if self.ir_cache is None:
            self.ir_cache = ircache.enabled()
        if self.workspace is None:
            self.workspace = tempdirs.make("work")  # removed even if the broker is killed
            self._own_workspace = True
        else:
            check_folder(self.workspace)
            self.workspace.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if isinstance(exc, BrokerError):
            self._name_user_files(exc)
        self.close()

    def _name_user_files(self, err: BrokerError) -> None:
        """An error about a file in this session's own temporary workspace (the IR, generated code)
        names the user's model instead: the user never saw the workspace, which is gone by now. A
        workspace file that is damaged or inconsistent is mmbroker's own output, so a bug."""
        if not self._own_workspace or self.workspace is None:
            return
        roots = {str(self.workspace), str(self.workspace.resolve())}
        pattern = re.compile("|".join(re.escape(r) for r in roots) + r"""[^\s'",;)]*""")
        if not pattern.search(err.file) and not pattern.search(err.message):
            return
        source = self._given_source or "the model"
        err.file = source if pattern.search(err.file) else err.file
        err.message = pattern.sub(
            lambda m: f"<intermediate {Path(m.group()).suffix or 'file'} of {source}>", err.message
        )
        err.nodes = [pattern.sub("<intermediate file>", n) for n in err.nodes]
        if err.reference in _BLAME_THE_FILE:
            err.message = f"mmbroker's own intermediate files are wrong ({err.reference}): {err.message}"
            err.reference = "internal-bug"
            err.hint = default_hint("internal-bug")

    def close(self) -> None:
        self._closing = True  # a reference run in the background starts nothing more
        busy = {fw for fw, t in self._ahead_threads if t.is_alive()}
        self._stop_runners(busy)
        for _, thread in self._ahead_threads:  # its call ends as its runner goes
            thread.join(timeout=30)
        self._stop_runners(busy)  # one it started meanwhile
        if self._own_workspace and not self.keep_workspace and self.workspace is not None:
            tempdirs.remove(self.workspace)

    def _stop_runners(self, busy: set[str]) -> None:
        """Stop this session's runners side by side (each takes a moment to exit); warm ones go back
        to the pool, except one still running a call for a background reference run (`busy`),
        which is stopped: the next command must not get a runner in the middle of a call."""
        runners = list(self._runners.items())
        self._runners.clear()

        def end(item: tuple[str, RunnerProcess]) -> None:
            fw, r = item
            r.release() if isinstance(r, warm.WarmRunner) and fw not in busy else r.stop()

        if runners:
            with ThreadPoolExecutor(len(runners)) as pool:
                list(pool.map(end, runners))

    @property
    def ws(self) -> Path:
        assert self.workspace is not None, "use Session as a context manager"
        return self.workspace

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - t0

    def _status(self, text: str) -> Any:
        if self.console is None:
            return _NullStatus()
        return self.console.status(text, spinner="dots")

    # -- runners ---------------------------------------------------------------------------
    def runner(self, framework: str, quiet: bool = False) -> RunnerProcess:
        """The framework's runner, started (or taken from the warm pool) on first use; `quiet`
        shows no status line (a start in the background)."""
        with self._guard:
            lock = self._starting.setdefault(framework, threading.Lock())
        with lock:
            if framework in self._runners and self._runners[framework].alive():
                return self._runners[framework]
            if framework in self.remotes:
                from .remote import RemoteRunner

                with self.phase("runner start"), self._status(f"connecting to the remote {framework} runner"):
                    self._runners[framework] = RemoteRunner(self.remotes[framework]).start()
                return self._runners[framework]
            handle = self.env(framework)
            status = _NullStatus() if quiet else self._status(f"starting the {framework} runner")
            with self.phase("runner start"), status:
                proc = self._warm_runner(framework, handle) or RunnerProcess(framework, handle.python,
                                                                             env=handle.env_vars).start()  # fmt: skip
            self._runners[framework] = proc
            return proc

    def env(self, framework: str) -> Any:
        """The framework's environment (built first if needed), checked once per session."""
        if framework not in self._envs:
            from .envs import ensure_env

            with self.phase("env check"):
                self._envs[framework] = ensure_env(
                    framework,
                    python=self.env_options.python,
                    find_links=self.env_options.find_links,
                    no_index=self.env_options.no_index,
                    console=self.console,
                )
        return self._envs[framework]

    def _warm_runner(self, framework: str, handle: Any) -> RunnerProcess | None:
        """A warm runner of this environment from the pool, or a new one that will stay warm; None
        when runners are not kept warm."""
        if not self.keep_warm:
            return None
        old = self._runners.pop(framework, None)
        if isinstance(old, warm.WarmRunner):
            old.failed = True
            old.release()  # it died under this session: retired
        env_dir = getattr(handle, "path", None)
        args = (framework, handle.python, getattr(handle, "key", ""), env_dir)
        return warm.acquire(*args) or warm.start(*args, env=handle.env_vars)

    def prepare(self, *frameworks: str) -> None:
        """Set up these runners' environments now (building a missing one, with progress), and
        start each runner and let it load its framework in the background while the session works
        on something else: a conversion prepares its target while the source is parsed."""
        for fw in frameworks:
            if fw not in self.remotes:
                self.env(fw)
            if fw not in self._describe:
                future: Future[Any] = Future()
                self._describe[fw] = future

                def ask(fw: str = fw, future: Future[Any] = future) -> None:
                    try:
                        future.set_result(self.runner(fw, quiet=True).describe())
                    except BaseException as exc:  # handed to whoever asks for the answer
                        future.set_exception(exc)

                threading.Thread(target=ask, name=f"prepare-{fw}", daemon=True).start()

    # -- steps -----------------------------------------------------------------------------
    def toir(
        self,
        framework: str,
        sources: list[str],
        *,
        inputs: list[InputShape] | None = None,
        outputs: list[str] | None = None,
        trust_model: bool = False,
        options: dict[str, str] | None = None,
        stem: Path | None = None,
        prepare: tuple[str, ...] = (),
    ) -> IRFiles:
        """Parse into the IR; `prepare` names runners (a conversion's target) to start and warm up
        while the source is parsed. The IR of a model parsed before with the same parser and
        options is taken from the cache (broker/ircache.py) instead; the source's runner is then
        started only when `prepare` names it."""
        check_sources(framework, sources)
        self._given_source = self._given_source or sources[0]
        target = stem or self.ws / "ir" / Path(sources[0]).stem
        inputs = inputs or self.declared_inputs(framework, sources)
        request = {"inputs": [(i.name, list(i.shape), i.dim_names, i.dtype) for i in inputs or []],
                   "outputs": list(outputs or []), "trust_model": trust_model,
                   "options": dict(sorted((options or {}).items()))}  # fmt: skip
        cache = self._cache_root(framework)
        entry = ""
        if cache is not None:
            with self.phase("ir cache"):
                entry = ircache.key(framework, sources, self.env(framework), request, cache)
                files = ircache.fetch(cache, entry, target)
            if files is not None:
                self._sources[files.graph.resolve()] = sources[0]
                self._ir_entries[files.graph.resolve()] = entry
                self.prepare(*prepare)
                return files
        self.prepare(*(fw for fw in prepare if fw != framework))
        runner = self.runner(framework)
        preload.start()  # the passes' libraries load while the runner parses
        digests = _file_digests(sources)
        parse_dir = self.ws / "parse"
        parse_dir.mkdir(exist_ok=True)
        req = pb.ParseRequest(
            sources=[str(Path(s).resolve()) for s in sources],
            inputs=[pb.InputSpec(name=i.name, shape=i.concrete(), dtype=i.dtype) for i in inputs or []],
            outputs=list(outputs or []),
            opset=common_ir.IR_OPSET,
            workspace=str(parse_dir),
            trust_model=trust_model,
            options=options or {},
        )
        with self.phase("parse"), self._status(f"parsing {Path(sources[0]).name} with {framework}"):
            resp = runner.call("Parse", req)
        from .ir import save_ir
        from .ir import weights as ir_weights
        from .ir.canonical import canonicalize
        from .ir.validate import validate

        with self.phase("file transfer"):  # the weights stay in the parser's file (broker/ir/weights.py)
            model = ir_weights.attach(resp.graph, ir_weights.index_npz(resp.weights.path))
        with self.phase("ir passes"):
            model = validate(common_ir.set_ir_version(model), where=sources[0], made_by=f"the {framework} parser")
            _stamp_source(model, framework, sources, runner, digests.result())
            model, _ = canonicalize(model, where=sources[0])
            model = self._free(model, inputs or [], framework, sources[0])
            model = validate(model, where=sources[0], made_by="canonicalization")
        with self.phase("file transfer"):
            files = save_ir(model, target)
        if cache is not None:
            with self.phase("ir cache"):
                ircache.store(cache, entry, files)
            self._ir_entries[files.graph.resolve()] = entry
        self._sources[files.graph.resolve()] = sources[0]
        return files

    def declared_inputs(self, framework: str, sources: list[str]) -> list[InputShape]:
        """The inputs generated PyTorch code declares (broker/code_inputs.py), said when used."""
        from .code_inputs import class_file, declared_inputs

        declared = declared_inputs(sources) if framework == "pytorch" else None
        if not declared:
            return []
        if self.console is not None:
            shown = ", ".join(f"{n} {'x'.join('?' if d is None else str(d) for d in dims)} {t}"
                              for n, dims, t in declared)  # fmt: skip
            self.console.print(f"input shapes from {class_file(sources)} (INPUTS): {shown}", highlight=False,
                               markup=False)  # fmt: skip
        return [InputShape(name, dims, dtype=dtype) for name, dims, dtype in declared]

    def _free(self, model: onnx.ModelProto, shapes: list[InputShape], framework: str, where: str) -> onnx.ModelProto:
        """The dimensions --inputShape leaves free (the batch of MMdnn's 3,224,224; `?`, `-1`, names)
        made free in the IR the parser made at their first values (`free_dims.free_input_dims`)."""
        from .ir.free_dims import free_input_dims

        inputs = common_ir.graph_inputs(model)
        unnamed = [i for i in shapes if not i.name]
        free: dict[str, dict[int, str]] = {}
        for position, vi in enumerate(inputs):
            given = next((i for i in shapes if i.name == vi.name), None)
            given = given or (unnamed[position] if position < len(unnamed) else None)
            if given is not None:
                axes = given.free_axes(len(vi.type.tensor_type.shape.dim), vi.name)
                if axes:
                    free[vi.name] = axes
        if not free:
            return model
        freed, why = free_input_dims(model, free)
        if why and self.console is not None:
            self.console.print(f"the {framework} model keeps its input sizes fixed ({why}): the IR is "
                               "fixed at the sizes given", highlight=False)  # fmt: skip
        return freed

    def tocode(
        self,
        framework: str,
        ir_files: IRFiles,
        out_dir: Path,
        name: str = "model",
        options: dict[str, str] | None = None,
        fixed_shapes: dict[str, list[int]] | None = None,
    ) -> list[Any]:
        """Emit `framework`'s code from IR files: the graph canonicalized (when it was not made by
        toir) and legalized for this target first, every node the target cannot express refused
        at once. When the target cannot express what a free input dimension leaves computed at run
        time (shape arithmetic), the free dimensions are fixed to `fixed_shapes` (the sizes the
        check runs at; by default the sizes the parser was given for dimensions --inputShape left
        free) and the target is told so.

        The code emitted before from the same IR (parsed by toir through the IR cache) for the same
        target build, options and sizes is copied from the cache instead (broker/ircache.py), with
        what was said then said again."""
        cache = self._emit_cache(framework, ir_files, name, options, fixed_shapes)
        if cache is not None:
            with self.phase("emit cache"):
                kept = ircache.fetch_emitted(*cache, out_dir)
            if kept is not None:
                files, notes, fixed = kept
                for text in notes:
                    self._tell(text)
                if fixed:
                    self.fixed_sizes[framework] = fixed
                return [tensors.file_ref(path, role) for path, role in files]
        self._said = []
        emitted = self._tocode(framework, ir_files, out_dir, name, options, fixed_shapes)
        if cache is not None:
            with self.phase("emit cache"):
                ircache.store_emitted(*cache, [(f.path, f.role) for f in emitted], out_dir, self._said,
                                      self.fixed_sizes.get(framework, ""))  # fmt: skip
        return emitted

    def _emit_cache(self, framework: str, ir_files: IRFiles, name: str, options: dict[str, str] | None,
                    fixed_shapes: dict[str, list[int]] | None) -> tuple[Path, str] | None:  # fmt: skip
        """(cache folder, entry) of the code emitted from these IR files, when they came from the IR
        cache and the target runs here."""
        ir_entry = self._ir_entries.get(ir_files.graph.resolve())
        folder = self._cache_root(framework) if ir_entry else None
        if folder is None or ir_entry is None:
            return None
        request = {"name": name, "options": dict(sorted((options or {}).items())),
                   "fixed_shapes": sorted((fixed_shapes or {}).items())}  # fmt: skip
        return folder, ircache.emit_key(ir_entry, framework, self.env(framework), request)

    def _cache_root(self, framework: str) -> Path | None:
        """The IR cache's folder for what `framework`'s runner makes, when the cache is on and the
        runner runs here (a remote runner's environment is not this machine's)."""
        return ircache.root() if self.ir_cache and framework not in self.remotes else None

    def _tell(self, text: str) -> None:
        """Say `text` (what the passes did for a target), and keep it for the emit cache."""
        self._said.append(text)
        if self.console is not None:
            self.console.print(text, highlight=False)

    def _tocode(
        self,
        framework: str,
        ir_files: IRFiles,
        out_dir: Path,
        name: str,
        options: dict[str, str] | None,
        fixed_shapes: dict[str, list[int]] | None,
    ) -> list[Any]:
        from .ir import load_ir
        from .ir.canonical import canonicalize, free_inputs, is_canonical
        from .ir.free_dims import parse_sizes
        from .ir.legalize import legalize
        from .ir.validate import validate

        runner = self.runner(framework)
        fmt = (options or {}).get("format", "")
        where = self._sources.get(ir_files.graph.resolve(), str(ir_files.graph))
        with self.phase("ir passes"):
            model = load_ir(ir_files.graph, ir_files.weights, lazy=True)
            changed = False
            if ir_files.graph.resolve() not in self._sources or not is_canonical(model):  # not made by toir here
                model = validate(common_ir.set_ir_version(model), where=where)
            if not is_canonical(model):
                model, _ = canonicalize(model, where=where)
                changed = True
            caps = self.capabilities(framework, fmt)
            fixed_shapes = fixed_shapes or parse_sizes(model)  # the sizes --inputShape gave the parser
            free = free_inputs(model) if fixed_shapes else {}
            legal, applied = legalize(model, caps)
            if free and self._unsupported(caps, legal):  # shape arithmetic left for run time: fix the sizes
                legal, applied = self._fixed(framework, model, caps, fixed_shapes or {}, free, where)
                free, changed = {}, True
            changed = changed or bool(applied.rewrites)
            if applied.rewrites:
                self._tell(f"legalized for {framework}: {applied.summary()}")
            legal, fused = self._fuse(framework, legal, caps)
            changed = changed or bool(fused)
            self._check_ops(framework, legal, where, fmt)
        try:
            return self._emit(runner, framework, legal, ir_files, changed, out_dir, name, options)
        except BrokerError as err:
            if not free or err.reference not in ("unsupported-attribute", "missing-input-shape"):
                raise
        # the emitter refused a form that computes on a free size (an Expand to a run-time shape...)
        with self.phase("ir passes"):
            legal, applied = self._fixed(framework, model, caps, fixed_shapes or {}, free, where)
            legal, _ = self._fuse(framework, legal, caps)
            self._check_ops(framework, legal, where, fmt)
        return self._emit(runner, framework, legal, ir_files, True, out_dir, name, options)

    def _fixed(self, framework: str, model: onnx.ModelProto, caps: Capabilities, shapes: dict[str, list[int]],
               free: dict[str, list[int | None]], where: str) -> tuple[onnx.ModelProto, Any]:  # fmt: skip
        """`model` with its free input dimensions fixed to `shapes`, legalized for `framework`."""
        from .ir.canonical import specialize
        from .ir.legalize import legalize

        shown = ", ".join(f"{n} {shapes[n]}" for n in free if n in shapes)
        self.fixed_sizes[framework] = (f"{framework} code is made at fixed sizes of the free input dimensions: "
                                       f"{shown}")  # fmt: skip
        self._tell(self.fixed_sizes[framework])
        return legalize(specialize(model, shapes, where), caps)

    def _fuse(
        self, framework: str, model: onnx.ModelProto, caps: Capabilities
    ) -> tuple[onnx.ModelProto, dict[str, int]]:
        """`model` with the decompositions `framework` has an op for (GELU, LayerNorm, hard-swish) fused
        back into that op, so its code calls the framework's own layer."""
        from .ir.fuse import fuse_for

        fused, made = fuse_for(model, lambda op: op in caps.ops and op not in caps.lacks)
        if made:
            shown = ", ".join(f"{op} x{n}" if n > 1 else op for op, n in sorted(made.items()))
            self._tell(f"fused for {framework}: {shown}")
        return fused, made

    def _emit(self, runner: RunnerProcess, framework: str, model: onnx.ModelProto, ir_files: IRFiles, changed: bool,
              out_dir: Path, name: str, options: dict[str, str] | None) -> list[Any]:  # fmt: skip
        if changed:
            from .ir import save_ir

            with self.phase("file transfer"):
                ir_files = save_ir(model, self.ws / "legal" / f"{framework}-{Path(name).name or 'model'}")
        out_dir.mkdir(parents=True, exist_ok=True)
        req = pb.EmitRequest(
            graph=onnx_graph_bytes(ir_files),
            weights=pb.FileRef(path=str(ir_files.weights.resolve()), role="weights"),
            out_dir=str(out_dir.resolve()),
            name=name,
            options=options or {},
        )
        with self.phase("emit"), self._status(f"emitting {framework} code"):
            resp = runner.call("Emit", req)
        return list(resp.files)

    def tomodel(
        self, framework: str, emitted: list[Any], output: Path, fmt: str = "", options: dict[str, str] | None = None
    ) -> list[str]:
        runner = self.runner(framework)
        req = pb.SaveRequest(emitted=emitted, output=str(output.resolve()), format=fmt, options=options or {})
        with self.phase("save"), self._status(f"saving {output.name}"):
            resp = runner.call("Save", req)
        return [f.path for f in resp.files]

    def infer(
        self,
        framework: str,
        model: list[str],
        inputs: dict[str, np.ndarray],
        *,
        intermediates: bool = False,
        trust_model: bool = False,
        outputs: list[str] | None = None,
        options: dict[str, str] | None = None,
        quiet: bool = False,
    ) -> tuple[list[tuple[str, np.ndarray]], dict[str, np.ndarray], str]:
        """Run a model; `outputs` names the graph nodes to read for formats that have no fixed outputs
        (TF1 checkpoints, frozen graphs), as --dstNode does for conversion; `options` are the
        source-format options the model was parsed with (--class, --caffePhase)."""
        check_sources(framework, model)
        runner = self.runner(framework, quiet=quiet)
        (self.ws / "infer").mkdir(exist_ok=True)
        infer_dir = Path(tempfile.mkdtemp(prefix=f"{framework}-", dir=self.ws / "infer"))  # calls may run at once
        req = pb.InferRequest(
            model=[str(Path(m).resolve()) for m in model],
            inputs=[tensors.to_proto(n, a, str(infer_dir)) for n, a in inputs.items()],
            intermediates=intermediates,
            workspace=str(infer_dir),
            trust_model=trust_model,
            options={**(options or {}), **({"outputs": ",".join(outputs)} if outputs else {})},
        )
        with self.phase("infer"), self._status(f"running the {framework} model") if not quiet else _NullStatus():
            resp = runner.call("Infer", req)
        outs = [(t.name, tensors.from_proto(t)) for t in resp.outputs]
        inter = {t.name: tensors.from_proto(t) for t in resp.intermediates}
        return outs, inter, resp.engine

    def verify(
        self,
        reference: tuple[str, list[str]],
        candidate: tuple[str, list[str]],
        inputs: dict[str, np.ndarray],
        *,
        atol: float = parity.DEFAULT_ATOL,
        rtol: float = parity.DEFAULT_RTOL,
        seed: int | None = None,
        trust_model: bool = False,
        reference_outputs: list[str] | None = None,
        reference_options: dict[str, str] | None = None,
        allow_nan: bool = False,
    ) -> parity.ParityReport:
        def run_reference() -> tuple[list[tuple[str, np.ndarray]], dict[str, np.ndarray], str]:
            ahead = self._ahead.pop(self._ahead_key(reference, inputs), None)
            if ahead is not None:
                return ahead.result()  # type: ignore[no-any-return]
            return self._reference_outputs(reference, inputs, trust_model, reference_outputs, reference_options)

        if reference[0] == candidate[0]:  # one runner: one call at a time
            ref_out, _, ref_engine = run_reference()
            cand_out, _, cand_engine = self.infer(candidate[0], candidate[1], inputs)
        else:  # two runners, two processes: both models run at once
            self.runner(reference[0])
            ref_future: Future[Any] = Future()

            def reference_thread() -> None:
                try:
                    ref_future.set_result(run_reference())
                except BaseException as exc:  # handed to the main thread
                    ref_future.set_exception(exc)

            # a daemon thread: an interrupted broker does not wait for it (its runner is stopped)
            threading.Thread(target=reference_thread, name="infer reference", daemon=True).start()
            cand_out, _, cand_engine = self.infer(candidate[0], candidate[1], inputs)
            ref_out, _, ref_engine = ref_future.result()
        return parity.compare_outputs(
            cand_out,
            ref_out,
            atol=atol,
            rtol=rtol,
            reference_engine=ref_engine,
            candidate_engine=cand_engine,
            seed=seed,
            allow_nan=allow_nan,
        )

    def _reference_outputs(
        self,
        reference: tuple[str, list[str]],
        inputs: dict[str, np.ndarray],
        trust_model: bool,
        outputs: list[str] | None,
        options: dict[str, str] | None,
        quiet: bool = False,
    ) -> tuple[list[tuple[str, np.ndarray]], dict[str, np.ndarray], str]:
        """The source model's outputs on `inputs`: kept from an earlier check of the same files on
        the same inputs (broker/ircache.py, when the IR cache is on and the model is a local
        runner's), or run now."""
        framework, files = reference
        cache = self._cache_root(framework)
        if cache is not None:
            request = {"outputs": list(outputs or []), "trust_model": trust_model,
                       "options": dict(sorted((options or {}).items()))}  # fmt: skip
            entry = ircache.reference_key(framework, files, self.env(framework), request, inputs, cache)
            kept = ircache.fetch_reference(cache, entry)
            if kept is not None:
                return kept[0], {}, f"{kept[1]}, outputs kept from an earlier run on the same files and inputs"
        outs, inter, engine = self.infer(framework, files, inputs, trust_model=trust_model, outputs=outputs,
                                         options=options, quiet=quiet)  # fmt: skip
        if cache is not None:
            ircache.store_reference(cache, entry, outs, engine)
        return outs, inter, engine

    @staticmethod
    def _ahead_key(reference: tuple[str, list[str]], inputs: dict[str, np.ndarray]) -> str:
        return json.dumps([reference[0], reference[1], ircache.inputs_digest(inputs)])

    def reference_ahead(
        self,
        reference: tuple[str, list[str]],
        input_sets: list[dict[str, np.ndarray]],
        trust_model: bool = False,
        outputs: list[str] | None = None,
        options: dict[str, str] | None = None,
    ) -> None:
        """Run the source model on these inputs now, in the background, one set after the other:
        what the conversion makes does not change them, and the source runner has nothing else
        to do while the target emits and saves (on 2 cores, ResNet-50's two checks overlap the
        target's framework import). `verify` takes the outputs, or the error, when it gets there."""
        pending: list[tuple[str, dict[str, np.ndarray], Future[Any]]] = [
            (self._ahead_key(reference, inputs), inputs, Future()) for inputs in input_sets
        ]
        for key, _, future in pending:
            self._ahead[key] = future

        def run() -> None:
            for _, inputs, future in pending:
                try:
                    if self._closing:
                        raise BrokerError("the session closed before the check read this", reference="internal-bug")
                    future.set_result(self._reference_outputs(reference, inputs, trust_model, outputs, options, True))
                except BaseException as exc:  # handed to verify
                    future.set_exception(exc)

        # a daemon thread: an interrupted broker does not wait for it (close() stops its runner)
        thread = threading.Thread(target=run, name="reference ahead", daemon=True)
        self._ahead_threads.append((reference[0], thread))
        thread.start()

    def describe(self, framework: str) -> Any:
        """The runner's Describe answer, asked once per session (or in the background by prepare)."""
        future = self._describe.get(framework)
        if future is None or (future.done() and future.exception() is not None):
            future = Future()
            try:
                future.set_result(self.runner(framework).describe())
            except BaseException as exc:
                future.set_exception(exc)
            self._describe[framework] = future
        return future.result()

    def capabilities(self, framework: str, fmt: str = "") -> Capabilities:
        """What `framework`'s emitter expresses for output format `fmt` (its Describe answer)."""
        from .ir.legalize import Capabilities

        info = self.describe(framework)
        formats = {f.format: f for f in info.emit_formats}
        entry = formats.get(fmt) or formats.get("")
        if entry is not None:
            return Capabilities(frozenset(entry.ops), frozenset(entry.lacks))
        return Capabilities(frozenset(info.emit_ops))

    @staticmethod
    def _unsupported(caps: Capabilities, model: onnx.ModelProto) -> list[str]:
        return [n.op_type for n in model.graph.node if caps.ops and n.op_type not in caps.ops]

    def _check_ops(self, framework: str, model: onnx.ModelProto, where: str, fmt: str = "") -> None:
        """Every IR op left after legalization must have a converter in the target's emitter."""
        supported = self.capabilities(framework, fmt).ops
        if not supported:
            return
        missing = [
            (
                _text(n.name) or _text(n.output[0] if n.output else "?"),
                _text(n.op_type) if n.domain in ("", "ai.onnx") else f"{_text(n.domain)}:{_text(n.op_type)}",
            )
            for n in model.graph.node
            if n.op_type not in supported or n.domain not in ("", "ai.onnx")
        ]
        if missing:
            ops = sorted({op for _, op in missing})
            names = [f"{n} ({op})" for n, op in missing]
            raise BrokerError(
                f"{framework} cannot express op{'s' if len(ops) > 1 else ''} {', '.join(ops)}, used by "
                f"{len(names)} node{'s' if len(names) > 1 else ''}: {', '.join(names[:20])}"
                + (f" and {len(names) - 20} more" if len(names) > 20 else ""),
                reference="unsupported-op",
                file=where,
                node=missing[0][0],
                op=missing[0][1],
                opset=common_ir.opset_of(model),
                framework=framework,
                nodes=names,
                hint=self._other_format_hint(framework, fmt, set(ops))
                or "convert to another target framework, or replace these ops in the source model",
            )

    def _other_format_hint(self, framework: str, fmt: str, ops: set[str]) -> str:
        """A hint naming another output format of `framework` whose emitter has every op in `ops`
        (CoreML's ML Program .mlpackage where the NeuralNetwork .mlmodel emitter lacks them), or ''."""
        for entry in self.describe(framework).emit_formats:
            if entry.format and entry.format != fmt and ops <= set(entry.ops):
                fmt_name = entry.format
                return f"{framework}'s .{fmt_name} format converts these ops: write that instead (-om model.{fmt_name})"
        return ""


def _text(value: str) -> str:
    """A name from the graph as printable text (a corrupt file may hold any bytes)."""
    return value.encode("utf-8", "replace").decode("utf-8") if isinstance(value, str) else str(value)


# references that say a file is damaged or inconsistent: about a file mmbroker wrote itself, a bug
_BLAME_THE_FILE = {"corrupt-model", "invalid-model", "weights-mismatch", "bad-code", "missing-file", "not-a-file"}


class _NullStatus:
    def __enter__(self) -> _NullStatus:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def check_sources(framework: str, sources: list[str]) -> None:
    """Model files exist and are files (folders only where the framework reads folders), before any
    runner starts."""
    for s in sources:
        if not Path(s).exists() and not Path(s + ".index").exists():  # a TF checkpoint prefix
            raise BrokerError(
                "file not found", reference="missing-file", file=s, hint="check the path given with -in/-iw"
            )
        if Path(s).is_dir() and framework not in READS_FOLDERS:
            raise BrokerError(
                f"this is a folder; {framework} models are files",
                reference="not-a-file",
                file=s,
                hint="give the model file in it (e.g. with -in folder/model.ext)",
            )


def onnx_graph_bytes(files: IRFiles) -> bytes:
    return files.graph.read_bytes()


def input_specs(ir_files: IRFiles) -> list[tuple[str, list[int | None], str]]:
    """(name, shape with None for a free dimension, dtype) of every graph input."""
    return [(i.name, i.shape, i.dtype) for i in graph_inputs(ir_files)]


def input_ranges(ir_files: IRFiles) -> dict[str, tuple[int, int]]:
    """[low, high) of the integer inputs that index a table (token ids: the embedding's size)."""
    return {i.name: i.range for i in graph_inputs(ir_files) if i.range is not None}


def input_dim_names(ir_files: IRFiles) -> dict[str, list[str]]:
    """The names the model gives its inputs' dimensions (ONNX dim_param), "" where it has none."""
    return {i.name: i.dim_names for i in graph_inputs(ir_files)}


def _file_digests(sources: list[str]) -> Future[dict[str, str]]:
    """The sha256 of each source file, computed in a thread while the runner parses (hashlib
    releases the GIL: the broker's other core does it)."""
    import hashlib

    future: Future[dict[str, str]] = Future()

    def run() -> None:
        found = {}
        try:
            for s in sources:
                if os.path.isfile(s):
                    h = hashlib.sha256()
                    with open(s, "rb") as f:
                        for block in iter(lambda: f.read(1 << 22), b""):
                            h.update(block)
                    found[s] = h.hexdigest()
        except OSError:
            pass
        future.set_result(found)

    threading.Thread(target=run, name="source digests", daemon=True).start()
    return future


def _stamp_source(model: onnx.ModelProto, framework: str, sources: list[str], runner: RunnerProcess,
                  digests: dict[str, str]) -> None:  # fmt: skip
    props = {p.key: p.value for p in model.metadata_props}
    props["mmbroker.source_framework"] = framework
    try:
        versions = dict(runner.describe().versions)
        props["mmbroker.source_versions"] = ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))
    except BrokerError:
        pass
    for i, s in enumerate(sources):
        if s in digests:
            props[f"mmbroker.source_file.{i}"] = f"{os.path.basename(s)} sha256:{digests[s]}"
    del model.metadata_props[:]
    for k, v in props.items():
        model.metadata_props.add(key=k, value=v)


@dataclass
class ConvertRequest:
    """What `mmbroker convert` asks for (its flags, read)."""

    src: str
    sources: list[str]
    dst: str
    output: Path
    input_shapes: list[InputShape] = field(default_factory=list)
    dst_nodes: list[str] | None = None
    trust_model: bool = False
    verify: bool = True
    input_file: Path | None = None
    image: ImagePreprocess | None = None
    atol: float = parity.DEFAULT_ATOL
    rtol: float = parity.DEFAULT_RTOL
    allow_nan: bool = False
    seed: int = 0
    report_path: Path | None = None
    code_dir: Path | None = None
    parse_options: dict[str, str] = field(default_factory=dict)
    emit_options: dict[str, str] = field(default_factory=dict)
    keep_failed: bool = False


@dataclass
class ConvertResult:
    ir: IRFiles
    written: list[str] = field(default_factory=list)  # the files put in place; empty when none were
    code: list[str] = field(default_factory=list)  # the generated code copied to --code-dir
    report: parity.ParityReport | None = None
    inputs: PreparedInputs | None = None
    not_verified: str = ""  # why the check was skipped
    kept: Path | None = None  # where --keep-failed put an unverified result
    note: str = ""  # what happened to the output when nothing was written


def _check_at_sizes(s: Session, req: ConvertRequest, saved: list[str], inputs: PreparedInputs,
                    other: PreparedInputs | None, given: bool) -> parity.ParityReport:  # fmt: skip
    """Source and converted model compared on `inputs`, and again on `other`, the inputs with every
    free input dimension at a second value (batch 3, another sequence length), when the target kept
    it free."""

    def check(prepared: PreparedInputs) -> parity.ParityReport:
        report = s.verify((req.src, req.sources), (req.dst, saved), prepared.arrays, atol=req.atol, rtol=req.rtol,
                          seed=None if given else req.seed, trust_model=req.trust_model,
                          reference_outputs=req.dst_nodes, reference_options=req.parse_options,
                          allow_nan=req.allow_nan)  # fmt: skip
        report.inputs = prepared.describe()
        return report

    report = check(inputs)
    if other is None:
        return report
    # a target whose code was made at fixed sizes may keep the batch free all the same (Keras, CNTK)
    fixed = s.fixed_sizes.get(req.dst, "")
    sizes = ", ".join(f"{n} {'x'.join(map(str, a.shape))}" for n, a in other.arrays.items())
    try:
        again = check(other)
    except BrokerError as err:
        if _about(err, req.sources):  # a source whose file fixes the sizes (a static ONNX input)
            report.fixed = f"the {req.src} model takes only the sizes it was checked at: at {sizes} it refuses " \
                           f"to run ({err.reference})"  # fmt: skip
            return report
        if not fixed:
            raise
        report.fixed = f"{fixed}; at {sizes} the {req.dst} model refuses to run ({err.reference})"
        return report
    if again.passed or not fixed:
        report.other_sizes.append(again)
    else:
        report.fixed = f"{fixed}; at {sizes} the {req.dst} model runs but does not match"
    return report


def _about(err: BrokerError, files: list[str]) -> bool:
    """Whether `err` is about one of `files`."""
    if not err.file:
        return False
    return Path(err.file).resolve() in {Path(f).resolve() for f in files}


# CoreML options that change what the model computes: such a conversion cannot be checked
_PREPROCESSING = ("isBGR", "scale", "redBias", "greenBias", "blueBias", "grayBias")


def convert(s: Session, req: ConvertRequest) -> ConvertResult:
    """The whole chain: parse -> IR -> emit -> save -> verify -> promote.

    What can be checked without the model is checked before any runner starts (output folder,
    report path, --input file, tolerances; --inputShape when it was read), the inputs against the
    model right after parsing, and the result is saved to a temporary folder beside the output and
    put in place only when the check passed (`outputs.StagedOutput`)."""
    from .report import check_report_path, write_report

    output = check_output(req.output)
    if req.code_dir is not None:
        check_folder(req.code_dir)
    if req.report_path is not None:
        check_report_path(req.report_path)
    parity.check_tolerances(req.atol, req.rtol)
    given = open_input(req.input_file) if req.input_file is not None else None
    verify, not_verified = req.verify, ""
    preprocessing = [k for k in _PREPROCESSING if k in req.emit_options]
    if verify and preprocessing:
        verify = False
        not_verified = (f"{', '.join('--' + k for k in preprocessing)} change what the model computes; compare it "
                        "with the source on preprocessed input (mmbroker compare --input)")  # fmt: skip
    ir = s.toir(req.src, req.sources, inputs=req.input_shapes, outputs=req.dst_nodes, trust_model=req.trust_model,
                options=req.parse_options, prepare=(req.dst,))  # fmt: skip
    result = ConvertResult(ir, not_verified=not_verified)
    other = None
    if verify or given is not None:
        hints = [i.hint() for i in req.input_shapes]
        result.inputs = prepare_inputs(input_specs(ir), given, req.seed, req.image, hints, input_dim_names(ir),
                                       model=Path(req.sources[0]).name, ranges=input_ranges(ir))  # fmt: skip
    if verify and result.inputs is not None:
        if given is None:
            other = at_other_sizes(result.inputs, input_dim_names(ir), req.seed, input_ranges(ir))
        if req.src != req.dst:  # one runner serves one call at a time: its emit comes first
            sets = [result.inputs.arrays] + ([other.arrays] if other is not None else [])
            s.reference_ahead((req.src, req.sources), sets, req.trust_model, req.dst_nodes, req.parse_options)
    emit_dir = s.ws / "code"  # copied to --code-dir once the check has passed
    fixed = {n: list(a.shape) for n, a in result.inputs.arrays.items()} if result.inputs is not None else None
    if fixed is None:  # not checked: a target that must fix free dimensions takes the documented sizes
        fixed = {n: dims for n, dims, _ in resolve(input_specs(ir), [i.hint() for i in req.input_shapes],
                                                   input_dim_names(ir))[0]}  # fmt: skip
    emitted = s.tocode(req.dst, ir, emit_dir, name=output.stem, options=req.emit_options, fixed_shapes=fixed)
    code = [f.path for f in emitted]
    say = s.console.print if s.console is not None else None
    stage = StagedOutput(output, req.keep_failed, extras=(code, emit_dir) if req.code_dir else None, say=say)
    with stage:
        saved = stage.saved(s.tomodel(req.dst, emitted, stage.path))
        if verify and result.inputs is not None:
            report = _check_at_sizes(s, req, saved, result.inputs, other, given is not None)
            result.report = report
            if req.report_path is not None:
                write_report(req.report_path, report, report.inputs,
                             title=f"{req.src} {Path(req.sources[0]).name} -> {req.dst} {output.name}")  # fmt: skip
        if result.report is None or result.report.passed:
            stage.promote()
            result.written = [stage.final(f) for f in saved]
    result.kept, result.note = stage.kept, stage.note
    if result.written and req.code_dir is not None:
        result.code = copy_into(code, emit_dir, req.code_dir)
    return result


# -- a conversion asked by option names (the CLI's flags, a batch plan's `options`) ----------------
# `mmbroker convert`'s options by their long names, read by `convert_request`: the CLI and a batch
# plan give the same names, so both make the same request.
_PARSE_OPTIONS = ("class", "caffePhase", "darknetStart")  # runner-specific Parse options
# CoreML's emit options (image inputs, class labels): passed to the target as text
_EMIT_OPTIONS = ("inputNames", "outputNames", "imageInputNames", "isBGR", "redBias", "greenBias", "blueBias",
                 "grayBias", "scale", "classInputPath")  # fmt: skip
_REQUEST_OPTIONS = ("inputShape", "dstNode", "trustModel", "verify", "input", "atol", "rtol", "allowNan", "seed",
                    "report", "codeDir", "keepFailed", "size", "mean", "std", "channelOrder", "inputScale")  # fmt: skip
CONVERT_OPTIONS = _REQUEST_OPTIONS + _PARSE_OPTIONS + _EMIT_OPTIONS


def image_preprocess(size: str | None, mean: str | None, std: str | None, order: str = "rgb",
                     scale: str = "1/255") -> ImagePreprocess:  # fmt: skip
    """--size, --mean, --std, --channel-order, --input-scale read."""
    dims = ImagePreprocess.floats(size, "--size")
    return ImagePreprocess(
        size=(int(dims[0]), int(dims[-1])) if dims else None,
        order=order,
        scale=(ImagePreprocess.floats(scale, "--scale") or (1 / 255,))[0],
        mean=ImagePreprocess.floats(mean, "--mean") or (0.0,),
        std=ImagePreprocess.floats(std, "--std") or (1.0,),
    )


def _words(value: Any) -> list[str]:
    """An option given once or several times: a list, or one value."""
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _text_option(value: Any) -> str:
    return ("1" if value else "") if isinstance(value, bool) else str(value)


def convert_request(src: str, sources: list[str], dst: str, output: Path, options: dict[str, Any],
                    where: str = "") -> tuple[ConvertRequest, str]:  # fmt: skip
    """The request `mmbroker convert` makes from its options, named as its long flags without dashes
    (`inputShape`, `class`, `isBGR`, ...; None or absent: the default). Returns the request and a
    note to show (the catalogue's image preprocessing, when it applies). `where` names the place the
    options came from in errors (a batch plan's model)."""
    unknown = sorted(k for k in options if k not in CONVERT_OPTIONS)
    if unknown:
        raise BrokerError(
            f"unknown convert option{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}"
            + (f" in {where}" if where else ""),
            reference="bad-option",
            file=where,
            hint=f"options are convert's long flags without dashes: {', '.join(CONVERT_OPTIONS)}",
        )
    o = {k: v for k, v in options.items() if v is not None}
    emit_options = {k: _text_option(o[k]) for k in _EMIT_OPTIONS if k in o and _text_option(o[k])}
    if "classInputPath" in emit_options:
        emit_options["classInputPath"] = str(Path(emit_options["classInputPath"]).resolve())
    if output.suffix:
        emit_options["format"] = output.suffix.lstrip(".").lower()  # e.g. CoreML: .mlmodel or .mlpackage
    input_file = Path(o["input"]) if "input" in o else None
    given = image_preprocess(o.get("size"), o.get("mean"), o.get("std"), str(o.get("channelOrder", "rgb")),
                             str(o.get("inputScale", "1/255")))  # fmt: skip
    image, note = _catalogue_preprocess(sources, input_file, given)
    try:
        req = _request(src, sources, dst, output, o, input_file, image, emit_options)
    except ValueError as exc:  # a number option that is not a number
        raise BrokerError(f"cannot read an option{f' in {where}' if where else ''}: {exc}", reference="bad-option",
                          file=where, hint="atol, rtol and seed are numbers")  # fmt: skip
    return req, note


def _request(src: str, sources: list[str], dst: str, output: Path, o: dict[str, Any], input_file: Path | None,
             image: ImagePreprocess, emit_options: dict[str, str]) -> ConvertRequest:  # fmt: skip
    return ConvertRequest(
        src=src,
        sources=list(sources),
        dst=dst,
        output=output,
        input_shapes=[InputShape.parse(t) for t in _words(o.get("inputShape"))],
        dst_nodes=_words(o.get("dstNode")) or None,
        trust_model=_flag(o.get("trustModel", False)),
        verify=_flag(o.get("verify", True)),
        input_file=input_file,
        image=image,
        atol=float(o.get("atol", parity.DEFAULT_ATOL)),
        rtol=float(o.get("rtol", parity.DEFAULT_RTOL)),
        allow_nan=_flag(o.get("allowNan", False)),
        seed=int(o.get("seed", 0)),
        report_path=Path(o["report"]) if "report" in o else None,
        code_dir=Path(o["codeDir"]) if "codeDir" in o else None,
        parse_options={k: str(o[k]) for k in _PARSE_OPTIONS if o.get(k)},
        emit_options=emit_options,
        keep_failed=_flag(o.get("keepFailed", False)),
    )


def _catalogue_preprocess(sources: list[str], input_file: Path | None,
                          given: ImagePreprocess) -> tuple[ImagePreprocess, str]:  # fmt: skip
    from .catalogue.preprocess import image_preprocess_for

    return image_preprocess_for(sources, input_file, given)
