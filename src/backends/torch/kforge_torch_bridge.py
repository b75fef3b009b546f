"""kforge's PyTorch bridge worker: the reference and baseline worker of PyTorch tasks, and the
worker that runs `ModelNew` candidates.

It speaks kforge's worker protocol (docs/architecture.md): one JSON request per line on fd 3,
one reply per line on fd 4, buffers in the shared memory arena on fd 5. Roles:

  --role reference   builds the task's `Model` with a fixed seed, draws inputs with the
                     module's `get_inputs` under the harness's seed, runs the reference and
                     times the baselines (eager, torch.compile) by the same protocol as
                     candidates: rotating buffer sets, warm-up, samples until the median's
                     95% interval is tight.
  --role candidate   loads one `ModelNew` file, then installs the system-call filter before
                     running it. A candidate worker serves one candidate and is replaced after.

`python3 kforge_torch_bridge.py --probe PROBLEM.py [OPTIONS_JSON]` prints what kforge needs to turn
a KernelBench-format module into a task (inputs, parameters, outputs, size constants, FLOPs);
`--probe-many OPTIONS_JSON FILE...` prints one such line per file (options: `sizes`, the
module's integer constants overridden; `dtype`, float16 or bfloat16).
"""

import ast
import ctypes
import json
import math
import mmap
import os
import sys
import time
import traceback

_now_ns = time.perf_counter_ns  # bound before any candidate code runs
_write = os.write

DTYPES = {"f32": "float32", "f64": "float64", "i32": "int32", "i64": "int64", "f16": "float16",
          "bf16": "bfloat16", "bool": "bool"}
HALF = ("f16", "bf16")
SUPPORTED = ("supported: float32, float64, int32, int64, bool; half precision with --dtype "
             "float16 or bfloat16")


def is_scalar(x):
    """A get_inputs value forward takes as a plain number (a scale factor, a dimension)."""
    return isinstance(x, (bool, int, float))


def with_scalars(tensors, spec):
    """forward's arguments: the tensors, with the task's scalars put back at their places."""
    args = list(tensors)
    for s in sorted(spec.get("scalars", []), key=lambda s: s["index"]):
        args.insert(int(s["index"]), s["value"])
    return args


def half_dtype(torch, name):
    """The torch dtype of a `--dtype` value (f16, bf16; also float16, bfloat16), or None."""
    name = {"float16": "f16", "half": "f16", "bfloat16": "bf16"}.get(name, name)
    return torch_dtype(torch, name) if name in HALF else None


def cast_floats(xs, dt):
    """KernelBench's precision option: floating tensors to `dt`, others as they are."""
    if dt is None:
        return list(xs)
    return [x.to(dt) if hasattr(x, "is_floating_point") and x.is_floating_point() else x
            for x in xs]


def torch_dtype(torch, name):
    return getattr(torch, DTYPES[name])


def dtype_name(dt):
    import torch
    for k, v in DTYPES.items():
        if getattr(torch, v) == dt:
            return k
    return None


def load_module_file(path, name):
    import importlib.util
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"{path} is not a Python file")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def int_constants(path):
    """Module-level integer constants in definition order (the problem's sizes)."""
    tree = ast.parse(open(path).read(), path)
    out = []
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            targets = [node.target.id]
        else:
            continue
        for t in targets:
            if not t.startswith("_") and t not in [c[0] for c in out]:
                out.append([t, None])
    return out


DOWNLOADS = ("from_pretrained", "torch.hub", "urllib", "requests.get", "snapshot_download",
             "load_state_dict_from_url", "wget")


def sanitize(name):
    s = "".join(c if c.isalnum() else "_" for c in name)
    return s if s and not s[0].isdigit() else "_" + s


def apply_sizes(mod, sizes, lenient=False):
    """Overrides the module's integer constants (`--sizes NAME=VALUE`) before anything reads
    them: get_inputs and get_init_inputs read module globals when called. Returns the names
    applied; `lenient` skips names the module does not define instead of failing."""
    applied = {}
    for name, value in (sizes or {}).items():
        old = getattr(mod, name, None)
        if not isinstance(old, int) or isinstance(old, bool):
            if lenient:
                continue
            raise ValueError(f"--sizes names '{name}', which is not an integer constant of the "
                             "module")
        setattr(mod, name, int(value))
        applied[name] = int(value)
    return applied


def describe_tensors(torch, values, names, what, allow_half=False):
    out = []
    for i, x in enumerate(values):
        if not isinstance(x, torch.Tensor):
            raise ProbeError(f"{what}[{i}] is a {type(x).__name__}, not a tensor: kforge passes "
                             "tensors only (make it a module constant or an init input)")
        dt = dtype_name(x.dtype)
        if dt is None or (dt in HALF and not allow_half):
            raise ProbeError(f"{what}[{i}] has dtype {x.dtype}; {SUPPORTED}")
        out.append({"name": names[i] if i < len(names) else f"input{i}", "dtype": dt,
                    "shape": list(x.shape)})
    return out


class ProbeError(Exception):
    pass


def run_forward(torch, mod, init, device, half=None):
    """Builds the Model and draws inputs on `device` (cast to `half` where given), runs forward
    once counting FLOPs."""
    from torch.utils.flop_counter import FlopCounterMode
    torch.manual_seed(0)
    with torch.device(device):
        try:
            model = mod.Model(*init)
        except Exception as e:  # noqa: BLE001
            raise ProbeError(f"Model(*get_init_inputs()) raised {type(e).__name__}: {e}")
        torch.manual_seed(1)
        try:
            xs = mod.get_inputs()
        except Exception as e:  # noqa: BLE001
            raise ProbeError(f"get_inputs raised {type(e).__name__}: {e}")
        if not isinstance(xs, (list, tuple)) or all(is_scalar(x) for x in xs):
            raise ProbeError("get_inputs must return a list with at least one tensor")
        describe_tensors(torch, [x for x in xs if not is_scalar(x)], [], "get_inputs()",
                         half is not None)  # supported dtypes only
        xs = cast_floats([x if is_scalar(x) else x.to(device) for x in xs], half)
        if half is not None:
            model = model.to(half)
        try:
            with torch.no_grad(), FlopCounterMode(display=False) as counter:
                out = model(*xs)
        except Exception as e:  # noqa: BLE001
            raise ProbeError(f"Model.forward raised {type(e).__name__}: {e}")
    return model, xs, out, float(counter.get_total_flops())


def probe(path, sizes=None, lenient=False, dtype=None):
    """What kforge needs to make `path` a task. Shapes come from running the module on the
    `meta` device (no memory, no arithmetic: seconds even for multi-GB problems); a module that
    cannot run there (data-dependent shapes, .item(), numpy) runs for real on the CPU."""
    source = open(path).read()
    for word in DOWNLOADS:
        if word in source:
            return {"error": f"the module uses '{word}': problems that download weights or data "
                             "are not supported (kforge runs without a network)"}
    try:
        ast.parse(source, path)
    except SyntaxError as e:
        return {"error": f"the module does not parse: line {e.lineno}: {e.msg}"}
    try:
        import torch
    except Exception as e:  # noqa: BLE001
        return {"error": f"torch does not import under {sys.executable}: {e}"}
    try:
        mod = load_module_file(path, "kforge_problem_" + sanitize(os.path.basename(path)))
    except Exception as e:  # noqa: BLE001
        return {"error": f"the module does not import: {type(e).__name__}: {e}"}
    for name in ("Model", "get_inputs", "get_init_inputs"):
        if not hasattr(mod, name):
            return {"error": f"the module has no '{name}' (a KernelBench problem defines Model, "
                             "get_inputs and get_init_inputs)"}
    try:
        applied = apply_sizes(mod, sizes, lenient)
    except ValueError as e:
        return {"error": str(e)}
    try:
        init = mod.get_init_inputs()
        init = list(init) if init is not None else []
        json.dumps(init)
    except TypeError:
        return {"error": "get_init_inputs returns values that are not plain numbers or lists"}
    except Exception as e:  # noqa: BLE001
        return {"error": f"get_init_inputs raised {type(e).__name__}: {e}"}
    half = half_dtype(torch, dtype) if dtype else None
    if dtype and half is None:
        return {"error": f"--dtype expects float16 or bfloat16, got '{dtype}'"}
    ran_on = "meta"
    try:
        model, xs, out, flops = run_forward(torch, mod, init, "meta", half)
    except ProbeError as meta_error:
        try:
            model, xs, out, flops = run_forward(torch, mod, init, "cpu", half)
            ran_on = "cpu"
        except ProbeError as e:
            return {"error": str(e) if str(e) == str(meta_error) else f"{e} (on the meta "
                    f"device: {meta_error})"}
    import inspect
    try:
        names = [sanitize(p) for p in inspect.signature(model.forward).parameters]
    except (TypeError, ValueError):
        names = []
    try:
        at = [i for i, x in enumerate(xs) if not is_scalar(x)]
        inputs = describe_tensors(torch, [xs[i] for i in at],
                                  [names[i] if i < len(names) else f"input{i}" for i in at],
                                  "get_inputs()", half is not None)
        scalars = [{"index": i, "name": names[i] if i < len(names) else f"input{i}", "value": x}
                   for i, x in enumerate(xs) if is_scalar(x)]
        params = []
        for pname, p in list(model.named_parameters()) + list(model.named_buffers()):
            dt = dtype_name(p.dtype)
            if dt is None or (dt in HALF and half is None):
                raise ProbeError(f"the module's parameter '{pname}' has dtype {p.dtype}; "
                                 f"{SUPPORTED}")
            params.append({"name": "p_" + sanitize(pname), "dtype": dt, "shape": list(p.shape)})
        outs = list(out) if isinstance(out, (list, tuple)) else [out]
        outputs = describe_tensors(torch, outs, ["out"] if len(outs) == 1 else
                                   [f"out{i}" for i in range(len(outs))], "Model.forward output",
                                   half is not None)
    except ProbeError as e:
        return {"error": str(e)}
    constants = []
    for name, _ in int_constants(path):
        v = getattr(mod, name, None)
        if isinstance(v, int) and not isinstance(v, bool):
            constants.append({"name": name, "value": v})
    doc = (mod.__doc__ or "").strip() or (mod.Model.__doc__ or "").strip()
    return {"inputs": inputs, "params": params, "outputs": outputs, "constants": constants,
            "init_inputs": init, "scalars": scalars, "flops": flops, "description": doc.split("\n")[0][:200],
            "torch": torch.__version__, "probed_on": ran_on, "sizes": applied,
            "dtype": dtype_name(half) if half is not None else ""}


def probe_many(options, files):
    """One JSON line per file, in order: many modules per process, so that importing torch is
    paid once (`kforge import` runs several of these in parallel). Each module gets those of
    `sizes` that it defines as constants (options: {"sizes": {...}, "dtype": ...})."""
    for file in files:
        start = time.perf_counter()
        try:
            result = probe(file, options.get("sizes"), lenient=True, dtype=options.get("dtype"))
        except BaseException as e:  # noqa: BLE001 - a module may raise anything, even SystemExit
            result = {"error": f"probing raised {type(e).__name__}: {e}"}
        result["file"] = file
        result["probe_s"] = round(time.perf_counter() - start, 3)
        sys.stdout.write("\n" + json.dumps(result) + "\n")
        sys.stdout.flush()


class Bridge:
    def __init__(self, role, device, seccomp):
        import torch
        self.torch = torch
        self.role = role
        self.device = torch.device(device)
        self.want_seccomp = seccomp
        self.filtered = False
        self.maps = []
        self.arena = None
        self.handles = {}
        self.staged = []
        self.problem = None
        self.model = None
        self.ref_model = None  # the reference: the model itself, or in float for half precision
        self.half = None
        self.model_key = None
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        # The reference of fp32 tasks is computed in full fp32: no TF32 anywhere.
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.set_float32_matmul_precision("highest")

    # --- protocol --------------------------------------------------------------------------
    def hello(self, req):
        torch = self.torch
        reply = {"ok": True, "protocol": 1, "pid": os.getpid(), "backend": "torch",
                 "torch": torch.__version__, "seccomp": self.want_seccomp,
                 "cache_bytes": self.cache_bytes()}
        if self.device.type == "cuda":
            p = torch.cuda.get_device_properties(self.device)
            reply["device"] = {"name": p.name, "sms": p.multi_processor_count}
        return reply

    def cache_bytes(self):
        if self.device.type == "cuda":
            return int(getattr(self.torch.cuda.get_device_properties(self.device),
                               "L2_cache_size", 50 << 20))
        sizes = []
        base = "/sys/devices/system/cpu/cpu0/cache"
        try:
            for d in os.listdir(base):
                text = open(f"{base}/{d}/size").read().strip()
                mult = {"K": 1 << 10, "M": 1 << 20}.get(text[-1:], 1)
                sizes.append(int(text.rstrip("KM")) * mult)
        except (OSError, ValueError):
            pass
        return max(sizes) if sizes else 32 << 20

    def map(self, req):
        size = int(req["size"])
        self.arena = mmap.mmap(5, size)
        self.maps.append(self.arena)  # tensors may still view an older mapping
        return {"ok": True}

    def view(self, spec, base=0):
        """A tensor over the arena: spec is [offset, dtype, shape]."""
        torch = self.torch
        off, dt, shape = spec
        n = math.prod(shape)
        t = torch.frombuffer(self.arena, dtype=torch_dtype(torch, dt), count=n,
                             offset=base + off) if n else torch.empty(0)
        return t.view(shape)

    def build(self, req):
        """Reference role: import the problem and build its Model with the given seed."""
        torch = self.torch
        key = (req["module"], req["seed"], json.dumps(req.get("sizes"), sort_keys=True),
               req.get("dtype"))
        if self.model_key == key:
            return {"ok": True}
        self.problem = load_module_file(req["module"], "kforge_problem")
        apply_sizes(self.problem, req.get("sizes"))
        torch.manual_seed(int(req["seed"]))
        self.model = self.problem.Model(*req.get("init_inputs", [])).to(self.device)
        # Half precision: the module and its floating inputs in it, as KernelBench's precision
        # option does; the reference is a float copy of the same (rounded) weights.
        self.half = half_dtype(torch, req["dtype"]) if req.get("dtype") else None
        self.ref_model = self.model
        if self.half is not None:
            import copy
            self.model = self.model.to(self.half)
            self.ref_model = copy.deepcopy(self.model).float()
        self.handles = {"eager": self.model}
        self.model_key = key
        return {"ok": True}

    def inputs(self, req):
        """Draws get_inputs() under the seed (on the device where it allows) into the arena,
        followed by the model's parameters and buffers."""
        torch = self.torch
        torch.manual_seed(int(req["seed"]))
        if self.device.type == "cuda":
            torch.cuda.manual_seed(int(req["seed"]))
            with torch.device(self.device):
                xs = self.problem.get_inputs()
        else:
            xs = self.problem.get_inputs()
        specs = req["tensors"]
        xs = [x for x in xs if not is_scalar(x)]  # forward gets the task's fixed scalars
        params = [p for _, p in list(self.model.named_parameters()) +
                  list(self.model.named_buffers())]
        values = list(xs) + params
        if len(values) != len(specs):
            return {"ok": False, "error": f"get_inputs returned {len(xs)} tensors, the task "
                                          f"expects {len(specs) - len(params)}"}
        for i, (v, spec) in enumerate(zip(values, specs)):
            if not isinstance(v, torch.Tensor) or list(v.shape) != list(spec[2]):
                return {"ok": False, "error": f"input {i} is not a tensor of shape {spec[2]}"}
            self.view(spec).copy_(v.detach().reshape(spec[2]))  # no host temporary
        return {"ok": True}

    def run(self, handle, ins):
        torch = self.torch
        with torch.no_grad():
            out = self.handles[handle](*ins)
        return list(out) if isinstance(out, (list, tuple)) else [out]

    def device_inputs(self, req, base):
        n = int(req["forward_inputs"])
        return [self.view(s, base).to(self.device) for s in req["inputs"][:n]]

    def write_outputs(self, outs, specs, base):
        torch = self.torch
        if len(outs) != len(specs):
            raise ValueError(f"forward returned {len(outs)} outputs, expected {len(specs)}")
        for i, (o, spec) in enumerate(zip(outs, specs)):
            if not isinstance(o, torch.Tensor):
                raise ValueError(f"output {i} is a {type(o).__name__}, not a tensor")
            if list(o.shape) != list(spec[2]):
                raise ValueError(f"output {i} has shape {list(o.shape)}, expected {spec[2]}")
            self.view(spec, base).copy_(o.detach())  # converts dtype and device in place

    def reference(self, req):
        ins = self.device_inputs(req, 0)
        with self.torch.no_grad():
            outs = self.ref_model(*with_scalars(
                cast_floats(ins, self.torch.float32 if self.half else None), req))
        outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
        self.write_outputs(outs, req["outputs"], 0)
        return {"ok": True}

    def load(self, req):
        kind = req.get("kind", "modelnew")
        torch = self.torch
        if kind == "compile":
            mode = req.get("mode") or None
            compiled = torch.compile(self.model, mode=mode)
            # Compiling happens on the first call: here, under the load's long deadline.
            torch.manual_seed(0)
            with torch.device(self.device), torch.no_grad():
                compiled(*cast_floats(self.problem.get_inputs(), self.half))
            self.handles["compile"] = compiled
            return {"ok": True, "handle": 1}
        if kind == "eager":
            return {"ok": True, "handle": 0}
        if self.role != "candidate" or "candidate" in self.handles:
            return {"ok": False, "error": "this bridge runs one ModelNew candidate"}
        try:
            mod = load_module_file(req["path"], "kforge_candidate")
        except BaseException as e:  # noqa: BLE001
            return {"ok": False, "compile_error": True,
                    "error": f"the candidate does not import: {type(e).__name__}: {e}"}
        apply_sizes(mod, req.get("sizes"), lenient=True)
        if not hasattr(mod, "ModelNew"):
            return {"ok": False, "compile_error": True,
                    "error": "the candidate defines no class ModelNew"}
        torch.manual_seed(int(req["seed"]))
        try:
            model = mod.ModelNew(*req.get("init_inputs", [])).to(self.device)
            if req.get("dtype"):
                model = model.to(half_dtype(torch, req["dtype"]))
        except BaseException as e:  # noqa: BLE001
            return {"ok": False, "error": f"ModelNew(*init_inputs) raised {type(e).__name__}: {e}"}
        self.handles["candidate"] = model
        self.install_filter()
        return {"ok": True, "handle": 2}

    def install_filter(self):
        if not self.want_seccomp or self.filtered:
            return
        lib = ctypes.CDLL(os.environ["KFORGE_SECCOMP_LIB"])
        if lib.kforge_install_seccomp(4, 0) != 0:
            self.want_seccomp = False
        self.filtered = True

    def call(self, req):
        try:
            base = 0
            spec = req["sets"][0]
            ins = self.device_inputs(spec, base)
            t0 = _now_ns()
            outs = self.run(req["handle"], with_scalars(ins, spec))
            if self.device.type == "cuda":
                self.torch.cuda.synchronize()
            ns = _now_ns() - t0
            if self.device.type != "cpu":
                # The inputs went to the device as copies: bring them back, so that kforge's
                # check of the arena sees a candidate that wrote into its inputs.
                for s, t in zip(spec["inputs"], ins):
                    self.view(s, base).copy_(t.detach())
            self.write_outputs(outs, spec["outputs"], base)
        except Exception as e:  # noqa: BLE001
            return {"ok": False, "error": f"{type(e).__name__}: {e}"}
        return {"ok": True, "ns": ns}

    def stage(self, req):
        """Puts timed buffer sets' inputs on the device (private copies, also on the CPU), for
        later `run` requests: each set given `repeat` times; `append` keeps those staged before.
        kforge stages one set at a time through the start of the arena."""
        if not req.get("append"):
            self.staged = []
        for spec in req["sets"]:
            ins = self.device_inputs(spec, 0)
            for _ in range(int(req.get("repeat", 1))):
                self.staged.append(with_scalars([t.clone() for t in ins], spec))
        return {"ok": True, "staged": len(self.staged)}

    def fetch(self, req):
        """Copies staged set `set` back into the arena, for kforge to see it unchanged."""
        ins = [t for t in self.staged[int(req["set"])] if isinstance(t, self.torch.Tensor)]
        for spec, t in zip(req["inputs"], ins):
            self.view(spec, 0).copy_(t)
        return {"ok": True}

    def run_calls(self, req):
        """`calls` calls back to back over the staged sets from set `first`, then a device-wide
        synchronisation. kforge times the request by its own clock; `ns` is only cross-checked."""
        fn = self.handles[req["handle"]]
        sets = self.staged
        first, calls = int(req.get("first", 0)), int(req["calls"])
        try:
            t0 = _now_ns()
            with self.torch.no_grad():
                for i in range(calls):
                    fn(*sets[(first + i) % len(sets)])
            if self.device.type == "cuda":
                self.torch.cuda.synchronize()
            return {"ok": True, "ns": _now_ns() - t0}
        except Exception as e:  # noqa: BLE001
            return {"ok": False, "error": f"{type(e).__name__}: {e}"}

    def device_memory(self, req):
        if self.device.type != "cuda":
            return {"ok": True, "free": 0, "total": 0}
        free, total = self.torch.cuda.mem_get_info(self.device)
        return {"ok": True, "free": free, "total": total}

    def ceilings(self, req):
        return {"ok": False, "error": "the bridge does not measure ceilings"}


def serve(bridge):
    requests = os.fdopen(3, "r")
    ops = {"hello": bridge.hello, "map": bridge.map, "build": bridge.build,
           "inputs": bridge.inputs, "reference": bridge.reference, "load": bridge.load,
           "call": bridge.call, "stage": bridge.stage, "fetch": bridge.fetch,
           "run": bridge.run_calls, "ceilings": bridge.ceilings,
           "device_memory": bridge.device_memory}
    for line in requests:
        try:
            req = json.loads(line)
            op = ops.get(req.get("op"))
            reply = op(req) if op else {"ok": False, "error": f"unknown op '{req.get('op')}'"}
        except Exception as e:  # noqa: BLE001
            reply = {"ok": False, "error": f"{type(e).__name__}: {e}",
                     "traceback": traceback.format_exc(limit=4)[-1500:]}
        if len(reply.get("error", "")) > 3000:
            e = reply["error"]
            reply["error"] = e[:800] + "\n[...]\n" + e[-2000:]
        sys.stdout.flush()
        sys.stderr.flush()
        data = (json.dumps(reply) + "\n").encode()
        while data:
            data = data[_write(4, data):]


def main(argv):
    if len(argv) >= 3 and argv[1] == "--probe":
        # --probe FILE [OPTIONS_JSON]: one module, every size named must be one of its constants.
        options = json.loads(argv[3]) if len(argv) > 3 else {}
        print(json.dumps(probe(argv[2], options.get("sizes"), dtype=options.get("dtype"))))
        return 0
    if len(argv) >= 3 and argv[1] == "--probe-many":
        # --probe-many OPTIONS_JSON FILE...
        probe_many(json.loads(argv[2]), argv[3:])
        return 0
    role, device, seccomp = "reference", "cpu", True
    i = 1
    while i < len(argv):
        if argv[i] == "--role":
            role = argv[i + 1]
            i += 1
        elif argv[i] == "--device":
            device = argv[i + 1]
            i += 1
        elif argv[i] == "--no-seccomp":
            seccomp = False
        else:
            print(f"kforge_torch_bridge: unknown argument {argv[i]!r} (usage: --probe FILE, or "
                  "--role reference|candidate --device DEV [--no-seccomp] with fds 3, 4, 5 "
                  "open)", file=sys.stderr)
            return 2
        i += 1
    serve(Bridge(role, device, seccomp))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
