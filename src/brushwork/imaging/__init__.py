"""Pixels in and out: decoding with limits, mask semantics, the keep-pixels composite, encoding.

Everything common to every engine that touches image bytes lives here, once.
This package knows nothing of HTTP, tasks or engines.
"""
