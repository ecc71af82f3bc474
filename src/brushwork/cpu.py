"""How many threads the numerical libraries take in brushwork's processes.

brushwork gets its parallelism from processes (one shared worker per core) and, in the API,
from request threads. OpenBLAS, OpenMP and OpenCV each start a pool of one thread per core
on their own and spin while they wait for work: under load on two cores that doubled the
API's CPU per task (107 ms against 33 ms, measured with moderation embeddings on). So these
processes run them on one thread each, unless the operator set a count in the environment.
"""

from __future__ import annotations

import os

SET_BY_OPERATOR = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def one_math_thread() -> bool:
    """One thread per numerical library in this process; False when the environment already
    says how many (then it is left alone)."""
    if any(os.environ.get(name) for name in SET_BY_OPERATOR):
        return False
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)
    try:
        import cv2
    except ImportError:  # the SDK-only install has no OpenCV
        return True
    cv2.setNumThreads(1)
    return True
