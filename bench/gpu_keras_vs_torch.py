"""GPU: the default stackcast model on the Keras JAX backend vs a torch cuDNN reference.

Training samples/s of ``build_model(ModelConfig())`` (2-layer BiLSTM 64/32 + Dense, dropout,
Masking) trained by ``models.train`` on synthetic windows (window 60, 8 features, 5 horizons,
N = 65,536), against the same network written in torch (``TorchBiLSTM`` below: cuDNN
``nn.LSTM`` layers, same dropout, Huber loss, Adam, per-variable clipnorm 1.0, data resident
on the GPU). Each configuration runs in its own subprocess (``KERAS_BACKEND=jax`` for Keras);
the first epoch (compilation) is dropped and samples/s comes from the median of the rest.

Explored, one factor at a time from stackcast's default (batch 256, jit on, float32, masked,
``use_cudnn=False`` as ``models.network`` sets it on JAX), then combined: masking off (full
windows need no mask), ``use_cudnn=True`` (possible only without a mask; its inference output
is compared with the generic kernel's: on JAX the backward direction came out misaligned),
``mixed_float16``, ``jit_compile=False``, batch 512 and 1024. Each Keras record carries its
ratio to the torch fp32 reference (goal >= 1.0), the device and the versions.

Without a CUDA device, or without torch or jax installed, it prints one ``"status":
"skipped"`` record and exits cleanly (it is part of ``python -m bench`` on CPU machines too).

Run alone: ``python -m bench.gpu_keras_vs_torch [--quick] [--n 65536] [--epochs 3]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import time
from typing import Any

NAME = "gpu"
WINDOW = 60
FEATURES = 8
HORIZONS = 5

# Keras configurations: name -> settings (batch, jit, mixed, cudnn, mask).
DEFAULT = {"batch": 256, "jit": True, "mixed": False, "cudnn": False, "mask": True}
KERAS_GRID: dict[str, dict[str, Any]] = {
    "default": DEFAULT,
    "no_mask": {**DEFAULT, "mask": False},
    "no_mask_cudnn": {**DEFAULT, "mask": False, "cudnn": True},
    "mixed": {**DEFAULT, "mixed": True},
    "no_mask_mixed": {**DEFAULT, "mask": False, "mixed": True},
    "no_mask_cudnn_mixed": {**DEFAULT, "mask": False, "cudnn": True, "mixed": True},
    "no_jit": {**DEFAULT, "jit": False},
    "batch512_no_mask_cudnn": {**DEFAULT, "batch": 512, "mask": False, "cudnn": True},
    "batch1024_no_mask_cudnn": {**DEFAULT, "batch": 1024, "mask": False, "cudnn": True},
    "batch1024": {**DEFAULT, "batch": 1024},
}
TORCH_GRID: dict[str, dict[str, Any]] = {
    "torch_fp32": {"batch": 256, "amp": False},
    "torch_amp": {"batch": 256, "amp": True},
}
QUICK_KERAS = ("default", "no_mask_cudnn")
QUICK_TORCH = ("torch_fp32",)


def _data(n: int, seed: int = 0) -> tuple[Any, Any]:
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, WINDOW, FEATURES)).astype(np.float32)
    y = (0.1 * x[:, -HORIZONS:, 0] + 0.01 * rng.normal(size=(n, HORIZONS))).astype(np.float32)
    return x, y


# --------------------------------------------------------------------------- Keras (JAX) child


def _set_cudnn(model: Any, value: bool | str) -> int:
    """Set ``use_cudnn`` on every recurrent layer (inside Bidirectional too); return how many."""
    import keras

    count = 0
    for layer in model.layers:
        inner = [layer]
        if isinstance(layer, keras.layers.Bidirectional):
            inner = [layer.forward_layer, layer.backward_layer]
        for rnn in inner:
            if hasattr(rnn, "use_cudnn"):
                rnn.use_cudnn = value
                count += 1
    return count


def _without_mask(model: Any) -> Any:
    """The same model with its Masking layer replaced by an identity (same weights)."""
    import keras

    def clone(layer: Any) -> Any:
        if isinstance(layer, keras.layers.Masking):
            return keras.layers.Identity(name=layer.name)
        return layer.__class__.from_config(layer.get_config())

    copy = keras.models.clone_model(model, clone_function=clone)
    copy.set_weights(model.get_weights())
    return copy


def _keras_child(spec: dict[str, Any]) -> dict[str, Any]:
    import os

    import keras
    import numpy as np

    assert keras.backend.backend() == "jax", keras.backend.backend()
    import jax
    from stackcast.models.config import ModelConfig, TrainConfig
    from stackcast.models.network import build_model
    from stackcast.models.training import train

    policy = "mixed_float16" if spec["mixed"] else "float32"
    model = build_model(ModelConfig(), FEATURES, WINDOW, HORIZONS, seed=0, dtype_policy=policy)
    if not spec["mask"]:
        model = _without_mask(model)
    x, y = _data(spec["n"])
    cudnn_check = None
    if spec["cudnn"]:
        probe = x[:512]
        generic = np.asarray(model.predict(probe, batch_size=512, verbose=0))
        _set_cudnn(model, True)
        model.predict_function = None  # retrace: the cached function took the generic path
        fast = np.asarray(model.predict(probe, batch_size=512, verbose=0))
        cudnn_check = float(np.max(np.abs(fast - generic)))
    config = TrainConfig(
        epochs=spec["epochs"],
        batch_size=spec["batch"],
        patience=spec["epochs"] + 1,
        deterministic=False,
        mixed_precision="on" if spec["mixed"] else "off",
    )
    result = train(model, (x, y), None, config, verbose=0, jit_compile=spec["jit"])
    seconds = list(result.history["seconds"])[1:]
    device = jax.devices()[0]
    return {
        "samples_per_s": spec["n"] / statistics.median(seconds),
        "best_samples_per_s": spec["n"] / min(seconds),
        "epoch_s": seconds,
        "first_epoch_s": result.history["seconds"][0],
        "cudnn_vs_generic_max_abs_diff": cudnn_check,
        "device": f"{device.platform}: {getattr(device, 'device_kind', device)}",
        "keras": keras.__version__,
        "jax": jax.__version__,
        "xla_flags": os.environ.get("XLA_FLAGS"),
        "warnings": result.warnings,
    }


# --------------------------------------------------------------------------- torch child


def _torch_child(spec: dict[str, Any]) -> dict[str, Any]:
    import torch
    from torch import nn

    assert torch.cuda.is_available(), "no CUDA device for torch"
    device = torch.device("cuda")
    torch.backends.cudnn.benchmark = True
    torch.manual_seed(0)

    class TorchBiLSTM(nn.Module):
        """stackcast's default network: BiLSTM(64, seq) -> BiLSTM(32) -> Dense(H), dropout."""

        def __init__(self) -> None:
            super().__init__()
            self.drop0 = nn.Dropout(0.2)  # Keras LSTM(dropout=0.2): input dropout
            self.rnn0 = nn.LSTM(FEATURES, 64, batch_first=True, bidirectional=True)
            self.between = nn.Dropout(0.1)  # between_dropout
            self.drop1 = nn.Dropout(0.2)
            self.rnn1 = nn.LSTM(128, 32, batch_first=True, bidirectional=True)
            self.out = nn.Linear(64, HORIZONS)

        def forward(self, x: Any) -> Any:
            h, _ = self.rnn0(self.drop0(x))
            _, (h_n, _) = self.rnn1(self.drop1(self.between(h)))
            return self.out(torch.cat([h_n[-2], h_n[-1]], dim=-1))

    x_np, y_np = _data(spec["n"])
    x = torch.from_numpy(x_np).to(device)
    y = torch.from_numpy(y_np).to(device)
    model = TorchBiLSTM().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.HuberLoss(delta=1.0)
    scaler = torch.amp.GradScaler("cuda", enabled=spec["amp"])
    params = list(model.parameters())
    batch = spec["batch"]
    seconds = []
    for _ in range(spec["epochs"]):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        order = torch.randperm(len(x), device=device)
        for start in range(0, len(x), batch):
            idx = order[start : start + batch]
            opt.zero_grad(set_to_none=True)
            with torch.autocast("cuda", dtype=torch.float16, enabled=spec["amp"]):
                loss = loss_fn(model(x[idx]), y[idx])
            scaler.scale(loss).backward()
            scaler.unscale_(opt)
            for p in params:  # Keras clipnorm=1.0 clips each variable's gradient
                torch.nn.utils.clip_grad_norm_([p], 1.0)
            scaler.step(opt)
            scaler.update()
        torch.cuda.synchronize()
        seconds.append(time.perf_counter() - t0)
    seconds = seconds[1:]
    return {
        "samples_per_s": spec["n"] / statistics.median(seconds),
        "best_samples_per_s": spec["n"] / min(seconds),
        "epoch_s": seconds,
        "device": f"cuda: {torch.cuda.get_device_name(0)}",
        "torch": torch.__version__,
        "cudnn": torch.backends.cudnn.version(),
    }


# --------------------------------------------------------------------------- parent


def _probe(code: str, env: dict[str, str]) -> tuple[bool, str]:
    """Run a short Python snippet in a subprocess; (exit status 0, its last output line)."""
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return False, str(exc)
    text = (proc.stdout.strip() or proc.stderr.strip()).splitlines()
    return proc.returncode == 0, text[-1] if text else ""


def availability(env_jax: dict[str, str], env: dict[str, str]) -> str | None:
    """Why the benchmark cannot run here, or None when it can."""
    missing = [m for m in ("torch", "jax") if importlib.util.find_spec(m) is None]
    if missing:
        return f"skipped: {' and '.join(missing)} not installed"
    ok, out = _probe("import torch; print(torch.cuda.is_available())", env)
    if not ok or out != "True":
        return f"skipped: no CUDA device for torch ({out})"
    ok, out = _probe("import jax; print(jax.default_backend())", env_jax)
    if not ok or out != "gpu":
        return f"skipped: no CUDA device for jax (default backend: {out})"
    return None


def run(rec: Any, quick: bool = False, *, n: int | None = None, epochs: int | None = None) -> None:
    """Run the grid (or emit one skipped record) and emit one record per configuration."""
    from bench.common import child_env, clean, run_child

    env = child_env()
    env_jax = child_env({"KERAS_BACKEND": "jax"})
    why = availability(env_jax, env)
    if why is not None:
        rec.emit(NAME, {"status": "skipped", "reason": why})
        print(f"#   {why}", file=sys.stderr)
        return
    n = n or (16384 if quick else 65536)
    epochs = epochs or (2 if quick else 3)
    torch_names = QUICK_TORCH if quick else tuple(TORCH_GRID)
    keras_names = QUICK_KERAS if quick else tuple(KERAS_GRID)
    common = {"n": n, "epochs_timed": epochs - 1, "window": WINDOW, "features": FEATURES}

    reference = None
    for name in torch_names:
        spec = {**TORCH_GRID[name], "n": n, "epochs": epochs}
        try:
            out, _ = run_child(
                ["-m", "bench.gpu_keras_vs_torch", "--child", "torch", json.dumps(spec)],
                env=env,
                timeout=1800,
            )
        except Exception as exc:
            rec.emit(NAME, {"impl": name, "status": "error", "error": str(exc)[:2000], **spec})
            continue
        if name == "torch_fp32":
            reference = out["samples_per_s"]
        rec.emit(NAME, clean({"impl": name, "status": "ok", **common, **spec, **out}, 3))

    for name in keras_names:
        spec = {**KERAS_GRID[name], "n": n, "epochs": epochs}
        try:
            out, _ = run_child(
                ["-m", "bench.gpu_keras_vs_torch", "--child", "keras", json.dumps(spec)],
                env=env_jax,
                timeout=1800,
            )
        except Exception as exc:
            rec.emit(
                NAME,
                {"impl": f"keras_jax_{name}", "status": "error", "error": str(exc)[:2000], **spec},
            )
            continue
        over = out["samples_per_s"] / reference if reference else None
        rec.emit(
            NAME,
            clean(
                {
                    "impl": f"keras_jax_{name}",
                    "status": "ok",
                    **common,
                    **spec,
                    **out,
                    "over_torch_fp32": over,
                    "goal_met": bool(over and over >= 1.0),
                },
                3,
            ),
        )


def main(argv: list[str] | None = None) -> Any:
    """Command line: run this benchmark alone (``--child keras|torch SPEC`` is internal)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=2, metavar=("KIND", "SPEC"), help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--n", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=None, help="including the dropped first")
    parser.add_argument("--no-save", action="store_true", help="do not append to results.jsonl")
    args = parser.parse_args(argv)
    if args.child:
        kind, spec = args.child[0], json.loads(args.child[1])
        out = _keras_child(spec) if kind == "keras" else _torch_child(spec)
        print(json.dumps(out), flush=True)
        return None
    from bench.common import RESULTS, Recorder, configure_environment

    configure_environment()
    rec = Recorder(results=None if args.no_save else RESULTS, quick=args.quick)
    run(rec, quick=args.quick, n=args.n, epochs=args.epochs)
    return rec.records


if __name__ == "__main__":
    main(sys.argv[1:])
