"""The studio engine: composes pictures from the prompt on the CPU, offline, deterministically.

It is not a neural image model: it paints procedural scenes, sets quoted text
exactly, and edits photos with classical fills. It never imports torch.
"""

from brushwork.engines.studio.engine import StudioEngine

__all__ = ["StudioEngine"]
