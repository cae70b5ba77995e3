"""The model catalog and the memory-fit check (no network, no engine library)."""

from __future__ import annotations

import pytest

from studio.models import catalog
from studio.models.catalog import APACHE, QWEN_RESEARCH, fit, fit_warning, recommend
from studio.models.llamacpp_catalog import SIZES, gguf_entries
from studio.models.sysinfo import Memory, memory

QUANTS = {"mlx": {"4bit", "8bit"}, "llamacpp": {"q4_k_m", "q8_0"}, "cuda": {"nf4", "bf16"}}


def test_every_size_has_each_engines_quantizations() -> None:
    entries = catalog.catalog()
    for engine, quants in QUANTS.items():
        for size in SIZES:
            got = {e.quantization for e in entries if e.engine == engine and e.size == size}
            assert got == quants, (engine, size)
            defaults = [e for e in entries if e.engine == engine and e.size == size and e.default]
            assert len(defaults) == 1
    assert len({e.id for e in entries}) == len(entries) == 6 * 6


def test_repos_and_gguf_data_come_from_llamacpp_catalog() -> None:
    by_id = {e.id: e for e in catalog.catalog()}
    assert by_id["mlx:7B:4bit"].repo == "mlx-community/Qwen2.5-Coder-7B-Instruct-4bit"
    assert by_id["mlx:32B:8bit"].repo == "mlx-community/Qwen2.5-Coder-32B-Instruct-8bit"
    assert by_id["cuda:14B:bf16"].repo == by_id["cuda:14B:nf4"].repo == "Qwen/Qwen2.5-Coder-14B-Instruct"
    assert by_id["cuda:14B:nf4"].default and not by_id["cuda:14B:bf16"].default
    assert catalog.engine_note("cuda") == "cuda (PyTorch)"
    for g in gguf_entries():
        e = by_id[f"llamacpp:{g.size}:{g.quant}"]
        assert (e.repo, e.pattern, e.download_gb, e.default) == (g.repo, g.pattern, g.approx_gb, g.default)


def test_licences_3b_is_research_only() -> None:
    for e in catalog.catalog():
        if e.size == "3B":
            assert e.licence == QWEN_RESEARCH and not e.apache
        else:
            assert e.licence == APACHE


def test_context_lengths() -> None:
    for e in catalog.catalog():
        assert e.context_length == 32768
        assert e.context_length_yarn == (131072 if e.size in ("7B", "14B", "32B") else None)


def test_sizes_and_memory_increase_with_parameters() -> None:
    for engine, quants in QUANTS.items():
        for quant in quants:
            row = [catalog.find(f"{engine}:{size}:{quant}") for size in SIZES]
            assert all(row)
            downloads = [e.download_gb for e in row if e]
            needs = [e.memory_gb for e in row if e]
            assert downloads == sorted(downloads) and len(set(downloads)) == len(downloads)
            assert needs == sorted(needs)
            for e in row:
                assert e is not None
                if quant == "nf4":  # quantized while loading: less than the bf16 form it downloads
                    bf16 = catalog.find(f"cuda:{e.size}:bf16")
                    assert bf16 and e.memory_gb < bf16.memory_gb and e.download_gb == bf16.download_gb
                else:
                    assert e.memory_gb > e.download_gb
    # higher precision is bigger
    for size in SIZES:
        a, b, c = (
            catalog.find(f"mlx:{size}:4bit"),
            catalog.find(f"mlx:{size}:8bit"),
            catalog.find(f"cuda:{size}:bf16"),
        )
        assert a and b and c and a.download_gb < b.download_gb < c.download_gb


def test_memory_formula() -> None:
    # 7B: 28 layers x 4 KV heads x 128 dims, fp16 K+V, 8192 tokens = 0.4375 GiB
    assert catalog.kv_cache_gb("7B") == pytest.approx(0.4375)
    assert catalog.kv_cache_gb("32B") == pytest.approx(2.0)
    e = catalog.find("llamacpp:7B:q4_k_m")
    assert e and e.memory_gb == pytest.approx(4.7 * 1.1 + 0.4375 + 0.5, abs=0.01)


@pytest.mark.parametrize(
    ("gb", "mlx", "llamacpp", "cuda"),
    [
        (8, "mlx:3B:4bit", "llamacpp:3B:q4_k_m", "cuda:3B:nf4"),
        (16, "mlx:7B:4bit", "llamacpp:7B:q4_k_m", "cuda:7B:nf4"),
        (32, "mlx:14B:4bit", "llamacpp:14B:q4_k_m", "cuda:14B:nf4"),
        (64, "mlx:32B:4bit", "llamacpp:32B:q4_k_m", "cuda:32B:nf4"),
    ],
)
def test_recommend(gb: int, mlx: str, llamacpp: str, cuda: str) -> None:
    mem = Memory.of(gb, unified=True)
    assert recommend("mlx", mem, gpu=True).id == mlx
    assert recommend("llamacpp", Memory.of(gb), gpu=True).id == llamacpp
    assert recommend("cuda", Memory.of(gb, gpu=True), gpu=True).id == cuda
    for engine in QUANTS:
        assert fit(recommend(engine, Memory.of(gb), gpu=True), Memory.of(gb)) == "comfortable"


@pytest.mark.parametrize(("gb", "size"), [(4, "1.5B"), (16, "7B"), (64, "7B"), (256, "7B")])
def test_without_a_gpu_speed_caps_the_recommendation_at_7b(gb: int, size: str) -> None:
    """On a CPU alone a 14B decodes at half a 7B's speed: memory is not the limit there."""
    for engine in ("mlx", "llamacpp"):
        entry = recommend(engine, Memory.of(gb), gpu=False)
        assert entry.size == size and entry.default, (engine, entry.id)
    assert recommend("llamacpp", Memory.of(64), gpu=True).size == "32B"


def test_the_cuda_fit_is_checked_against_the_gpu_memory() -> None:
    vram = Memory.of(8, gpu=True)  # an 8 GB card in a 64 GB machine
    assert catalog.device_memory("cuda", vram) is vram
    assert catalog.device_memory("mlx", vram) is vram
    assert fit(catalog.find("cuda:14B:nf4"), vram) == "too large"  # type: ignore[arg-type]
    warning = fit_warning(catalog.find("cuda:14B:nf4"), vram)  # type: ignore[arg-type]
    assert warning and "of GPU memory a model can use" in warning and "will not fit" in warning


def test_recommend_apache_only_skips_3b_and_nothing_fits_gives_smallest() -> None:
    assert recommend("mlx", Memory.of(8, unified=True), apache_only=True).id == "mlx:1.5B:4bit"
    assert recommend("mlx", Memory.of(0.5)).id == "mlx:0.5B:4bit"
    with pytest.raises(ValueError):
        recommend("tpu", Memory.of(8))


@pytest.mark.parametrize(
    ("gb", "entry", "verdict"),
    [
        (8, "llamacpp:0.5B:q4_k_m", "comfortable"),
        (8, "llamacpp:7B:q4_k_m", "tight"),
        (8, "llamacpp:7B:q8_0", "too large"),
        (16, "llamacpp:7B:q8_0", "comfortable"),
        (16, "llamacpp:14B:q4_k_m", "tight"),
        (16, "mlx:32B:4bit", "too large"),
        (32, "mlx:32B:4bit", "too large"),  # unified: 70% of 32 = 22.4 GB usable
        (64, "mlx:32B:4bit", "comfortable"),
        (64, "cuda:32B:bf16", "too large"),
        (80, "cuda:14B:bf16", "comfortable"),
        (18, "cuda:14B:nf4", "tight"),
    ],
)
def test_fit(gb: int, entry: str, verdict: str) -> None:
    e = catalog.find(entry)
    assert e is not None
    assert fit(e, Memory.of(gb, unified=e.engine == "mlx")) == verdict


def test_unified_memory_is_70_percent() -> None:
    assert Memory.of(16, unified=True).usable_gb == pytest.approx(11.2)
    assert Memory.of(16).usable_gb == pytest.approx(12.8)


def test_fit_warning() -> None:
    small, big, mid = (
        catalog.find("llamacpp:0.5B:q4_k_m"),
        catalog.find("llamacpp:32B:q8_0"),
        catalog.find("llamacpp:7B:q4_k_m"),
    )
    assert small and big and mid
    mem = Memory.of(8)
    assert fit_warning(small, mem) is None
    tight = fit_warning(mid, mem)
    assert tight and "close other apps" in tight
    too = fit_warning(big, mem)
    assert too and "will not fit" in too and "40.8 GB" in too and "3B" in too


def test_sysinfo_on_this_machine_is_plausible() -> None:
    mem = memory()
    assert 0.25 < mem.total_gb < 16384
    assert mem.available_gb is None or 0 < mem.available_gb <= mem.total_gb * 1.01
    assert 0 < mem.usable_gb < mem.total_gb


def test_cuda_memory_is_what_the_engine_loads() -> None:
    from studio.models.cuda_catalog import NF4_BITS, SHAPES, weights_gb

    # the shapes give each card's parameter count (within 1%)
    for size, shape in SHAPES.items():
        assert shape.params() / 1e9 == pytest.approx(catalog.ARCH[size].params_b, rel=0.01)
        assert shape.head_dim == catalog.ARCH[size].head_dim and shape.layers == catalog.ARCH[size].layers
    # 7B NF4: 6.52e9 linear weights at 4.127 bits + 1.09e9 embedding/LM-head/norm/bias values in bf16
    assert pytest.approx(4.127, abs=1e-3) == NF4_BITS
    assert weights_gb("7B", "nf4") == pytest.approx(5.55, abs=0.01)
    assert weights_gb("7B", "bf16") == pytest.approx(15.23, abs=0.01)
    nf4, bf16 = catalog.find("cuda:7B:nf4"), catalog.find("cuda:7B:bf16")
    assert nf4 and bf16 and nf4.download_gb == bf16.download_gb
    assert nf4.memory_gb == pytest.approx(catalog.memory_needed_gb("7B", weights_gb("7B", "nf4")))
    assert bf16.memory_gb == pytest.approx(catalog.memory_needed_gb("7B", weights_gb("7B", "bf16")))
