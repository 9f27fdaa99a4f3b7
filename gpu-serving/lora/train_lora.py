#!/usr/bin/env python3
"""Train a LoRA adapter for Qwen3 on the hub's exported conversations, in a form vLLM can load.

    hub training export --out data/train.jsonl            # chat-format JSONL, PII masked
    python gpu-serving/lora/train_lora.py --data data/train.jsonl --out adapters/acme
    LORA_MODULES="acme=$PWD/adapters/acme" gpu-serving/launch-vllm.sh   # then request model "acme"

    python gpu-serving/lora/train_lora.py --tiny --out /tmp/tiny-adapter   # smoke run, no download

Configuration from the design: r=16, alpha=32, target q_proj/v_proj, dropout 0.1. Loss is computed on
assistant tokens only (the customer's words are context, not something to imitate).

UNVERIFIED ON HARDWARE: written without a GPU or PyTorch available; the --tiny mode is the first thing
to run where they are.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from pathlib import Path

LORA = dict(r=16, lora_alpha=32, lora_dropout=0.1, target_modules=["q_proj", "v_proj"])


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="Qwen/Qwen3-14B", help="base model (must be the one vLLM serves)")
    p.add_argument("--data", help="chat-format JSONL from `hub training export`")
    p.add_argument("--out", required=True, help="adapter directory (adapter_config.json + adapter_model.safetensors)")
    p.add_argument("--tiny", action="store_true", help="tiny random Qwen3 from a config, synthetic data, CPU ok")
    p.add_argument("--epochs", type=float, default=2.0)
    p.add_argument("--max-steps", type=int, default=0, help="stop after this many optimiser steps (0: epochs)")
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--grad-accum", type=int, default=8)
    p.add_argument("--max-len", type=int, default=4096, help="truncate examples to this many tokens")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args()


def tiny_model_and_tokenizer():
    """A randomly initialised Qwen3-architecture model small enough for a CPU, plus a toy tokenizer."""
    from transformers import Qwen3Config, Qwen3ForCausalLM

    config = Qwen3Config(
        vocab_size=512,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,  # grouped-query attention, as in the real model (40 heads / 8 KV heads)
        head_dim=16,
        max_position_embeddings=512,
        tie_word_embeddings=False,
    )
    model = Qwen3ForCausalLM(config)

    class ByteTokenizer:
        """Bytes as ids, with a ChatML-like template: enough to exercise masking and training."""

        pad_token_id = 0
        eos_token_id = 1

        def encode(self, text: str) -> list[int]:
            return [2 + b for b in text.encode("utf-8")][:500]

        def render(self, role: str, content: str) -> list[int]:
            return self.encode(f"<|im_start|>{role}\n{content}<|im_end|>\n")

    return model, ByteTokenizer()


def tiny_examples(n: int = 32) -> list[dict]:
    rng = random.Random(0)
    questions = ["Where is my order <order_id>?", "How do I return shoes?", "When is my refund due?"]
    answers = ["It left the warehouse today.", "Within 30 days, unused.", "Within five working days."]
    out = []
    for _ in range(n):
        i = rng.randrange(len(questions))
        out.append({"messages": [{"role": "user", "content": questions[i]}, {"role": "assistant", "content": answers[i]}]})
    return out


def load_examples(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    if not rows:
        raise SystemExit(f"{path}: no examples (run `hub training export` first)")
    return rows


def tokenize(example: dict, tokenizer, max_len: int, tiny: bool) -> tuple[list[int], list[int]]:
    """input ids and labels; labels are -100 except on assistant turns."""
    ids: list[int] = []
    labels: list[int] = []
    for message in example["messages"]:
        if tiny:
            part = tokenizer.render(message["role"], message["content"])
        else:
            # Render one message at a time with the model's own chat template, thinking off as at serving.
            text = tokenizer.apply_chat_template([message], tokenize=False, enable_thinking=False)
            part = tokenizer(text, add_special_tokens=False)["input_ids"]
        ids += part
        labels += part if message["role"] == "assistant" else [-100] * len(part)
    return ids[:max_len], labels[:max_len]


def main() -> None:
    args = parse_args()
    import torch
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(args.seed)
    random.seed(args.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"

    if args.tiny:
        model, tokenizer = tiny_model_and_tokenizer()
        examples = tiny_examples()
    else:
        if not args.data:
            raise SystemExit("--data is required (or --tiny)")
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(args.model)
        # BF16 base weights: the adapter is trained against the BF16 model and served on top of the FP8
        # one; check quality on the served configuration (rag eval) before rolling an adapter out.
        model = AutoModelForCausalLM.from_pretrained(args.model, torch_dtype=torch.bfloat16)
        model.gradient_checkpointing_enable()
        model.enable_input_require_grads()
        examples = load_examples(args.data)

    model = get_peft_model(model, LoraConfig(task_type="CAUSAL_LM", bias="none", **LORA))
    model.print_trainable_parameters()
    model.to(device)

    data = [tokenize(e, tokenizer, args.max_len, args.tiny) for e in examples]
    data = [d for d in data if any(l != -100 for l in d[1])]
    optimiser = torch.optim.AdamW((p for p in model.parameters() if p.requires_grad), lr=args.lr)
    steps_per_epoch = math.ceil(len(data) / (args.batch_size * args.grad_accum))
    total_steps = args.max_steps or max(1, int(steps_per_epoch * args.epochs))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

    def batches():
        while True:
            random.shuffle(data)
            for i in range(0, len(data), args.batch_size):
                chunk = data[i : i + args.batch_size]
                width = max(len(ids) for ids, _ in chunk)
                ids = torch.tensor([x + [pad] * (width - len(x)) for x, _ in chunk])
                labels = torch.tensor([y + [-100] * (width - len(y)) for _, y in chunk])
                mask = torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x, _ in chunk])
                yield ids.to(device), labels.to(device), mask.to(device)

    model.train()
    stream = batches()
    first_loss = last_loss = None
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    for step in range(1, total_steps + 1):
        started = time.perf_counter()
        lr = args.lr * min(1.0, step / max(1, total_steps // 10))  # linear warm-up over 10% of steps
        for group in optimiser.param_groups:
            group["lr"] = lr
        total = 0.0
        for _ in range(args.grad_accum):
            ids, labels, mask = next(stream)
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss / args.grad_accum
            loss.backward()
            total += loss.item()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        optimiser.zero_grad(set_to_none=True)
        first_loss = total if first_loss is None else first_loss
        last_loss = total
        memory = f" peak_mem={torch.cuda.max_memory_allocated() / 2**30:.1f}GiB" if device == "cuda" else ""
        print(f"step {step}/{total_steps} loss={total:.4f} lr={lr:.2e} step_time={time.perf_counter() - started:.2f}s{memory}", flush=True)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    # adapter_config.json + adapter_model.safetensors: the layout `vllm serve --lora-modules name=path` loads.
    model.save_pretrained(out, safe_serialization=True)
    print(json.dumps({"adapter": str(out), "steps": total_steps, "first_loss": first_loss, "last_loss": last_loss, **LORA}))


if __name__ == "__main__":
    main()
