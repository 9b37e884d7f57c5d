"""Encoder throughput of an e5-large-sized model on the GPU: fp16 and bf16, batch sizes 32 to 512.

    python3 -m bench.gpu_sweep                 # on the lent GPU machine: torch + transformers only
    .venv/bin/python -m bench.gpu_sweep --smoke   # here: a 2-layer model on the CPU, a few seconds

The model is `XLMRobertaModel` with multilingual-e5-large's configuration (24 layers, hidden
1024, 16 heads, FFN 4096, 514 positions, vocabulary 250,002) and random weights, built offline:
the speed of a forward pass does not depend on the weights' values. The texts are token-id
sequences with the lengths of slide texts (the length distribution of bench/workloads.py's decks
through XLM-R's tokenizer is about 60-220 tokens; --min-tokens/--max-tokens), so no tokenizer is
needed: this measures the encoder, the part of `SentenceTransformer.encode` that runs on the GPU.
As encode does, texts are sorted by length, batched, padded to each batch's longest, then mean
pooled and normalised.

Per (dtype, batch size): texts/s, tokens/s, peak allocated memory, and the model FLOP rate as a
fraction of the chip's dense bf16 peak (fp16 has the same peak on Hopper). FLOPs per text of s
tokens (padded length, the work the chip does) per layer: 2 s (4 h^2 + 2 h f) for the dense layers
plus 4 s^2 h for attention scores and their weighted sum. The `useful` column counts real tokens
only (padding excluded).

Writes the table to stdout and, when OUT is set, $OUT/gpu_sweep.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

# Dense (no sparsity) bf16 peak, TFLOPS, by the name torch reports.
PEAK_BF16_TFLOPS = [
    ("H100 PCIe", 756.0),
    ("H100 NVL", 835.0),
    ("H100", 989.0),
    ("H200", 989.0),
    ("GH200", 989.0),
    ("A100", 312.0),
    ("L40S", 362.0),
    ("L4", 121.0),
]


def chip_peak(name: str) -> float | None:
    for needle, tflops in PEAK_BF16_TFLOPS:
        if needle in name:
            return tflops * 1e12
    return None


def slide_lengths(count: int, low: int, high: int, seed: int = 7) -> list[int]:
    """Token counts like slide texts: mostly mid-length, a tail of long ones (triangular)."""
    import random

    rng = random.Random(seed)
    mode = low + (high - low) // 3
    return [int(rng.triangular(low, high, mode)) for _ in range(count)]


def flops_per_text(tokens: int, layers: int, hidden: int, ffn: int) -> float:
    return layers * (
        2 * tokens * (4 * hidden * hidden + 2 * hidden * ffn) + 4 * tokens * tokens * hidden
    )


def run_config(model, lengths, batch_size, dtype, device, vocab, seconds, layers, hidden, ffn):
    import torch

    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    generator = torch.Generator().manual_seed(0)
    batches = []
    for start in range(0, len(order), batch_size):
        chosen = [lengths[i] for i in order[start : start + batch_size]]
        width = max(chosen)
        ids = torch.randint(5, vocab, (len(chosen), width), generator=generator)
        mask = torch.zeros(len(chosen), width, dtype=torch.long)
        for row, length in enumerate(chosen):
            mask[row, :length] = 1
        ids[mask == 0] = 1  # XLM-R's padding id
        batches.append((ids.to(device), mask.to(device), width, chosen))

    def one_pass():
        # No autocast: the weights are already in the dtype, as after the project's .half().
        with torch.inference_mode():
            for ids, mask, _, _ in batches:
                hidden_states = model(input_ids=ids, attention_mask=mask).last_hidden_state
                summed = (hidden_states * mask.unsqueeze(-1)).sum(1)
                pooled = summed / mask.sum(1, keepdim=True)
                torch.nn.functional.normalize(pooled.float(), dim=-1)

    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    one_pass()  # warm-up: kernels chosen, memory pools grown
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    sync()
    passes, started = 0, time.perf_counter()
    while True:
        one_pass()
        passes += 1
        sync()
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            break
    texts = passes * len(lengths)
    padded = sum(width * len(chosen) for _, _, width, chosen in batches)
    real = sum(lengths)
    flops = passes * sum(
        flops_per_text(width, layers, hidden, ffn) * len(chosen) for _, _, width, chosen in batches
    )
    useful = passes * sum(flops_per_text(length, layers, hidden, ffn) for length in lengths)
    return {
        "texts_per_s": texts / elapsed,
        "tokens_per_s": passes * real / elapsed,
        "padding": padded / real,
        "seconds": elapsed,
        "passes": passes,
        "tflops": flops / elapsed / 1e12,
        "useful_tflops": useful / elapsed / 1e12,
        "peak_alloc_mib": (
            torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
        ),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--smoke", action="store_true", help="a 2-layer model, few texts, CPU allowed"
    )
    parser.add_argument("--dtypes", default="fp16,bf16")
    parser.add_argument("--batch-sizes", default="32,64,128,256,512")
    parser.add_argument("--texts", type=int, default=4096, help="texts per pass")
    parser.add_argument(
        "--seconds", type=float, default=8.0, help="timed seconds per configuration"
    )
    parser.add_argument("--min-tokens", type=int, default=60)
    parser.add_argument("--max-tokens", type=int, default=220)
    args = parser.parse_args()

    import torch
    from transformers import XLMRobertaConfig, XLMRobertaModel

    layers, hidden, heads, ffn, vocab = (
        (2, 128, 2, 512, 1000) if args.smoke else (24, 1024, 16, 4096, 250002)
    )
    if args.smoke:
        args.texts, args.seconds, args.batch_sizes = (
            min(args.texts, 96),
            min(args.seconds, 0.5),
            "32,64",
        )
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type != "cuda" and not args.smoke:
        print(
            "gpu_sweep: no CUDA device; use --smoke to try the script on the CPU", file=sys.stderr
        )
        return 2
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    peak = chip_peak(name)
    config = XLMRobertaConfig(
        vocab_size=vocab,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=ffn,
        max_position_embeddings=514,
        type_vocab_size=1,
    )
    torch.manual_seed(0)
    with device:  # initialised where it runs: seconds instead of a minute of CPU init
        base = XLMRobertaModel(config, add_pooling_layer=False).eval()
    lengths = slide_lengths(args.texts, args.min_tokens, min(args.max_tokens, 512))
    dtypes = {"fp16": torch.float16, "bf16": torch.bfloat16}
    print(
        f"device: {name}; torch {torch.__version__}; model: XLM-R {layers} layers, hidden {hidden}, "
        f"FFN {ffn}, {sum(p.numel() for p in base.parameters()) / 1e6:.0f}M parameters (random), "
        f"attention {getattr(base.config, '_attn_implementation', '?')}; "
        f"{len(lengths)} texts of {min(lengths)}-{max(lengths)} tokens (mean "
        f"{sum(lengths) / len(lengths):.0f}); chip dense bf16 peak "
        f"{f'{peak / 1e12:.0f} TFLOPS' if peak else 'unknown'}",
        flush=True,
    )
    rows = []
    for dtype_name in args.dtypes.split(","):
        # Weights in the dtype itself, as the project's .half() does for fp16 (no fp32 master copy).
        model = base.to(device=device, dtype=dtypes[dtype_name]) if device.type == "cuda" else base
        for batch_size in map(int, args.batch_sizes.split(",")):
            try:
                result = run_config(
                    model,
                    lengths,
                    batch_size,
                    dtypes[dtype_name],
                    device,
                    vocab,
                    args.seconds,
                    layers,
                    hidden,
                    ffn,
                )
            except torch.OutOfMemoryError:
                result = {"error": "out of memory"}
                torch.cuda.empty_cache()
            result.update(
                dtype=dtype_name,
                batch_size=batch_size,
                fraction_of_peak=(result["tflops"] * 1e12 / peak)
                if peak and "tflops" in result
                else None,
            )
            rows.append(result)
            print(_line(result), flush=True)
    if os.environ.get("OUT"):
        with open(os.path.join(os.environ["OUT"], "gpu_sweep.json"), "w") as handle:
            json.dump({"device": name, "peak_bf16_flops": peak, "rows": rows}, handle, indent=1)
    return 0


def _line(r: dict) -> str:
    if "error" in r:
        return f"{r['dtype']:>5} batch {r['batch_size']:>4}: {r['error']}"
    fraction = (
        f"{100 * r['fraction_of_peak']:.1f}% of peak" if r["fraction_of_peak"] else "peak unknown"
    )
    memory = f"{r['peak_alloc_mib']:.0f} MiB" if r["peak_alloc_mib"] is not None else "-"
    return (
        f"{r['dtype']:>5} batch {r['batch_size']:>4}: {r['texts_per_s']:9.1f} texts/s "
        f"{r['tokens_per_s']:11.0f} tokens/s  {r['tflops']:7.1f} TFLOPS ({fraction}; useful "
        f"{r['useful_tflops']:.1f}, padding x{r['padding']:.3f})  peak alloc {memory}"
    )


if __name__ == "__main__":
    sys.exit(main())
