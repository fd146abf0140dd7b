"""`bertfleet-worker tokenize` against Hugging Face BertTokenizerFast (the oracle), id for id.

Covers every pair of the three MRPC splits (default 512, 128 and a tight 32 that makes
longest_first truncation cut most pairs), hand-made hard cases, every Unicode code point
through a character-level vocabulary, and vocab.txt-only loading.
"""
import json
import pathlib
import shutil
import subprocess
import unicodedata

import pytest
from tokenizers import Tokenizer
from transformers import BertTokenizerFast

SPLITS = {"train": 3668, "validation": 408, "test": 1725}


def read_tsv(path: pathlib.Path):
    """GLUE TSV as Hugging Face reads it: split on TAB only, no quoting."""
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[0] == "idx\tlabel\tsentence1\tsentence2"
    rows = [line.split("\t") for line in lines[1:] if line]
    assert all(len(row) == 4 for row in rows)
    return [(int(row[0]), row[2], row[3]) for row in rows]


def write_tsv(path: pathlib.Path, pairs):
    lines = ["idx\tlabel\tsentence1\tsentence2"]
    for idx, (a, b) in enumerate(pairs):
        assert not any(c in a + b for c in "\t\r\n"), "TSV fields cannot hold TAB, CR or LF"
        lines.append(f"{idx}\t-1\t{a}\t{b}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_tokenize(worker_binary, model_dir, tsv, *options):
    result = subprocess.run(
        [str(worker_binary), "tokenize", "--model", str(model_dir), "--input", str(tsv), *options],
        capture_output=True, check=False, timeout=120)
    assert result.returncode == 0, result.stderr.decode()
    return [json.loads(line) for line in result.stdout.decode().splitlines()]


def hf_encode(tokenizer, rows, max_length=None):
    encoded = tokenizer([a for _, a, _ in rows], [b for _, _, b in rows], truncation=True,
                        max_length=max_length)
    return [{"idx": idx, "input_ids": ids, "token_type_ids": types}
            for (idx, _, _), ids, types in zip(rows, encoded["input_ids"],
                                                encoded["token_type_ids"])]


def assert_same(ours, expected, rows):
    assert len(ours) == len(expected)
    mismatches = [(row, got, want) for row, got, want in zip(rows, ours, expected) if got != want]
    if mismatches:
        row, got, want = mismatches[0]
        ids, want_ids = got["input_ids"], want["input_ids"]
        at = next((i for i, (a, b) in enumerate(zip(ids, want_ids)) if a != b),
                  min(len(ids), len(want_ids)))
        pytest.fail(f"{len(mismatches)} of {len(rows)} pairs differ; first: idx {row[0]} "
                    f"{row[1][:80]!r} / {row[2][:80]!r}: lengths {len(ids)} vs {len(want_ids)}, "
                    f"first difference at {at}: ours {ids[at:at + 12]} hf {want_ids[at:at + 12]}"
                    f" (idx {got['idx']} vs {want['idx']}, types equal: "
                    f"{got['token_type_ids'] == want['token_type_ids']})")


@pytest.fixture(scope="session")
def bert_dir(shared_data):
    return shared_data / "bert-base-uncased"


@pytest.fixture(scope="session")
def hf_tokenizer(bert_dir):
    return BertTokenizerFast.from_pretrained(str(bert_dir))


# 512 (the default) and 128 on every split; 32, which truncates most pairs, on the smaller two.
@pytest.mark.parametrize("split,max_length", [(split, length) for length in (None, 128)
                                              for split in SPLITS]
                         + [("validation", 32), ("test", 32)])
def test_mrpc_split_matches_hf(worker_binary, bert_dir, hf_tokenizer, shared_data, split,
                               max_length):
    tsv = shared_data / "mrpc" / f"{split}.tsv"
    rows = read_tsv(tsv)
    assert len(rows) == SPLITS[split]
    options = [] if max_length is None else ["--max-seq-length", str(max_length)]
    ours = run_tokenize(worker_binary, bert_dir, tsv, *options)
    expected = hf_encode(hf_tokenizer, rows, max_length)
    assert_same(ours, expected, rows)
    if max_length == 32:  # the tight limit really truncates, so longest_first is exercised
        assert sum(len(e["input_ids"]) == 32 for e in expected) > len(rows) // 2


ACCENTS = [
    "Crème brûlée à la café, naïve coöperation", "e\u0301 versus \u00e9", "Ångström ǅungla Ǆ",
    "İIıi İstanbul", "ΣΑΣ σας ς", "x\u0301\u0323\u0302y a\u0334\u0301b", "Z̴͖̀a̸̡͝l̵̢̛g̶̨̕ǒ̵̡ text",
    "ﬁ ﬂ Ⅻ ① ㎏ ½", "한국어 텍스트", "Tiếng Việt có dấu", "हिन्दी भाषा", "العربية مَرْحَبًا",
    "עִבְרִית", "Straße STRASSE ẞ", "Ⱥ ⱥ Ǳ ǲ",
]
CJK = ["中文字符测试", "日本語のテキストです", "𠀀𪜀 extension", "豈 compat 丽", "\U0002B820\U0002B91F gap",
       "漢字hànzì混合", "ｆｕｌｌｗｉｄｔｈ ＡＢＣ"]
EMOJI = ["😀👍🏽👨\u200d👩\u200d👧\u200d👦 🇺🇸 ❤️", "emoji😀inside", "🥰 🫠 newer emoji"]
CONTROL = [
    "a\u200bb", "zero\u200dwidth\ufeffjoiner", "\x00\x01\x1f\x7f\x85 controls\x0b\x0c",
    "\u00a0nbsp\u2003em\u3000ideographic", "soft\u00adhyphen", "\u2028line\u2029para",
    "bidi\u202eoverride\u2066isolate", "\ufffdreplacement", "\ue000private\U000f0000use",
    "\U000e0041tag chars", "\u180emongolian\u061cmark",
]
PUNCTUATION = [
    "!!!???...,,,;;;", "--- ''' \"\"\" ``` ~~~ ___", "¡¿«»„“”‘’—–…", "(a)[b]{c}<d>",
    "$100,000.00 @user #tag 50% a&b a/b a\\b", "。、！？「」", "٪ ؟ ، ۔", "wait...!!!(yes)",
]
SPECIAL = ["[CLS] [SEP] [MASK] [PAD] [UNK]", "[mask] [Cls] lower", "x[SEP]y[[MASK]]", ""]
LONG_WORDS = ["a" * 300, "supercalifragilistic" * 15, "é" * 150, "д" * 100 + " " + "д" * 101,
              "x" * 100 + " " + "x" * 101]
WORDS = "the committee said on tuesday that shares of acme rose 3.5 percent".split()


def long_text(n_words, offset=0):
    return " ".join(WORDS[(i + offset) % len(WORDS)] for i in range(n_words))


HARD_CASES = (
    [(a, b) for a, b in zip(ACCENTS, ACCENTS[1:] + ACCENTS[:1])]
    + [(a, "plain text") for a in CJK + EMOJI + CONTROL + PUNCTUATION + SPECIAL]
    + [("short", w) for w in LONG_WORDS]
    + [("", ""), ("   ", "only spaces"),
       ("3.14159 1,000,000 2nd 1990s", "iPhone McDonald's O'Neil")]
    # Longer than 512 tokens: unequal, tied and both-long pairs for longest_first.
    + [(long_text(700), long_text(50)), (long_text(50), long_text(700)),
       (long_text(300), long_text(300, 3)), (long_text(600), long_text(250)),
       (long_text(255), long_text(256)), (long_text(2000), "x")]
)


@pytest.mark.parametrize("max_length", [None, 64])
def test_hard_cases_match_hf(worker_binary, bert_dir, hf_tokenizer, tmp_path, max_length):
    tsv = write_tsv(tmp_path / "hard.tsv", HARD_CASES)
    rows = [(idx, a, b) for idx, (a, b) in enumerate(HARD_CASES)]
    options = [] if max_length is None else ["--max-seq-length", str(max_length)]
    ours = run_tokenize(worker_binary, bert_dir, tsv, *options)
    expected = hf_encode(hf_tokenizer, rows, max_length)
    assert_same(ours, expected, rows)
    if max_length is None:
        assert max(len(e["input_ids"]) for e in expected) == 512
        assert any(100 in e["input_ids"] for e in expected)  # [UNK] really happens


def test_vocab_txt_only_matches_tokenizer_json(worker_binary, bert_dir, shared_data, tmp_path):
    vocab_only = tmp_path / "vocab-only"
    vocab_only.mkdir()
    shutil.copy(bert_dir / "vocab.txt", vocab_only / "vocab.txt")
    pairs = HARD_CASES + [(a, b) for _, a, b in read_tsv(shared_data / "mrpc" / "validation.tsv")]
    tsv = write_tsv(tmp_path / "pairs.tsv", pairs)
    from_json = run_tokenize(worker_binary, bert_dir, tsv)
    from_vocab = run_tokenize(worker_binary, vocab_only, tsv)
    assert from_vocab == from_json
    # Without tokenizer_config.json there is no model_max_length: name BERT's 512 explicitly.
    hf_from_vocab = BertTokenizerFast(vocab_file=str(vocab_only / "vocab.txt"))
    rows = [(idx, a, b) for idx, (a, b) in enumerate(pairs)]
    assert_same(from_vocab, hf_encode(hf_from_vocab, rows, 512), rows)


def code_points_to_check():
    """Every code point of planes 0, 1 and 14 (all scripts, marks, punctuation, symbols, emoji,
    tags). Planes 2 and 3 hold only CJK ideographs: their CJK-range boundaries and compatibility
    block in full, every 7th code point elsewhere. TAB, LF and CR cannot go into a TSV field."""
    edges = [0x20000, 0x2A6DF, 0x2A700, 0x2B73F, 0x2B740, 0x2B81F, 0x2B920, 0x2CEAF, 0x2F800,
             0x2FA1F, 0x30000, 0x3134F, 0x323AF]
    near_edge = {c for e in edges for c in range(e - 256, e + 257)}
    full = [c for c in range(0x20000) if not 0xD800 <= c <= 0xDFFF and c not in (9, 10, 13)]
    cjk = [c for c in range(0x20000, 0x32400)
           if c in near_edge or 0x2F800 <= c <= 0x2FA1F or c % 7 == 0]
    return full + cjk + list(range(0xE0000, 0xE1000))


def test_every_code_point_matches_hf(worker_binary, bert_dir, tmp_path):
    """A vocabulary of every single character (and its ## form) makes the ids show exactly what
    normalization and pre-tokenization did to each code point: "x?x" gives x ##? ##x for a word
    character, x ? x for punctuation or CJK, x ##x when dropped, x x for whitespace."""
    code_points = code_points_to_check()
    spec = json.loads((bert_dir / "tokenizer.json").read_text(encoding="utf-8"))
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab = {token: i for i, token in enumerate(specials)}
    for c in code_points:
        # Python's own NFD and lower-casing find the other characters the outputs need.
        for out in {chr(c), *unicodedata.normalize("NFD", chr(c)), *chr(c).lower()}:
            vocab.setdefault(out, len(vocab))
            vocab.setdefault("##" + out, len(vocab))
    spec["model"]["vocab"] = vocab
    spec["model"]["max_input_chars_per_word"] = 1000
    for token in spec["added_tokens"]:
        token["id"] = vocab[token["content"]]
    for name, token in spec["post_processor"]["special_tokens"].items():
        token["ids"] = [vocab[name]]
    model_dir = tmp_path / "char-model"
    model_dir.mkdir()
    (model_dir / "tokenizer.json").write_text(json.dumps(spec), encoding="utf-8")

    # Marks next to marks, for NFD's canonical reordering (which may move the marks that
    # accent stripping keeps) and for marks that have no base letter before them.
    marks = [chr(c) for c in code_points if unicodedata.combining(chr(c))]
    probes = ["\u0301", "\u0323", "\u0334", "\u05b0", "\u093c", "\u0f71", "\u302a"]
    mark_words = [f"x{m}{p}x {p}{m}x" for i, m in enumerate(marks)
                  for p in (probes[i % len(probes)], marks[(i * 7 + 1) % len(marks)])]
    chunk = 64
    rows = (len(code_points) + chunk - 1) // chunk
    pairs = []
    for row in range(rows):
        chars = [chr(c) for c in code_points[row * chunk:(row + 1) * chunk]]
        # Short words: HF's WordPiece is quadratic in the word length.
        pairs.append((" ".join("x" + c + "x" for c in chars), " ".join(mark_words[row::rows])))
    tsv = write_tsv(tmp_path / "code_points.tsv", pairs)
    ours = run_tokenize(worker_binary, model_dir, tsv, "--max-seq-length", "100000")

    oracle = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    expected = oracle.encode_batch(pairs)
    assert len(ours) == len(pairs)
    bad = [i for i, (got, want) in enumerate(zip(ours, expected))
           if got["input_ids"] != want.ids or got["token_type_ids"] != want.type_ids]
    if bad:
        got, want = ours[bad[0]]["input_ids"], expected[bad[0]].ids
        at = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b),
                  min(len(got), len(want)))
        pieces = [[oracle.id_to_token(t) for t in ids[at:at + 8]] for ids in (got, want)]
        pytest.fail(f"{len(bad)} rows differ; first row starts at "
                    f"U+{code_points[bad[0] * chunk]:04X}, token {at}: "
                    f"ours {pieces[0]} hf {pieces[1]}")


def test_cli_options(worker_binary, bert_dir, shared_data):
    tsv = shared_data / "mrpc" / "validation.tsv"
    all_threads = run_tokenize(worker_binary, bert_dir, tsv)
    assert run_tokenize(worker_binary, bert_dir, tsv, "--threads", "1") == all_threads
    assert run_tokenize(worker_binary, bert_dir, tsv, "--limit", "5") == all_threads[:5]
    assert [e["idx"] for e in all_threads] == [idx for idx, _, _ in read_tsv(tsv)]

    def error_of(*args):
        result = subprocess.run([str(worker_binary), "tokenize", *args], capture_output=True,
                                check=False, timeout=60)
        assert result.returncode != 0 and not result.stdout
        return result.stderr.decode()

    assert "--max-seq-length" in error_of("--model", str(bert_dir), "--input", str(tsv),
                                          "--max-seq-length", "2")
    assert "missing.tsv" in error_of("--model", str(bert_dir), "--input", "missing.tsv")
