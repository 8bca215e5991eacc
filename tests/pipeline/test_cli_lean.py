"""The command line starts Keras without its optional matplotlib and scikit-learn extras."""

from __future__ import annotations

import json
import subprocess
import sys

CHILD = """
import json, sys
from stackcast.pipeline.cli.lean import skip_keras_extras
skip_keras_extras()
skip_keras_extras()  # once only
import keras
extras = ("sklearn", "matplotlib", "matplotlib.pyplot", "scipy.stats")
loaded = {m: m in sys.modules for m in extras}
import numpy as np
from keras.src.wrappers import sklearn_wrapper
model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
out = model.predict_on_batch(np.ones((4, 3), dtype="float32")).shape
import matplotlib.pyplot, sklearn.preprocessing  # stackcast's own imports still work
finders = sum(type(f).__name__ == "KerasExtrasFinder" for f in sys.meta_path)
print(json.dumps({"loaded": loaded, "out": list(out), "finders": finders,
                  "wrapper_sklearn": sklearn_wrapper.sklearn is None,
                  "later": "sklearn" in sys.modules and "matplotlib.pyplot" in sys.modules}))
"""


def test_keras_loads_without_its_extras_and_they_stay_importable() -> None:
    env_code = "import os; os.environ.setdefault('KERAS_BACKEND', 'tensorflow');"
    proc = subprocess.run(
        [sys.executable, "-c", env_code + CHILD], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["loaded"] == dict.fromkeys(("sklearn", "matplotlib", "matplotlib.pyplot",
                                           "scipy.stats"), False)  # fmt: skip
    assert got["out"] == [4, 2] and got["finders"] == 1
    assert got["wrapper_sklearn"] and got["later"]


def test_the_command_line_installs_it(monkeypatch) -> None:
    from stackcast.pipeline.cli import main
    from stackcast.pipeline.cli.lean import KerasExtrasFinder

    monkeypatch.setattr(sys, "meta_path", [f for f in sys.meta_path])
    assert main(["--version"]) == 0
    assert sum(isinstance(f, KerasExtrasFinder) for f in sys.meta_path) == 1
