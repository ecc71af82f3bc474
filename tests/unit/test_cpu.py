"""brushwork's processes run the numerical libraries on one thread, unless told otherwise."""

from __future__ import annotations

import json
import os
import subprocess
import sys

PROBE = """
import json, cv2, numpy
from threadpoolctl import threadpool_info
from brushwork.cpu import one_math_thread
applied = one_math_thread()
print(json.dumps({"applied": applied, "cv2": cv2.getNumThreads(),
                  "blas": [p["num_threads"] for p in threadpool_info()]}))
"""


def probe(**env: str) -> dict[str, object]:
    clean = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env={**clean, **env}, capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    result: dict[str, object] = json.loads(out.stdout)
    return result


def test_one_thread_for_blas_and_opencv() -> None:
    found = probe()
    assert found["applied"] is True and found["cv2"] == 1
    assert found["blas"] and set(found["blas"]) == {1}  # type: ignore[arg-type]


def test_an_operators_thread_count_is_left_alone() -> None:
    found = probe(OPENBLAS_NUM_THREADS="2")
    assert found["applied"] is False
