"""The ``brushwork/masks`` app's engine. It selects, it does not draw: the worker calls
:meth:`MaskEngine.select` for its tasks, never ``run``.

Every mode works on the CPU with classical cues (``imaging/selection.py``). Where SAM 2's
weights are on this machine (``BRUSHWORK_MODELS_DIR/sam2``, a transformers ``Sam2Model``
directory, or the Hugging Face cache of ``facebook/sam2.1-hiera-large``) and torch is
installed, clicks and boxes go to SAM 2 instead, on the GPU when there is one; nothing is
ever downloaded here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from brushwork.contract import MaskInput
from brushwork.engines.base import Cancelled, Capabilities, Progress, Request
from brushwork.errors import EngineFailed
from brushwork.imaging import selection
from brushwork.settings import DiffusersSettings

SAM2_DIR = "sam2"
SAM2_REPO = "facebook/sam2.1-hiera-large"
OWLV2_DIR = "owlv2"
OWLV2_REPO = "google/owlv2-base-patch16-ensemble"
# what `brushwork models list` and `models pull` know besides the diffusers catalog
WEIGHTS = {
    SAM2_DIR: (SAM2_REPO, "Apache-2.0"),
    OWLV2_DIR: (OWLV2_REPO, "Apache-2.0"),
}
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)


def find_model(models_dir: Path, name: str, repo: str) -> Path | None:
    """A transformers model directory: ``models_dir/name``, then ``repo`` in the HF cache."""
    local = models_dir / name
    if (local / "config.json").is_file():
        return local
    from brushwork.engines.diffusion.catalog import cached_snapshot

    return cached_snapshot(repo, marker="config.json")


def find_sam2(models_dir: Path) -> Path | None:
    return find_model(models_dir, SAM2_DIR, SAM2_REPO)


def find_owlv2(models_dir: Path) -> Path | None:
    return find_model(models_dir, OWLV2_DIR, OWLV2_REPO)


class Sam2:
    """SAM 2 for clicks and boxes: the picture resized to the model's square input, the
    prompts scaled with it, and the best of its three masks brought back to full size."""

    def __init__(self, model: Any, device: str):
        import torch

        self.torch, self.device = torch, device
        self.model = model.to(device).eval()
        # the square the prompt encoder works in (a published config says it there only)
        side = self.model.config.prompt_encoder_config.image_size
        self.size = int(side[0] if isinstance(side, (list, tuple)) else side)

    @classmethod
    def load(cls, path: Path, options: DiffusersSettings) -> Sam2:
        from transformers import Sam2Model

        from brushwork.engines.diffusion.loading import resolve_device

        return cls(Sam2Model.from_pretrained(str(path)), resolve_device(options))

    def select(
        self,
        image: Image.Image,
        points: list[tuple[float, float]] | None = None,
        labels: list[int] | None = None,
        box: list[float] | None = None,
    ) -> np.ndarray:
        torch = self.torch
        w, h = image.size
        sx, sy = self.size / w, self.size / h
        square = np.asarray(image.convert("RGB").resize((self.size, self.size)), np.float32)
        pixels = (square / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
        inputs: dict[str, Any] = {
            "pixel_values": torch.from_numpy(pixels.transpose(2, 0, 1)[None]).to(self.device)
        }
        if points:
            scaled = [[x * sx, y * sy] for x, y in points]
            inputs["input_points"] = torch.tensor([[scaled]], dtype=torch.float32)
            inputs["input_labels"] = torch.tensor([[labels or [1] * len(points)]])
        if box is not None:
            x0, y0, x1, y1 = box
            inputs["input_boxes"] = torch.tensor([[[x0 * sx, y0 * sy, x1 * sx, y1 * sy]]])
        inputs = {k: v.to(self.device) for k, v in inputs.items()}
        with torch.inference_mode():
            out = self.model(**inputs, multimask_output=True)
        best = int(out.iou_scores[0, 0].argmax())
        logits = out.pred_masks[0, 0, best][None, None].float()
        full = torch.nn.functional.interpolate(logits, size=(h, w), mode="bilinear")
        chosen = full[0, 0].cpu().numpy() > 0
        return np.where(chosen, 255, 0).astype(np.uint8)


CLIP_MEAN = np.array([0.48145466, 0.4578275, 0.40821073], np.float32)
CLIP_STD = np.array([0.26862954, 0.26130258, 0.27577711], np.float32)


class Owlv2:
    """OWLv2 finds where the words are: the picture padded to a square (grey, bottom and
    right, as it was trained), its best box for the query brought back to the picture."""

    def __init__(self, model: Any, tokenizer: Any, device: str):
        import torch

        self.torch, self.device, self.tokenizer = torch, device, tokenizer
        self.model = model.to(device).eval()
        self.size = int(self.model.config.vision_config.image_size)

    @classmethod
    def load(cls, path: Path, options: DiffusersSettings) -> Owlv2:
        from transformers import AutoTokenizer, Owlv2ForObjectDetection

        from brushwork.engines.diffusion.loading import resolve_device

        model = Owlv2ForObjectDetection.from_pretrained(str(path))
        return cls(model, AutoTokenizer.from_pretrained(str(path)), resolve_device(options))

    def box(self, image: Image.Image, text: str) -> tuple[list[float], float]:
        torch = self.torch
        w, h = image.size
        side = max(w, h)
        square = Image.new("RGB", (side, side), (128, 128, 128))
        square.paste(image.convert("RGB"), (0, 0))
        pixels = np.asarray(square.resize((self.size, self.size)), np.float32) / 255.0
        pixels = (pixels - CLIP_MEAN) / CLIP_STD
        tokens = self.tokenizer(
            [text], padding="max_length", max_length=16, truncation=True, return_tensors="pt"
        )
        with torch.inference_mode():
            out = self.model(
                input_ids=tokens["input_ids"].to(self.device),
                attention_mask=tokens["attention_mask"].to(self.device),
                pixel_values=torch.from_numpy(pixels.transpose(2, 0, 1)[None]).to(self.device),
            )
        scores = out.logits[0, :, 0].sigmoid()
        best = int(scores.argmax())
        cx, cy, bw, bh = (float(v) * side for v in out.pred_boxes[0, best])
        x0, y0 = max(0.0, cx - bw / 2), max(0.0, cy - bh / 2)
        x1, y1 = min(float(w), cx + bw / 2), min(float(h), cy + bh / 2)
        if x1 - x0 < 1 or y1 - y0 < 1:  # a box off the picture: the whole picture
            x0, y0, x1, y1 = 0.0, 0.0, float(w), float(h)
        return [x0, y0, x1, y1], float(scores[best])


class MaskEngine:
    name = "masks-cpu"

    def __init__(self, config: DiffusersSettings | None = None):
        self.options = config or DiffusersSettings.from_env()
        self._sam2: Sam2 | None = None
        self._owlv2: Owlv2 | None = None
        self._looked = False

    def unavailable_reason(self) -> str | None:
        return None

    def capabilities(self) -> Capabilities:
        return Capabilities(modes=frozenset(), max_images=1)

    def details(self) -> dict[str, Any]:
        models = self.options.models_dir
        sam2 = find_sam2(models)
        words = sam2 is not None and find_owlv2(models) is not None  # words need a grounder
        return {
            "selection_modes": list(selection.MODES if words else selection.MODES[:-1]),
            "sam2": str(sam2) if sam2 is not None else None,
        }

    def load(self) -> None:
        return None

    def run(self, request: Request, progress: Progress, cancelled: Cancelled) -> list[Image.Image]:
        raise EngineFailed("brushwork/masks selects; it does not draw pictures")

    def understands_text(self) -> bool:
        """Whether words can be selected here: OWLv2 and SAM 2 both have weights."""
        models = self.options.models_dir
        return find_owlv2(models) is not None and find_sam2(models) is not None

    def sam2(self) -> Sam2 | None:
        """SAM 2 (and OWLv2 for words) when their weights and torch are here, loaded once per
        process."""
        if not self._looked:
            self._looked = True
            sam2, owlv2 = find_sam2(self.options.models_dir), find_owlv2(self.options.models_dir)
            try:
                self._sam2 = Sam2.load(sam2, self.options) if sam2 is not None else None
                if self._sam2 is not None and owlv2 is not None:
                    self._owlv2 = Owlv2.load(owlv2, self.options)
            except ImportError:  # torch or transformers is not installed: the CPU cues
                self._sam2 = self._owlv2 = None
        return self._sam2

    def select(self, image: Image.Image, inp: MaskInput) -> tuple[np.ndarray, str]:
        """The selection, grown, inverted and feathered as asked (uint8, 255 = selected),
        and what made it."""
        model = self.sam2() if inp.mode in ("point", "box", "text") else None
        if model is not None and inp.mode == "text" and self._owlv2 is not None:
            selection.check("text", *image.size, text=inp.text, words=True)
            assert inp.text is not None
            box, _ = self._owlv2.box(image, inp.text)
            found = model.select(image, box=box)
            made_by = "owlv2+sam2"
        elif model is not None and inp.mode != "text":
            selection.check(inp.mode, *image.size, points=inp.points, labels=inp.labels,
                            box=inp.box)  # fmt: skip
            points = [(p[0], p[1]) for p in inp.points] if inp.points else None
            found = model.select(image, points, inp.labels, inp.box)
            made_by = "sam2"
        else:
            found = selection.select(
                image, inp.mode, points=inp.points, labels=inp.labels, box=inp.box, text=inp.text
            )
            made_by = self.name
        adjusted = selection.adjust(found, grow=inp.grow, feather=inp.feather, invert=inp.invert)
        return adjusted, made_by
