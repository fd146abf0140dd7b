"""Why bertfleet fills packed rows to a multiple of 64: bf16 matmul speed against the row count.

The encoder's linear layers multiply [rows, K] by bert-base's weights, where rows is the number
of tokens in a batch. oneDNN 2.6.3 (inside Debian's LibTorch 1.13) runs some row counts several
times slower on AMX than their neighbours. This scans row counts with LibTorch's own bf16 matmul
(the kernels bertfleet calls) and prints, for each, the GFLOP/s of the slowest of the forward and
backward-input products of the four bert-base weight shapes, and marks the slow ones. It then
reports the same for the multiples of 64 that cover the range.

    .venv/bin/python bench/matmul_rows.py --first 768 --last 1024 --threads 2
"""
import argparse
import time

import torch

SHAPES = [(2304, 768), (768, 768), (3072, 768), (768, 3072)]  # (out, in): QKV, attention out, FFN in/out


def gflops(fn, flop, repeats):
    fn()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return flop / ((time.perf_counter() - start) / repeats) / 1e9


def slowest(rows, weights, repeats):
    worst = float("inf")
    for w in weights:
        out, inp = w.shape
        x = torch.randn(rows, inp).to(torch.bfloat16)
        g = torch.randn(rows, out).to(torch.bfloat16)
        flop = 2 * rows * out * inp
        worst = min(worst, gflops(lambda: torch.nn.functional.linear(x, w), flop, repeats))  # forward
        worst = min(worst, gflops(lambda: g.mm(w), flop, repeats))  # backward to the input
    return worst


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--first", type=int, default=768)
    parser.add_argument("--last", type=int, default=1024)
    parser.add_argument("--step", type=int, default=4, help="row-count step of the scan")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--slow-ratio", type=float, default=0.4,
                        help="a row count is slow when below this fraction of the scan's median")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    weights = [torch.randn(out, inp).to(torch.bfloat16) for out, inp in SHAPES]
    print(f"torch {torch.__version__}, {args.threads} threads")

    scan = {rows: slowest(rows, weights, args.repeats) for rows in range(args.first, args.last + 1, args.step)}
    median = sorted(scan.values())[len(scan) // 2]
    slow = {rows: rate for rows, rate in scan.items() if rate < args.slow_ratio * median}
    print(f"scan {args.first}..{args.last} step {args.step}: median of the slowest product {median:.0f} GFLOP/s")
    print("slow row counts (GFLOP/s):", ", ".join(f"{r} ({v:.0f})" for r, v in sorted(slow.items())) or "none")

    multiples = range((args.first + 63) // 64 * 64, args.last + 1, 64)
    rates = {rows: slowest(rows, weights, args.repeats) for rows in multiples}
    worst = min(rates.values())
    print("multiples of 64:", ", ".join(f"{r} ({v:.0f})" for r, v in rates.items()))
    print(f"slowest multiple of 64: {worst:.0f} GFLOP/s = {worst / median:.2f} of the scan median; "
          f"slowest row count in the scan: {min(scan.values()):.0f} GFLOP/s = {min(scan.values()) / median:.2f}")


if __name__ == "__main__":
    main()
