"""Tokenizer throughput: `bertfleet-worker tokenize` against Hugging Face BertTokenizerFast.

Both tokenize every MRPC pair (train + validation + test, repeated --repeat times) with
truncation to 512 in the same run, on the same machine:
  - bertfleet: the whole process (load tokenizer.json, read the TSV, encode on all cores,
    write JSON lines to /dev/null), timed from outside;
  - Hugging Face: only the batched call `tokenizer(list_a, list_b, truncation=True)` (Rust,
    parallel), with the tokenizer already loaded and the sentences already in memory.
Reports the median of --reps runs and checks that both produced identical ids.

    .venv/bin/python bench/tokenize_bench.py [--build-dir build] [--repeat 10] [--reps 5]
"""
import argparse
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def read_pairs(path):
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[0] == "idx\tlabel\tsentence1\tsentence2", f"{path}: unexpected header"
    return [tuple(line.split("\t")[2:4]) for line in lines[1:] if line]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build-dir", type=pathlib.Path,
                        default=pathlib.Path(os.environ.get("BERTFLEET_BUILD_DIR", ROOT / "build")))
    parser.add_argument("--model", type=pathlib.Path, default=SHARED / "bert-base-uncased")
    parser.add_argument("--repeat", type=int, default=10, help="copies of the MRPC corpus")
    parser.add_argument("--reps", type=int, default=5, help="timed runs per tokenizer")
    args = parser.parse_args()

    # Hugging Face's Rust side runs in parallel only when this is not "false".
    os.environ["TOKENIZERS_PARALLELISM"] = "true"
    from transformers import BertTokenizerFast
    import tokenizers
    import transformers

    worker = args.build_dir / "worker" / "bertfleet-worker"
    if not worker.exists():
        sys.exit(f"{worker} not built")
    pairs = []
    for split in ("train", "validation", "test"):
        pairs += read_pairs(SHARED / "mrpc" / f"{split}.tsv")
    pairs *= args.repeat
    first = [a for a, _ in pairs]
    second = [b for _, b in pairs]

    with tempfile.TemporaryDirectory() as tmp:
        tsv = pathlib.Path(tmp) / "corpus.tsv"
        tsv.write_text("idx\tlabel\tsentence1\tsentence2\n" + "".join(
            f"{i}\t-1\t{a}\t{b}\n" for i, (a, b) in enumerate(pairs)), encoding="utf-8")
        command = [str(worker), "tokenize", "--model", str(args.model), "--input", str(tsv)]

        hf = BertTokenizerFast.from_pretrained(str(args.model))
        expected = hf(first, second, truncation=True)  # also warms up the thread pool
        ours = subprocess.run(command, capture_output=True, check=True).stdout.decode().splitlines()
        assert len(ours) == len(pairs), f"{len(ours)} lines for {len(pairs)} pairs"
        for i, line in enumerate(ours):
            row = json.loads(line)
            assert row["idx"] == i and row["input_ids"] == expected["input_ids"][i] and \
                row["token_type_ids"] == expected["token_type_ids"][i], f"pair {i} differs"
        tokens = sum(len(ids) for ids in expected["input_ids"])

        ours_times, hf_times, startup_times = [], [], []
        for _ in range(args.reps):  # interleaved, so machine load affects both alike
            with open(os.devnull, "wb") as devnull:
                start = time.perf_counter()
                subprocess.run(command, stdout=devnull, check=True)
                ours_times.append(time.perf_counter() - start)
                # What an empty run costs: loading the binary and its shared libraries.
                start = time.perf_counter()
                subprocess.run([str(worker), "--help"], stdout=devnull, check=True)
                startup_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            hf(first, second, truncation=True)
            hf_times.append(time.perf_counter() - start)

    ours_s, hf_s = statistics.median(ours_times), statistics.median(hf_times)
    startup_s = statistics.median(startup_times)
    print(f"pairs: {len(pairs)} (MRPC train+validation+test x{args.repeat}), {tokens} tokens, "
          f"outputs identical")
    print(f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}; "
          f"tokenizers {tokenizers.__version__}, transformers {transformers.__version__}")
    print(f"bertfleet-worker tokenize (whole process): median {ours_s:.3f} s over {args.reps} = "
          f"{len(pairs) / ours_s:,.0f} pairs/s")
    print(f"  of which process start-up (`bertfleet-worker --help`): median {startup_s:.3f} s")
    print(f"HF BertTokenizerFast batched call only:     median {hf_s:.3f} s over {args.reps} = "
          f"{len(pairs) / hf_s:,.0f} pairs/s")
    print(f"speed-up: {hf_s / ours_s:.1f}x")


if __name__ == "__main__":
    main()
