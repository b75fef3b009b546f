"""Runtime of a PyTorch op exported by `kforge export` (docs/export.md), copied into each
exported package as _runtime.py. It needs torch and a compiler (cc/c++ for CPU kernels, nvcc for
CUDA ones), never kforge.

An Op checks the tensors it is called with against the task's spec (spec.json: dtypes, shapes as
expressions over the task's size params, devices, value ranges), compiles the kernel source on
first use into a shared library cached by content hash, and calls its C entry through ctypes on
contiguous, aligned tensors, with outputs it allocates. Thread-safe: the first compile is done
once under a lock.
"""

import ast
import ctypes
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import tempfile
import threading

import torch

DTYPES = {
    "f32": torch.float32,
    "f64": torch.float64,
    "f16": torch.float16,
    "bf16": torch.bfloat16,
    "i32": torch.int32,
    "i64": torch.int64,
    "bool": torch.bool,
}
_ALIGN = 16  # bytes: kernels load vectors of up to 16 bytes


def _div(a, b):
    if b == 0:
        raise ZeroDivisionError("division by zero")
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q  # truncating, as in task files


_COMPILED = {}


def _compile(expr):
    """A size expression of a task file (+ - * / and parentheses, / truncating) as a function of
    the sizes, parsed once."""

    def build(node):
        if isinstance(node, ast.Expression):
            return build(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            value = node.value
            return lambda s: value
        if isinstance(node, ast.Name):
            name = node.id
            return lambda s: s[name]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            f = build(node.operand)
            return (lambda s: -f(s)) if isinstance(node.op, ast.USub) else f
        if isinstance(node, ast.BinOp):
            a, b = build(node.left), build(node.right)
            if isinstance(node.op, ast.Add):
                return lambda s: a(s) + b(s)
            if isinstance(node.op, ast.Sub):
                return lambda s: a(s) - b(s)
            if isinstance(node.op, ast.Mult):
                return lambda s: a(s) * b(s)
            if isinstance(node.op, (ast.Div, ast.FloorDiv)):
                return lambda s: _div(a(s), b(s))
        raise ValueError(f"unsupported size expression '{expr}'")

    return build(ast.parse(str(expr), mode="eval"))


def eval_expr(expr, sizes):
    f = _COMPILED.get(expr)
    if f is None:
        f = _COMPILED[expr] = _compile(expr)
    return f(sizes)


class Op:
    def __init__(self, package_dir):
        self.dir = pathlib.Path(package_dir)
        self.spec = json.loads((self.dir / "spec.json").read_text())
        self.name = self.spec["op"]
        self.check_values = True
        self._lock = threading.Lock()
        self._fn = None
        # Params read from a tensor dimension that is exactly the param's name; the rest are
        # integer arguments of the op, after the tensors.
        self.inferred = {}
        for i, t in enumerate(self.spec["inputs"]):
            for d, e in enumerate(t["shape"]):
                if e in self.spec["params"] and e not in self.inferred:
                    self.inferred[e] = (i, d)
        self.int_params = [p for p in self.spec["params"] if p not in self.inferred]
        for t in self.spec["inputs"] + self.spec["outputs"]:
            for e in t["shape"] + t.get("range", []):
                eval_expr(e, {p: 1 for p in self.spec["params"]})  # parsed now, not in a trace

    # Argument checks -----------------------------------------------------------------------

    def check_types(self, tensors, ints):
        """What the dispatcher would refuse before the op runs: a TypeError naming the argument."""
        for t, x in zip(self.spec["inputs"], tensors):
            if not isinstance(x, torch.Tensor):
                raise TypeError(f"{self.name}: {t['name']} must be a torch.Tensor, got {type(x).__name__}")
        for p, v in zip(self.int_params, ints):
            if not isinstance(v, int) or isinstance(v, bool):
                raise TypeError(f"{self.name}: {p} must be an int, got {type(v).__name__}")

    def sizes(self, tensors, ints):
        """Checks types, dtypes, devices and shapes (no data is read: fake tensors pass too) and
        returns the size params."""
        spec = self.spec
        if len(tensors) != len(spec["inputs"]):
            raise TypeError(f"{self.name}: expected {len(spec['inputs'])} tensors, got {len(tensors)}")
        device = None
        for t, x in zip(spec["inputs"], tensors):
            if not isinstance(x, torch.Tensor):
                raise TypeError(f"{self.name}: {t['name']} must be a torch.Tensor, got {type(x).__name__}")
            want = DTYPES[t["dtype"]]
            if x.dtype != want:
                raise TypeError(f"{self.name}: {t['name']} must be {want}, got {x.dtype}")
            if spec["backend"] == "cpu" and x.device.type != "cpu":
                raise ValueError(f"{self.name}: {t['name']} must be on the CPU, got {x.device}")
            if spec["backend"] == "cuda" and x.device.type != "cuda":
                raise ValueError(f"{self.name}: {t['name']} must be on a CUDA device, got {x.device}")
            if device is None:
                device = x.device
            elif x.device != device:
                raise ValueError(f"{self.name}: {t['name']} is on {x.device}, "
                                 f"{spec['inputs'][0]['name']} on {device}")
            if x.dim() != len(t["shape"]):
                raise ValueError(f"{self.name}: {t['name']} must have {len(t['shape'])} dimensions "
                                 f"[{', '.join(map(str, t['shape']))}], got shape {list(x.shape)}")
        sizes = {}
        for p, (i, d) in self.inferred.items():
            sizes[p] = int(tensors[i].shape[d])
        if len(ints) != len(self.int_params):
            raise TypeError(f"{self.name}: expected the sizes {self.int_params}, got {len(ints)} values")
        for p, v in zip(self.int_params, ints):
            if not isinstance(v, int) or isinstance(v, bool):
                raise TypeError(f"{self.name}: {p} must be an int, got {type(v).__name__}")
            sizes[p] = v
        for p in spec["params"]:
            if sizes[p] < 1:
                raise ValueError(f"{self.name}: {p} must be at least 1, got {sizes[p]}")
        for t, x in zip(spec["inputs"], tensors):
            want = [eval_expr(e, sizes) for e in t["shape"]]
            if list(x.shape) != want:
                raise ValueError(f"{self.name}: {t['name']} must have shape {want} "
                                 f"[{', '.join(map(str, t['shape']))}] with "
                                 f"{', '.join(f'{k}={v}' for k, v in sizes.items())}, "
                                 f"got {list(x.shape)}")
        return sizes

    def check_ranges(self, tensors, sizes):
        """Values of integer inputs outside the task's `range` (this reads the data: on a GPU it
        waits for the device; `check_values = False` skips it)."""
        for t, x in zip(self.spec["inputs"], tensors):
            if not t.get("range") or x.numel() == 0:
                continue
            lo, hi = (eval_expr(e, sizes) for e in t["range"])
            bad = (x < lo) | (x > hi)
            if bool(bad.any()):
                i = int(bad.flatten().nonzero()[0])
                raise ValueError(f"{self.name}: {t['name']} must lie in [{lo}, {hi}] "
                                 f"([{', '.join(t['range'])}]), got {int(x.flatten()[i])} at flat index {i}")

    def outputs_like(self, tensors, sizes):
        device = tensors[0].device
        return [torch.empty([eval_expr(e, sizes) for e in t["shape"]], dtype=DTYPES[t["dtype"]],
                            device=device) for t in self.spec["outputs"]]

    # The call --------------------------------------------------------------------------------

    def __call__(self, tensors, ints):
        sizes = self.sizes(tensors, ints)
        if self.check_values:
            self.check_ranges(tensors, sizes)
        # The kernel reads row-major contiguous buffers: anything else is copied first, never
        # read with the wrong strides; so is a view whose start breaks vector alignment.
        args = []
        for x in tensors:
            if not x.is_contiguous():
                x = x.contiguous()
            if x.data_ptr() % _ALIGN:
                x = x.clone()
            args.append(x)
        outs = self.outputs_like(args, sizes)
        fn = self.function()
        ptrs = [ctypes.c_void_p(x.data_ptr()) for x in args + outs]
        params = [ctypes.c_int64(sizes[p]) for p in self.spec["params"]]
        if self.spec["backend"] == "cuda":
            device = args[0].device
            with torch.cuda.device(device):
                stream = torch.cuda.current_stream(device).cuda_stream
                fn(*ptrs, *params, ctypes.c_void_p(stream))
        else:
            fn(*ptrs, *params)
        return outs

    # Compiling -------------------------------------------------------------------------------

    def function(self):
        with self._lock:
            if self._fn is None:
                lib = ctypes.CDLL(str(self._build()))
                fn = getattr(lib, self.spec["symbol"])
                n = len(self.spec["inputs"]) + len(self.spec["outputs"])
                fn.argtypes = [ctypes.c_void_p] * n + [ctypes.c_int64] * len(self.spec["params"]) + (
                    [ctypes.c_void_p] if self.spec["backend"] == "cuda" else [])
                fn.restype = None
                self._lib, self._fn = lib, fn
            return self._fn

    def _command(self, source, out):
        spec = self.spec
        if spec["backend"] == "cuda":
            nvcc = os.environ.get("NVCC") or shutil.which("nvcc") or os.path.join(
                os.environ.get("CUDA_HOME", "/usr/local/cuda"), "bin", "nvcc")
            major, minor = torch.cuda.get_device_capability()
            arch = f"{major}{minor}" + ("a" if major >= 9 else "")
            return [nvcc, "-O3", "-std=c++17", "-lineinfo", f"-gencode=arch=compute_{arch},code=sm_{arch}",
                    "-Xcompiler", "-fPIC", "-shared", "-o", str(out), str(source)]
        if pathlib.Path(source).suffix == ".c":
            cc = os.environ.get("CC", "cc")
            return [cc, "-O3", "-march=native", "-fPIC", "-shared", "-std=c17", "-o", str(out), str(source), "-lm"]
        cxx = os.environ.get("CXX", "c++")
        return [cxx, "-O3", "-march=native", "-fPIC", "-shared", "-std=c++20", "-o", str(out), str(source)]

    def _build(self):
        source = self.dir / self.spec["build_source"]
        probe = self._command(source, "OUT")
        key = hashlib.sha256()
        for f in sorted(self.dir.iterdir()):
            if f.is_file() and f.suffix in (".c", ".cc", ".cpp", ".cu", ".cuh", ".h"):
                key.update(f.name.encode() + b"\0" + f.read_bytes())
        key.update(json.dumps(probe[1:]).encode())
        root = pathlib.Path(os.environ.get("KFORGE_EXPORT_CACHE") or
                            pathlib.Path.home() / ".cache" / "kforge-export")
        lib = root / f"{self.spec['symbol']}-{key.hexdigest()[:24]}.so"
        if lib.exists():
            return lib
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=root) as tmp:
            out = pathlib.Path(tmp) / lib.name
            r = subprocess.run(self._command(source, out), cwd=self.dir, capture_output=True, text=True)
            if r.returncode != 0:
                raise RuntimeError(f"{self.name}: compiling {source.name} failed:\n{r.stdout}{r.stderr}")
            os.replace(out, lib)  # atomic: a concurrent build of the same source is identical
        return lib
