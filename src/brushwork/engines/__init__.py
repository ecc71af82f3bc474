"""Engines behind one small protocol (``base.py``), imported lazily by name."""
