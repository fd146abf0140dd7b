"""Speed check (not a test): one BertForSequenceClassification train step (forward + backward) in
transformers on a MiniLM-sized model, bf16 autocast, for comparison with
`model_parity_tool bench` on the same batch.

    .venv/bin/python tests/tools/bench_hf_train_step.py OUT_DIR [--threads 2] [--iters 10] [--fp32]

Writes OUT_DIR/config.json and OUT_DIR/batch.safetensors (16 rows, lengths uniform in 30..90,
right-padded to the longest) for the C++ side, then prints the median step time.
"""
import argparse
import json
import pathlib
import statistics
import time

import torch
from safetensors.torch import save_file
from transformers import BertConfig, BertForSequenceClassification

MINILM = dict(vocab_size=30522, hidden_size=384, num_hidden_layers=6, num_attention_heads=12,
              intermediate_size=1536, max_position_embeddings=512, num_labels=2)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir", type=pathlib.Path)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--fp32", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    args.out_dir.mkdir(parents=True, exist_ok=True)

    g = torch.Generator().manual_seed(0)
    lengths = torch.randint(30, 91, (args.batch,), generator=g)
    seq = int(lengths.max())
    input_ids = torch.zeros(args.batch, seq, dtype=torch.long)
    token_type_ids = torch.zeros_like(input_ids)
    attention_mask = torch.zeros_like(input_ids)
    for b, n in enumerate(lengths.tolist()):
        input_ids[b, :n] = torch.randint(1000, 30522, (n,), generator=g)
        token_type_ids[b, n // 2:n] = 1
        attention_mask[b, :n] = 1
    labels = torch.randint(0, 2, (args.batch,), generator=g)
    save_file(dict(input_ids=input_ids, token_type_ids=token_type_ids, attention_mask=attention_mask,
                   labels=labels), str(args.out_dir / "batch.safetensors"))
    (args.out_dir / "config.json").write_text(json.dumps(dict(MINILM, model_type="bert")))

    torch.manual_seed(0)
    model = BertForSequenceClassification(BertConfig(**MINILM, attn_implementation="eager"))
    model.train()
    times, cpu_times = [], []
    for i in range(args.iters + 2):
        start = time.perf_counter()
        cpu_start = time.process_time()
        model.zero_grad(set_to_none=False)  # what Trainer's model.zero_grad() does on torch 1.13
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=not args.fp32):
            logits = model(input_ids=input_ids, token_type_ids=token_type_ids, attention_mask=attention_mask).logits
        torch.nn.functional.cross_entropy(logits.float(), labels).backward()
        if i >= 2:
            times.append((time.perf_counter() - start) * 1000)
            cpu_times.append((time.process_time() - cpu_start) * 1000)
    print(f"transformers threads={torch.get_num_threads()} batch={args.batch}x{seq} "
          f"real_tokens={int(attention_mask.sum())} precision={'fp32' if args.fp32 else 'bf16'} "
          f"median_ms={statistics.median(times):.1f} min_ms={min(times):.1f} "
          f"median_cpu_ms={statistics.median(cpu_times):.1f} min_cpu_ms={min(cpu_times):.1f}")


if __name__ == "__main__":
    main()
