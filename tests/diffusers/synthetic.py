"""Random-weight pipelines of each family, built offline: tiny ones for the tests, full-size
architectures for ``bench/gpu_engine.py`` (random weights run exactly as fast as trained ones).
A test fixture, not part of the package: production code loads weights from disk only.

Tokenizers are built in memory over a byte alphabet (no download): byte-level BPE
for CLIP and Qwen2 (with Qwen's chat and vision special tokens), a Unigram over
bytes for T5. Nothing here is a model anyone should look at the output of.
"""

from __future__ import annotations

from typing import Any, Literal

import torch

from brushwork.engines.diffusion.loading import qwen_processor

Scale = Literal["tiny", "full"]

QWEN_SPECIALS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
]


def byte_alphabet() -> list[str]:
    """GPT-2's printable stand-ins for the 256 bytes (what byte-level BPE vocabularies use)."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    chars, extra = list(printable), 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return [chr(c) for c in chars]


def clip_tokenizer() -> Any:
    from transformers import CLIPTokenizer

    alphabet = byte_alphabet()
    tokens = alphabet + [c + "</w>" for c in alphabet] + ["<|startoftext|>", "<|endoftext|>"]
    tok = CLIPTokenizer(vocab={t: i for i, t in enumerate(tokens)}, merges=[])
    tok.model_max_length = 77
    return tok


def t5_tokenizer() -> Any:
    from transformers import T5Tokenizer

    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -1.0)]
    pieces += [(chr(c), -2.0) for c in range(32, 127)]
    pieces += [("▁" + chr(c), -1.5) for c in range(33, 127)]
    tok = T5Tokenizer(vocab=pieces, extra_ids=0)
    tok.model_max_length = 512
    return tok


def qwen_tokenizer() -> Any:
    from transformers import Qwen2Tokenizer

    alphabet = byte_alphabet()
    tok = Qwen2Tokenizer(vocab={t: i for i, t in enumerate(alphabet)}, merges=[])
    tok.add_special_tokens({"additional_special_tokens": QWEN_SPECIALS[1:]})
    tok.add_special_tokens({"eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>"})
    tok.model_max_length = 32768
    return tok


def on_cpu(cls: Any, **config: Any) -> Any:
    """A scheduler: its tables stay on the CPU whatever the default device of the build."""
    with torch.device("cpu"):
        return cls(**config)


def full_vae(**config: Any) -> Any:
    """The SD-family 8x image autoencoder (SDXL's with 4 latent channels, FLUX.1's with 16)."""
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(128, 256, 512, 512),
        layers_per_block=2,
        **config,
    )


def _clip_text(scale: Scale, projection: bool, big: bool = False) -> Any:
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    if scale == "tiny":
        cfg = CLIPTextConfig(
            hidden_size=32,
            intermediate_size=37,
            num_hidden_layers=2,
            num_attention_heads=4,
            projection_dim=32,
            vocab_size=1000,
            max_position_embeddings=77,
            bos_token_id=0,
            eos_token_id=2,
            pad_token_id=1,
        )
    elif big:  # OpenCLIP ViT-bigG/14 text tower (SDXL's second encoder)
        cfg = CLIPTextConfig(
            hidden_size=1280,
            intermediate_size=5120,
            num_hidden_layers=32,
            num_attention_heads=20,
            projection_dim=1280,
            hidden_act="gelu",
            vocab_size=49408,
        )
    else:  # CLIP ViT-L/14 text tower
        cfg = CLIPTextConfig(
            hidden_size=768,
            intermediate_size=3072,
            num_hidden_layers=12,
            num_attention_heads=12,
            projection_dim=768,
            vocab_size=49408,
        )
    cls = CLIPTextModelWithProjection if projection else CLIPTextModel
    return cls(cfg)


def flux_components(scale: Scale, variant: str = "flux") -> dict[str, Any]:
    """FLUX.1 parts; ``variant`` is flux (schnell/dev/Kontext) or fill (in_channels 384)."""
    from transformers import T5Config, T5EncoderModel

    from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler, FluxTransformer2DModel

    fill = variant == "fill"
    if scale == "tiny":
        transformer = FluxTransformer2DModel(
            patch_size=1,
            in_channels=12 if fill else 4,  # latents + masked latents + packed mask
            out_channels=4,
            num_layers=1,
            num_single_layers=1,
            attention_head_dim=16,
            num_attention_heads=2,
            joint_attention_dim=32,
            pooled_projection_dim=32,
            axes_dims_rope=(4, 6, 6),
            guidance_embeds=variant != "schnell",
        )
        vae = AutoencoderKL(
            sample_size=32,
            in_channels=3,
            out_channels=3,
            block_out_channels=(4,),
            layers_per_block=1,
            latent_channels=1,
            norm_num_groups=1,
            use_quant_conv=False,
            use_post_quant_conv=False,
            shift_factor=0.0609,
            scaling_factor=1.5035,
        )
        t5 = T5EncoderModel(
            T5Config(d_model=32, d_ff=37, d_kv=8, num_layers=2, num_heads=4, vocab_size=300)
        )
    else:
        transformer = FluxTransformer2DModel(
            in_channels=384 if fill else 64,
            out_channels=64,
            guidance_embeds=variant != "schnell",
        )
        vae = full_vae(
            latent_channels=16,
            use_quant_conv=False,
            use_post_quant_conv=False,
            shift_factor=0.1159,
            scaling_factor=0.3611,
        )
        t5 = T5EncoderModel(
            T5Config(
                d_model=4096,
                d_ff=10240,
                d_kv=64,
                num_layers=24,
                num_heads=64,
                vocab_size=32128,
                feed_forward_proj="gated-gelu",
                is_gated_act=True,
                dense_act_fn="gelu_new",
            )
        )
    return {
        "transformer": transformer,
        "vae": vae,
        "scheduler": on_cpu(
            FlowMatchEulerDiscreteScheduler,
            shift=3.0 if variant != "schnell" else 1.0,
            use_dynamic_shifting=variant != "schnell",
        ),
        "text_encoder": _clip_text(scale, projection=False),
        "tokenizer": clip_tokenizer(),
        "text_encoder_2": t5,
        "tokenizer_2": t5_tokenizer(),
    }


# Qwen3's chat layout, the part FLUX.2 [klein] uses to wrap a prompt (a real tokenizer
# ships its own template; this one is written for the byte-level test vocabulary)
QWEN3_CHAT = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def flux2_components(scale: Scale) -> dict[str, Any]:
    """FLUX.2 [klein] parts: a Qwen3 text encoder (three of its layers, stacked, are the
    prompt), a 2x2-patchified 32-channel VAE with batch-norm statistics, no guidance embed."""
    from transformers import Qwen3Config, Qwen3ForCausalLM

    from diffusers import (
        AutoencoderKLFlux2,
        FlowMatchEulerDiscreteScheduler,
        Flux2Transformer2DModel,
    )

    tokenizer = qwen_tokenizer()
    tokenizer.chat_template = QWEN3_CHAT
    if scale == "tiny":
        hidden, latent = 16, 4
        text = Qwen3Config(
            hidden_size=hidden, intermediate_size=32, num_hidden_layers=28,  # layers 9, 18, 27
            num_attention_heads=2, num_key_value_heads=1, head_dim=8,
            vocab_size=len(tokenizer) + 8, max_position_embeddings=1024,
        )  # fmt: skip
        transformer = Flux2Transformer2DModel(
            in_channels=latent * 4, num_layers=1, num_single_layers=1,
            attention_head_dim=16, num_attention_heads=2, joint_attention_dim=3 * hidden,
            timestep_guidance_channels=32, axes_dims_rope=(4, 4, 4, 4), guidance_embeds=False,
        )  # fmt: skip
        vae = AutoencoderKLFlux2(
            down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
            block_out_channels=(8, 8), layers_per_block=1, latent_channels=latent,
            norm_num_groups=4, sample_size=64,
        )  # fmt: skip
    else:  # klein 4B: Qwen3-4B, a 5 + 20 block transformer, FLUX.2's VAE
        text = Qwen3Config(
            hidden_size=2560, intermediate_size=9728, num_hidden_layers=36,
            num_attention_heads=32, num_key_value_heads=8, head_dim=128, vocab_size=151936,
            max_position_embeddings=40960, rope_theta=1000000.0, tie_word_embeddings=True,
        )  # fmt: skip
        transformer = Flux2Transformer2DModel(
            in_channels=128, num_layers=5, num_single_layers=20, attention_head_dim=128,
            num_attention_heads=24, joint_attention_dim=7680, guidance_embeds=False,
        )  # fmt: skip
        vae = AutoencoderKLFlux2()
    return {
        "transformer": transformer,
        "vae": vae,
        "scheduler": on_cpu(
            FlowMatchEulerDiscreteScheduler,
            shift=3.0,
            use_dynamic_shifting=True,
            base_image_seq_len=256,
            max_image_seq_len=4096,
            base_shift=0.5,
            max_shift=1.15,
        ),
        "text_encoder": Qwen3ForCausalLM(text),
        "tokenizer": tokenizer,
        "is_distilled": True,
    }


def qwen_components(scale: Scale, edit: bool = False) -> dict[str, Any]:
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    from diffusers import (
        AutoencoderKLQwenImage,
        FlowMatchEulerDiscreteScheduler,
        QwenImageTransformer2DModel,
    )

    tokenizer = qwen_tokenizer()
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in QWEN_SPECIALS}
    if scale == "tiny":
        transformer = QwenImageTransformer2DModel(
            patch_size=2,
            in_channels=16,
            out_channels=4,
            num_layers=2,
            attention_head_dim=16,
            num_attention_heads=3,
            joint_attention_dim=16,
            axes_dims_rope=(8, 4, 4),
        )
        z = 4
        vae = AutoencoderKLQwenImage(
            base_dim=z * 6,
            z_dim=z,
            dim_mult=[1, 2, 4, 4],  # 8x, as the real one: edit pipelines encode at 1024x1024
            num_res_blocks=1,
            temperal_downsample=[False, True, True],
            latents_mean=[0.0] * z,
            latents_std=[1.0] * z,
        )
        text = {
            "hidden_size": 16,
            "intermediate_size": 16,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "num_key_value_heads": 2,
        }
        vision = {
            "depth": 2,
            "hidden_size": 16,
            "intermediate_size": 16,
            "num_heads": 2,
            "out_hidden_size": 16,
        }
        hidden, vocab = 16, len(tokenizer) + 8
    else:
        transformer = QwenImageTransformer2DModel()
        vae = AutoencoderKLQwenImage()
        text = {
            "hidden_size": 3584,
            "intermediate_size": 18944,
            "num_hidden_layers": 28,
            "num_attention_heads": 28,
            "num_key_value_heads": 4,
        }
        vision = {"depth": 32, "hidden_size": 1280, "out_hidden_size": 3584}
        hidden, vocab = 3584, 152064
    rope = {"mrope_section": [1, 1, 2] if scale == "tiny" else [16, 24, 24], "rope_type": "default"}
    config = Qwen2_5_VLConfig(
        text_config={**text, "rope_scaling": rope, "rope_theta": 1000000.0, "vocab_size": vocab},
        vision_config=vision,
        hidden_size=hidden,
        vocab_size=vocab,
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
    )
    parts: dict[str, Any] = {
        "transformer": transformer,
        "vae": vae,
        "scheduler": on_cpu(
            FlowMatchEulerDiscreteScheduler,
            base_image_seq_len=256,
            base_shift=0.5,
            max_image_seq_len=8192,
            max_shift=0.9,
            shift_terminal=0.02,
            use_dynamic_shifting=True,
            time_shift_type="exponential",
        ),
        "text_encoder": Qwen2_5_VLForConditionalGeneration(config),
        "tokenizer": tokenizer,
    }
    if edit:
        parts["processor"] = qwen_processor(tokenizer)
    return parts


def sdxl_components(scale: Scale, inpaint: bool = False) -> dict[str, Any]:
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, UNet2DConditionModel

    if scale == "tiny":
        unet = UNet2DConditionModel(
            block_out_channels=(32, 64),
            layers_per_block=1,
            sample_size=32,
            in_channels=9 if inpaint else 4,
            out_channels=4,
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
            attention_head_dim=(2, 4),
            use_linear_projection=True,
            addition_embed_type="text_time",
            addition_time_embed_dim=8,
            transformer_layers_per_block=(1, 1),
            projection_class_embeddings_input_dim=80,  # 6 * 8 + 32
            cross_attention_dim=64,
            norm_num_groups=1,
        )
        vae = AutoencoderKL(
            block_out_channels=[32, 64],
            in_channels=3,
            out_channels=3,
            down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"],
            up_block_types=["UpDecoderBlock2D", "UpDecoderBlock2D"],
            latent_channels=4,
            sample_size=128,
            norm_num_groups=1,
        )
    else:
        unet = UNet2DConditionModel(
            sample_size=128,
            in_channels=9 if inpaint else 4,
            out_channels=4,
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
            block_out_channels=(320, 640, 1280),
            layers_per_block=2,
            transformer_layers_per_block=(1, 2, 10),
            attention_head_dim=(5, 10, 20),
            cross_attention_dim=2048,
            use_linear_projection=True,
            addition_embed_type="text_time",
            addition_time_embed_dim=256,
            projection_class_embeddings_input_dim=2816,
        )
        vae = full_vae(latent_channels=4, scaling_factor=0.13025, force_upcast=False)
    text_encoder = _clip_text(scale, projection=False)
    text_encoder_2 = _clip_text(scale, projection=True, big=True)
    if scale == "tiny":  # both encoders feed one 64-wide cross-attention
        from transformers import CLIPTextConfig, CLIPTextModelWithProjection

        cfg = text_encoder.config.to_dict()
        cfg.update(hidden_size=32, projection_dim=32)
        text_encoder_2 = CLIPTextModelWithProjection(CLIPTextConfig(**cfg))
    return {
        "unet": unet,
        "vae": vae,
        "scheduler": on_cpu(
            EulerDiscreteScheduler,
            beta_start=0.00085,
            beta_end=0.012,
            beta_schedule="scaled_linear",
            timestep_spacing="leading",
            steps_offset=1,
        ),
        "text_encoder": text_encoder,
        "tokenizer": clip_tokenizer(),
        "text_encoder_2": text_encoder_2,
        "tokenizer_2": clip_tokenizer(),
        "image_encoder": None,
        "feature_extractor": None,
    }


def build(model: str, scale: Scale = "tiny", seed: int = 0) -> Any:
    """A random-weight pipeline laid out like ``model``'s weights (a catalog name)."""
    import diffusers
    from brushwork.engines.diffusion.catalog import MODELS

    spec = MODELS[model]
    torch.manual_seed(seed)
    if spec.family == "flux":
        variant = {"flux-fill": "fill", "flux-schnell": "schnell"}.get(model, "flux")
        parts = flux_components(scale, variant)
        if spec.pipeline != "FluxFillPipeline":  # FLUX.1's IP-adapter slots
            parts.update(image_encoder=None, feature_extractor=None)
    elif spec.family == "flux2":
        parts = flux2_components(scale)
    elif spec.family == "qwen":
        parts = qwen_components(scale, edit="Edit" in spec.pipeline)
    else:
        parts = sdxl_components(scale, inpaint="Inpaint" in spec.pipeline)
    return getattr(diffusers, spec.pipeline)(**parts)


def save(pipe: Any, directory: Any) -> None:
    """``save_pretrained``, laid out like the published repositories.

    The Qwen edit processor is written part by part (its image processor and
    tokenizer), since without torchvision transformers cannot save it whole.
    """
    import json
    from pathlib import Path

    processor = getattr(pipe, "processor", None)
    if processor is None:
        pipe.save_pretrained(directory)
        return
    pipe.register_modules(processor=None)
    try:
        pipe.save_pretrained(directory)
    finally:
        pipe.register_modules(processor=processor)
    processor.image_processor.save_pretrained(Path(directory) / "processor")
    processor.tokenizer.save_pretrained(Path(directory) / "processor")
    index_path = Path(directory) / "model_index.json"
    index = json.loads(index_path.read_text())
    index["processor"] = ["transformers", "Qwen2VLProcessor"]
    index_path.write_text(json.dumps(index, indent=2))


def tiny_sam2() -> Any:
    """A random-weight SAM 2 at 128 px (Hiera with one block per stage): the shape of the real
    model, nothing learned."""
    from transformers import (
        Sam2Config,
        Sam2HieraDetConfig,
        Sam2MaskDecoderConfig,
        Sam2Model,
        Sam2PromptEncoderConfig,
        Sam2VisionConfig,
    )

    backbone = Sam2HieraDetConfig(
        hidden_size=12, image_size=128, blocks_per_stage=[1, 1, 1, 1],
        embed_dim_per_stage=[12, 24, 48, 96],
    )  # fmt: skip
    vision = Sam2VisionConfig(
        backbone_config=backbone, backbone_channel_list=[96, 48, 24, 12],
        backbone_feature_sizes=[[32, 32], [16, 16], [8, 8]], fpn_hidden_size=32,
    )  # fmt: skip
    config = Sam2Config(
        vision_config=vision,
        prompt_encoder_config=Sam2PromptEncoderConfig(
            hidden_size=32, image_size=128, patch_size=16, mask_input_channels=8
        ),
        mask_decoder_config=Sam2MaskDecoderConfig(
            hidden_size=32,
            mlp_dim=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            iou_head_hidden_dim=32,
        ),  # fmt: skip
        memory_attention_hidden_size=12,
        memory_encoder_hidden_size=32,
        mask_downsampler_embed_dim=32,
        memory_fuser_embed_dim=32,
        memory_attention_num_layers=1,
        memory_attention_feed_forward_hidden_size=32,
    )
    return Sam2Model(config).eval()


def tiny_owlv2() -> tuple[Any, Any]:
    """A random-weight OWLv2 at 64 px with the locally trained CLIP tokenizer: (model,
    tokenizer)."""
    from transformers import Owlv2Config, Owlv2ForObjectDetection

    tokenizer = clip_tokenizer()
    vocab = len(tokenizer)
    ids = {"bos_token_id": vocab - 2, "eos_token_id": vocab - 1, "pad_token_id": vocab - 1}
    config = Owlv2Config(
        text_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
                     "num_attention_heads": 2, "vocab_size": vocab,
                     "max_position_embeddings": 16, **ids},
        vision_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
                       "num_attention_heads": 2, "image_size": 64, "patch_size": 16},
        projection_dim=32,
    )  # fmt: skip
    return Owlv2ForObjectDetection(config).eval(), tokenizer
