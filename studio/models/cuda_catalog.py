"""The shapes of the Qwen2.5-Coder sizes and how many bytes the CUDA engine's weights take.

Plain Python (no torch): the catalog imports it to size the ``cuda`` entries, and
``bench/cuda_decode.py`` builds its random-weight 7B from :data:`SHAPES`.

Shapes are each size's config.json (hidden_size, num_hidden_layers, num_attention_heads,
num_key_value_heads, intermediate_size, vocab_size, tie_word_embeddings).

NF4 bytes (bitsandbytes ``load_in_4bit``, ``bnb_4bit_quant_type="nf4"``, double quantization):
transformers quantizes every ``nn.Linear`` of the decoder layers except the LM head (it keeps the
output embedding in 16 bits); the embedding, the LM head, the norms and the q/k/v biases stay in
bf16. A quantized weight costs 4 bits, plus one 8-bit absmax per 64-weight block, plus one fp32
scale per 256 absmax values (the double quantization): 4 + 8/64 + 32/(64*256) = 4.127 bits.
"""

from __future__ import annotations

from dataclasses import dataclass

NF4_BITS = 4 + 8 / 64 + 32 / (64 * 256)
CUDA_QUANTS = ("nf4", "bf16")  # catalog order; nf4 is the default


@dataclass(frozen=True, slots=True)
class Shape:
    """One size's decoder shape (config.json)."""

    hidden: int
    layers: int
    heads: int
    kv_heads: int
    intermediate: int
    vocab: int
    tied: bool

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads

    def linear_params(self) -> int:
        """Weights of the decoder layers' linear projections (what NF4 quantizes)."""
        kv = self.kv_heads * self.head_dim
        attn = 2 * self.hidden * self.hidden + 2 * self.hidden * kv  # q, o, k, v
        mlp = 3 * self.hidden * self.intermediate  # gate, up, down
        return self.layers * (attn + mlp)

    def other_params(self) -> int:
        """Everything kept in 16 bits: embedding, LM head (when untied), norms, q/k/v biases."""
        kv = self.kv_heads * self.head_dim
        per_layer = 2 * self.hidden + self.hidden + 2 * kv  # two norms; q, k, v biases
        heads = self.vocab * self.hidden * (1 if self.tied else 2)
        return heads + self.layers * per_layer + self.hidden  # + the final norm

    def params(self) -> int:
        return self.linear_params() + self.other_params()


SHAPES: dict[str, Shape] = {
    "0.5B": Shape(896, 24, 14, 2, 4864, 151936, True),
    "1.5B": Shape(1536, 28, 12, 2, 8960, 151936, True),
    "3B": Shape(2048, 36, 16, 2, 11008, 151936, True),
    "7B": Shape(3584, 28, 28, 4, 18944, 152064, False),
    "14B": Shape(5120, 48, 40, 8, 13824, 152064, False),
    "32B": Shape(5120, 64, 40, 8, 27648, 152064, False),
}


def weight_bytes(shape: Shape, quant: str) -> int:
    """Bytes the weights take once loaded: ``"bf16"`` (also fp16) or ``"nf4"``."""
    if quant in ("bf16", "fp16"):
        return 2 * shape.params()
    if quant == "fp32":
        return 4 * shape.params()
    if quant == "nf4":
        return round(shape.linear_params() * NF4_BITS / 8) + 2 * shape.other_params()
    raise ValueError(f"unknown quantization {quant!r}")


def weights_gb(size: str, quant: str) -> float:
    """GB (1e9 bytes, as the catalog's download sizes) of ``size``'s weights in GPU memory."""
    return weight_bytes(SHAPES[size], quant) / 1e9


__all__ = ["CUDA_QUANTS", "NF4_BITS", "SHAPES", "Shape", "weight_bytes", "weights_gb"]
