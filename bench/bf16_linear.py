"""bf16 linear layers (forward + backward, CPU autocast) at bert-base's shapes, on the torch that runs this.

A bert-base step spends about two thirds of its time in these products (oneDNN's AMX kernels in
every torch here). Run it with the project venv (Debian's torch 1.13, the LibTorch bertfleet
builds against) and with a PyPI torch 2.x venv, back to back, to see whether the newer oneDNN
inside torch 2.x would make bertfleet's matmuls faster on this CPU:

    .venv/bin/python bench/bf16_linear.py --threads 2
    .venv-torch2/bin/python bench/bf16_linear.py --threads 2

Rows are tokens per batch (960: a typical packed MRPC batch of 16 pairs). Prints, per weight
shape, the median milliseconds of forward + backward and the GFLOP/s (3 products of 2*m*k*n).
`--fp32` times the same layers without autocast: on a CPU without AVX-512, where LibTorch's bf16
matmuls leave oneDNN for a scalar fallback, the two lines show how much slower bf16 is there.
"""
import argparse
import statistics
import time

import torch

SHAPES = [(3072, 768), (768, 3072), (2304, 768), (768, 768)]  # (out, in): FFN in, FFN out, QKV, attention out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rows", type=int, default=960)
    parser.add_argument("--repeats", type=int, default=12)
    parser.add_argument("--fp32", action="store_true", help="no autocast: fp32 products (OpenBLAS)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cells = []
    for out, inp in SHAPES:
        x = torch.randn(args.rows, inp).requires_grad_()
        w = (torch.randn(out, inp) * 0.02).requires_grad_()
        b = torch.zeros(out).requires_grad_()
        g = torch.randn(args.rows, out).to(torch.float32 if args.fp32 else torch.bfloat16)
        times = []
        for _ in range(args.repeats + 2):
            start = time.perf_counter()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=not args.fp32):
                y = torch.nn.functional.linear(x, w, b)
            y.backward(g)
            times.append(time.perf_counter() - start)
            x.grad = w.grad = b.grad = None
        median = statistics.median(times[2:])
        flop = 6 * args.rows * inp * out
        cells.append(f"{args.rows}x{inp}->{out} {median * 1e3:.2f} ms {flop / median / 1e9:.0f} GFLOP/s")
    precision = "fp32" if args.fp32 else "bf16 autocast"
    print(f"torch {torch.__version__}, {precision}, {args.threads} threads: " + " | ".join(cells))


if __name__ == "__main__":
    main()
