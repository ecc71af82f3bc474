"""k-means over pixels, through OpenCV, in one place: the studio's palettes and the subject
cut's border colours all cluster this way.

It owns only the call (OpenCV's argument order, its stopping rule, the typing of its
result); seeding OpenCV's RNG stays with the callers, who know when one picture must give
one answer.
"""

from __future__ import annotations

import cv2
import numpy as np


def kmeans(
    points: np.ndarray, k: int, *, iterations: int, eps: float, attempts: int
) -> tuple[np.ndarray, np.ndarray]:
    """``points`` (N x D float32) in ``k`` clusters, k-means++ seeded, the best of
    ``attempts`` runs of at most ``iterations`` steps (or until the centres move less than
    ``eps``): each point's label (N x 1) and the centres (k x D)."""
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, iterations, eps)
    # compat: OpenCV 4's stubs refuse None for bestLabels, OpenCV 5's accept it
    _, labels, centres = cv2.kmeans(  # type: ignore[call-overload, unused-ignore]
        np.ascontiguousarray(points, np.float32), k, None, criteria, attempts,
        cv2.KMEANS_PP_CENTERS,
    )  # fmt: skip
    return np.asarray(labels), np.asarray(centres, np.float32)
