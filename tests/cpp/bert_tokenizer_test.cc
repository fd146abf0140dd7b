// BertTokenizer on the real bert-base-uncased files. Expected ids come from Hugging Face
// BertTokenizerFast (transformers 4.46.3, tokenizers 0.20.3); tests/python/test_tokenizer_parity.py
// compares against it live on every MRPC pair.
#include "error_of.h"
#include "common/text/bert_tokenizer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "common/util/error.h"

namespace bertfleet {
namespace {

namespace fs = std::filesystem;
using Ids = std::vector<int32_t>;
using Pieces = std::vector<std::string>;

constexpr int32_t kX = 1060;  // "x"
constexpr int32_t kY = 1061;  // "y"

fs::path ModelDir() {
  const char* env = std::getenv("BERTFLEET_SOURCE_DIR");
  const fs::path source = env ? fs::path(env) : fs::path(BERTFLEET_SOURCE_DIR);
  return source / ".." / "shared" / "data" / "bert-base-uncased";
}

const BertTokenizer& Tokenizer() {
  static const BertTokenizer tokenizer = BertTokenizer::FromModelDir(ModelDir());
  return tokenizer;
}

// A scratch directory removed at the end of each test.
class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / ("bert_tokenizer_test." + std::to_string(::getpid()) + "." +
                                         std::to_string(counter_++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }
  fs::path Write(const std::string& name, const std::string& contents) const {
    std::ofstream(path_ / name, std::ios::binary) << contents;
    return path_ / name;
  }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

std::string Repeat(const std::string& unit, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += unit;
  return out;
}

// Passes when text contains part; a failure shows the whole text.
::testing::AssertionResult Contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << text << "' does not contain '" << part << "'";
}

using testing::ErrorOf;

TEST(BertTokenizerTest, LoadsBertBaseUncased) {
  const BertTokenizer& t = Tokenizer();
  EXPECT_EQ(t.vocab_size(), 30522);
  EXPECT_EQ(t.cls_id(), 101);
  EXPECT_EQ(t.sep_id(), 102);
  EXPECT_EQ(t.pad_id(), 0);
  EXPECT_EQ(t.unk_id(), 100);
  EXPECT_EQ(t.vocabulary()[kX], "x");
}

TEST(BertTokenizerTest, KnownTokenizations) {
  const BertTokenizer& t = Tokenizer();
  EXPECT_EQ(t.Tokenize("Hello, World!"), (Ids{7592, 1010, 2088, 999}));
  EXPECT_EQ(t.TokenizeToPieces("unaffable"), (Pieces{"una", "##ffa", "##ble"}));
  EXPECT_EQ(t.Tokenize("The quick brown fox jumps over the lazy dog."),
            (Ids{1996, 4248, 2829, 4419, 14523, 2058, 1996, 13971, 3899, 1012}));
  EXPECT_EQ(t.Tokenize("Amrozi accused his brother , whom he called \" the witness \" , of "
                       "deliberately distorting his evidence ."),
            (Ids{2572, 3217, 5831, 5496, 2010, 2567, 1010,  3183, 2002, 2170, 1000, 1996,
                 7409, 1000, 1010, 1997, 9969, 4487, 23809, 3436, 2010, 3350, 1012}));
  EXPECT_TRUE(t.Tokenize("").empty());
  EXPECT_TRUE(t.Tokenize(" \t\n ").empty());
}

TEST(BertTokenizerTest, LowercasesAndStripsAccents) {
  const BertTokenizer& t = Tokenizer();
  EXPECT_EQ(t.Tokenize("Héllo Crème Brûlée naïve"),
            (Ids{7592, 13675, 21382, 7987, 9307, 2063, 15743}));
  EXPECT_EQ(t.TokenizeToPieces("Ünïcödé ÀÉÎÕÜ"), (Pieces{"unicode", "ae", "##io", "##u"}));
  // Accents are stripped before lower-casing, so U+0130 ends as a plain "i".
  EXPECT_EQ(t.Tokenize("İstanbul"), (Ids{9960}));
  // Combining marks typed separately vanish too.
  EXPECT_EQ(t.TokenizeToPieces("x\u0301\u0323y"), (Pieces{"x", "##y"}));
  EXPECT_EQ(t.TokenizeToPieces("Straße ǅ ΣΑΣ"),
            (Pieces{"st", "##raße", "[UNK]", "σ", "##α", "##σ"}));
}

TEST(BertTokenizerTest, SplitsChineseCharacters) {
  EXPECT_EQ(Tokenizer().Tokenize("中文字符 tokenization"),
            (Ids{1746, 1861, 100, 100, 19204, 3989}));
}

TEST(BertTokenizerTest, DropsControlAndZeroWidthCharacters) {
  const BertTokenizer& t = Tokenizer();
  // U+200B, U+200D and U+FEFF are format characters: removed, so the letters join.
  EXPECT_EQ(t.TokenizeToPieces("a\u200bb\u200dc\ufeffd"), (Pieces{"abc", "##d"}));
  // NUL and BEL vanish, TAB and NBSP separate words.
  EXPECT_EQ(t.Tokenize(std::string("\0nul\abell\ttab\u00a0nbsp", 19)),
            (Ids{16371, 20850, 5349, 21628, 1050, 5910, 2361}));
}

TEST(BertTokenizerTest, SplitsEveryPunctuationCharacter) {
  EXPECT_EQ(Tokenizer().TokenizeToPieces("wait...!!! (yes)"),
            (Pieces{"wait", ".", ".", ".", "!", "!", "!", "(", "yes", ")"}));
  EXPECT_EQ(Tokenizer().TokenizeToPieces("emoji 😀 here"),
            (Pieces{"em", "##oj", "##i", "[UNK]", "here"}));
}

TEST(BertTokenizerTest, WordsOverMaxInputCharsBecomeUnk) {
  const BertTokenizer& t = Tokenizer();
  const Ids hundred = t.Tokenize(Repeat("x", 100));
  ASSERT_EQ(hundred.size(), 50u);
  EXPECT_EQ(hundred[0], 22038);  // "xx"
  EXPECT_EQ(t.Tokenize(Repeat("x", 101)), (Ids{100}));
  EXPECT_EQ(t.Tokenize(Repeat("x", 300) + " ok"), (Ids{100, 7929}));
  // The limit counts code points, not bytes: 100 two-byte letters are still one word.
  const Ids cyrillic = t.Tokenize(Repeat("д", 100));
  ASSERT_EQ(cyrillic.size(), 100u);
  EXPECT_EQ(cyrillic[0], 1184);
  EXPECT_EQ(cyrillic[1], 29742);
  EXPECT_EQ(t.Tokenize(Repeat("д", 101)), (Ids{100}));
}

TEST(BertTokenizerTest, SpecialTokensInTheTextKeepTheirIds) {
  const BertTokenizer& t = Tokenizer();
  EXPECT_EQ(t.Tokenize("[CLS] hello [MASK]"), (Ids{101, 7592, 103}));
  // Matched on the raw text only: lower-case "[cls]" is ordinary punctuation and letters.
  EXPECT_EQ(t.TokenizeToPieces("wo[SEP]rld [cls]"),
            (Pieces{"wo", "[SEP]", "r", "##ld", "[", "cl", "##s", "]"}));
}

TEST(BertTokenizerTest, EncodePairLayout) {
  const Encoding e = Tokenizer().EncodePair("hello world", "how are you");
  EXPECT_EQ(e.input_ids, (Ids{101, 7592, 2088, 102, 2129, 2024, 2017, 102}));
  EXPECT_EQ(e.token_type_ids, (Ids{0, 0, 0, 0, 1, 1, 1, 1}));
  const Encoding single = Tokenizer().EncodeSingle("hello world");
  EXPECT_EQ(single.input_ids, (Ids{101, 7592, 2088, 102}));
  EXPECT_EQ(single.token_type_ids, (Ids{0, 0, 0, 0}));
}

// (x tokens, y tokens, max_length) -> (x kept, y kept), as BertTokenizerFast truncation=True.
struct TruncationCase {
  int first, second, max_length, first_kept, second_kept;
};

TEST(BertTokenizerTest, TruncatesLongestFirstLikeTokenizers) {
  const std::vector<TruncationCase> cases = {
      {4, 4, 8, 2, 3},           {5, 4, 8, 3, 2}, {4, 5, 8, 2, 3}, {3, 10, 8, 2, 3},
      {10, 3, 8, 3, 2},          {6, 6, 9, 3, 3}, {7, 6, 9, 3, 3}, {20, 1, 9, 5, 1},
      {1, 20, 9, 1, 5},          {5, 5, 4, 0, 1}, {2, 2, 7, 2, 2}, {300, 400, 512, 254, 255},
      {100, 600, 512, 100, 409},
  };
  for (const TruncationCase& c : cases) {
    const Encoding e =
        Tokenizer().EncodePair(Repeat("x ", c.first), Repeat("y ", c.second), c.max_length);
    const std::string label = std::to_string(c.first) + "+" + std::to_string(c.second) + " in " +
                              std::to_string(c.max_length);
    Ids expected = {101};
    expected.insert(expected.end(), c.first_kept, kX);
    expected.push_back(102);
    expected.insert(expected.end(), c.second_kept, kY);
    expected.push_back(102);
    EXPECT_EQ(e.input_ids, expected) << label;
    EXPECT_EQ(e.token_type_ids.size(), expected.size()) << label;
    EXPECT_EQ(std::count(e.token_type_ids.begin(), e.token_type_ids.end(), 1), c.second_kept + 1)
        << label;
  }
  const Encoding single = Tokenizer().EncodeSingle(Repeat("x ", 600));
  EXPECT_EQ(single.input_ids.size(), 512u);
  EXPECT_EQ(single.input_ids.back(), 102);
  EXPECT_TRUE(Contains(ErrorOf([] { Tokenizer().EncodePair("a", "b", 2); }), "max_length 2"));
  EXPECT_NE(ErrorOf([] { Tokenizer().EncodeSingle("a", 1); }), "");
}

TEST(BertTokenizerTest, VocabTxtAloneMatchesTokenizerJson) {
  TempDir dir;
  fs::copy_file(ModelDir() / "vocab.txt", dir.path() / "vocab.txt");
  const BertTokenizer from_vocab_dir = BertTokenizer::FromModelDir(dir.path());
  const BertTokenizer from_vocab_file = BertTokenizer::FromVocabFile(dir.path() / "vocab.txt");
  const std::vector<std::string> texts = {
      "Hello, World! [MASK]", "Héllo İstanbul 中文 😀 a\u200bb", Repeat("x", 101) + " ok",
      "Yucaipa owned Dominick 's before selling the chain to Safeway in 1998 for $ 2.5 billion ."};
  for (const std::string& text : texts) {
    const Encoding expected = Tokenizer().EncodePair(text, text + " again", 40);
    EXPECT_EQ(from_vocab_dir.EncodePair(text, text + " again", 40).input_ids, expected.input_ids);
    EXPECT_EQ(from_vocab_file.EncodePair(text, text + " again", 40).input_ids, expected.input_ids);
  }
  EXPECT_EQ(from_vocab_dir.vocabulary(), Tokenizer().vocabulary());
}

TEST(BertTokenizerTest, TokenizerConfigCanTurnOffLowerCasing) {
  TempDir dir;
  fs::copy_file(ModelDir() / "vocab.txt", dir.path() / "vocab.txt");
  dir.Write("tokenizer_config.json", R"({"do_lower_case": false})");
  // Uncased vocabulary, cased input, accents kept: nothing matches (as in Hugging Face).
  EXPECT_EQ(BertTokenizer::FromModelDir(dir.path()).Tokenize("Hello World héllo"),
            (Ids{100, 100, 100}));
}

TEST(BertTokenizerTest, IsSafeToShareBetweenThreads) {
  const std::string a = "Héllo İstanbul, 中文 tokenization [SEP] works!";
  const Ids expected = Tokenizer().EncodePair(a, "again and again").input_ids;
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&, k] {
      for (int i = 0; i < 2000; ++i) {
        mismatches[k] += Tokenizer().EncodePair(a, "again and again").input_ids != expected;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(mismatches, (std::vector<int>{0, 0, 0, 0}));
}

TEST(BertTokenizerTest, ErrorsNameTheFile) {
  TempDir dir;
  const fs::path missing = dir.path() / "nope" / "vocab.txt";
  EXPECT_TRUE(Contains(ErrorOf([&] { BertTokenizer::FromVocabFile(missing); }), missing.string()));
  EXPECT_TRUE(Contains(ErrorOf([&] { BertTokenizer::FromModelDir(dir.path()); }),
                       dir.path().string() + ": has neither tokenizer.json nor vocab.txt"));
  EXPECT_TRUE(Contains(ErrorOf([&] { BertTokenizer::FromModelDir(dir.path() / "absent"); }),
                       "absent: not a model directory"));

  const fs::path empty = dir.Write("empty.txt", "");
  EXPECT_TRUE(Contains(ErrorOf([&] { BertTokenizer::FromVocabFile(empty); }),
                       "empty.txt: empty vocabulary"));
  const fs::path no_unk = dir.Write("no_unk.txt", "[PAD]\n[CLS]\n[SEP]\nhello\n");
  EXPECT_TRUE(Contains(ErrorOf([&] { BertTokenizer::FromVocabFile(no_unk); }),
                       "no_unk.txt: the vocabulary has no unknown token '[UNK]'"));
  const fs::path bad_utf8 = dir.Write("bad_utf8.txt", "[PAD]\n[UNK]\nab\xff\n");
  EXPECT_TRUE(Contains(ErrorOf([&] { BertTokenizer::FromVocabFile(bad_utf8); }),
                       "bad_utf8.txt:3: not valid UTF-8"));
  dir.Write("vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n");
  dir.Write("tokenizer_config.json", R"({"do_lower_case": "yes"})");
  EXPECT_TRUE(Contains(ErrorOf([&] { BertTokenizer::FromModelDir(dir.path()); }),
                       "tokenizer_config.json: do_lower_case: expected a boolean"));
}

TEST(BertTokenizerTest, MalformedTokenizerJsonIsAnErrorNamingFileAndField) {
  const auto error_for = [](const std::string& json) {
    TempDir dir;
    dir.Write("tokenizer.json", json);
    return ErrorOf([&] { BertTokenizer::FromModelDir(dir.path()); });
  };
  const std::string pre = R"("pre_tokenizer": {"type": "BertPreTokenizer"})";
  const std::string model = R"("model": {"vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3,
                                                   "a": 4}})";
  const auto with = [&](const std::string& fields) { return "{" + model + ", " + fields + "}"; };
  EXPECT_TRUE(Contains(error_for("{not json"), "tokenizer.json: invalid JSON"));
  EXPECT_TRUE(Contains(error_for("{" + pre + "}"), "tokenizer.json: model: expected an object"));
  EXPECT_TRUE(Contains(error_for(R"({"model": {"vocab": {"a": "x"}}, )" + pre + "}"),
                       R"(tokenizer.json: model.vocab["a"]: expected an integer id)"));
  EXPECT_TRUE(Contains(error_for(R"({"model": {"type": "BPE", "vocab": {"a": 0}}, )" + pre + "}"),
                       "tokenizer.json: model.type: expected \"WordPiece\""));
  EXPECT_TRUE(Contains(error_for(with(R"("normalizer": {"type": "NFC"}, )" + pre)),
                       "tokenizer.json: normalizer.type: expected \"BertNormalizer\""));
  EXPECT_TRUE(Contains(error_for(with(R"("pre_tokenizer": {"type": "Whitespace"})")),
                       "tokenizer.json: pre_tokenizer.type: expected \"BertPreTokenizer\""));
  EXPECT_TRUE(Contains(
      error_for(with(R"("added_tokens": [{"id": 4, "content": "a", "lstrip": true}], )" + pre)),
      "tokenizer.json: added_tokens[0].lstrip: true is not supported"));
  EXPECT_TRUE(Contains(error_for(with(R"("padding": {"pad_id": 99}, )" + pre)),
                       "tokenizer.json: special token id 99 is outside the vocabulary"));

  // A minimal valid file works, and reads the normalizer options it names.
  TempDir dir;
  dir.Write("tokenizer.json",
            with(R"("normalizer": {"type": "BertNormalizer", "lowercase": false}, )" + pre));
  const BertTokenizer t = BertTokenizer::FromModelDir(dir.path());
  EXPECT_EQ(t.Tokenize("a A"), (Ids{4, 1}));
  EXPECT_EQ(t.EncodePair("a", "a").input_ids, (Ids{2, 4, 3, 4, 3}));
}

TEST(BertTokenizerTest, LowercaseWithoutStrippingAccentsExpandsDottedCapitalI) {
  // Rust's char::to_lowercase turns U+0130 into "i" + U+0307; with strip_accents the mark is
  // already gone by then. Ids checked against tokenizers' BertNormalizer.
  const auto make = [](bool strip) {
    TempDir dir;
    dir.Write("tokenizer.json",
              R"({"model": {"vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "i": 4,
                  "##\u0307": 5, "\u00e9": 6}},
                  "normalizer": {"type": "BertNormalizer", "lowercase": true, "strip_accents": )" +
                  std::string(strip ? "true" : "false") +
                  R"(}, "pre_tokenizer": {"type": "BertPreTokenizer"}})");
    return BertTokenizer::FromModelDir(dir.path());
  };
  EXPECT_EQ(make(false).Tokenize("İ É e\u0301"), (Ids{4, 5, 6, 1}));
  EXPECT_EQ(make(true).Tokenize("İ É"), (Ids{4, 1}));
}

}  // namespace
}  // namespace bertfleet
