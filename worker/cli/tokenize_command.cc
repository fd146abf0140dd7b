// `bertfleet-worker tokenize`: encodes every sentence pair of a GLUE TSV as BERT input and prints
// one JSON line per example, in input order; the oracle tests diff this against Hugging Face.
// Pairs are encoded on several threads in fixed-size chunks, each formatted into its own buffer,
// and the buffers are written in order with one large write each.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/cli/arg_parser.h"
#include "common/data/mrpc_dataset.h"
#include "common/text/bert_tokenizer.h"
#include "common/util/error.h"
#include "common/util/usable_cores.h"
#include "worker/cli/commands.h"

namespace bertfleet {
namespace {

constexpr size_t kChunkSize = 512;  // pairs per work item: small enough to balance threads

constexpr char kDigitPairs[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

// Writes the decimal form of value at out and returns the end (no locale, no allocation),
// two digits per division.
char* WriteInt(int64_t signed_value, char* out) {
  uint64_t value = static_cast<uint64_t>(signed_value);
  if (signed_value < 0) {
    *out++ = '-';
    value = 0 - value;
  }
  char digits[20];
  char* p = digits + sizeof(digits);
  while (value >= 100) {
    p -= 2;
    std::memcpy(p, kDigitPairs + 2 * (value % 100), 2);
    value /= 100;
  }
  if (value >= 10) {
    p -= 2;
    std::memcpy(p, kDigitPairs + 2 * value, 2);
  } else {
    *--p = static_cast<char>('0' + value);
  }
  const size_t length = static_cast<size_t>(digits + sizeof(digits) - p);
  std::memcpy(out, p, length);
  return out + length;
}

char* WriteLiteral(const char* text, size_t size, char* out) {
  std::copy(text, text + size, out);
  return out + size;
}

// {"idx":N,"input_ids":[...],"token_type_ids":[...]}\n
void AppendJsonLine(int64_t idx, const Encoding& encoding, std::string& out) {
  static constexpr char kIdx[] = "{\"idx\":";
  static constexpr char kIds[] = ",\"input_ids\":[";
  static constexpr char kTypes[] = "],\"token_type_ids\":[";
  static constexpr char kEnd[] = "]}\n";
  const size_t n = encoding.input_ids.size();
  const size_t old_size = out.size();
  // Upper bound: fixed text, 21 chars for idx, 11 chars + comma per id, 2 chars per type id.
  out.resize(old_size + sizeof(kIdx) + sizeof(kIds) + sizeof(kTypes) + sizeof(kEnd) + 21 + 12 * n +
             2 * n);
  char* p = out.data() + old_size;
  p = WriteLiteral(kIdx, sizeof(kIdx) - 1, p);
  p = WriteInt(idx, p);
  p = WriteLiteral(kIds, sizeof(kIds) - 1, p);
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) *p++ = ',';
    p = WriteInt(encoding.input_ids[i], p);
  }
  p = WriteLiteral(kTypes, sizeof(kTypes) - 1, p);
  for (size_t i = 0; i < encoding.token_type_ids.size(); ++i) {
    if (i > 0) *p++ = ',';
    p = WriteInt(encoding.token_type_ids[i], p);
  }
  p = WriteLiteral(kEnd, sizeof(kEnd) - 1, p);
  out.resize(static_cast<size_t>(p - out.data()));
}

void WriteToStdout(const std::string& text) {
  if (text.empty()) return;
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size()) {
    throw Error("tokenize: writing to standard output failed");
  }
}

}  // namespace

int RunTokenizeCommand(const CommandArgs& args) {
  ArgParser parser("bertfleet-worker tokenize");
  parser.Value("model", "model DIR with tokenizer.json, or vocab.txt (+ tokenizer_config.json)")
      .Value("input", "GLUE TSV file (idx label sentence1 sentence2)")
      .Value("limit", "encode only the first N pairs (default all)")
      .Value("max-seq-length", "truncate longest_first to N tokens incl. specials (default 512)")
      .Value("threads", "encoding threads (default: all cores)")
      .About("Tokenizes sentence pairs as Hugging Face's tokenizer does: one JSON line per pair (idx, input_ids, "
             "token_type_ids).")
      .NoEnv()
      .Example("bertfleet-worker tokenize --model runs/mrpc --input data/mrpc/validation.tsv --limit 3");
  if (!parser.ParseCommand(args)) return 0;
  const long limit = parser.GetInt("limit", -1);
  if (parser.Has("limit") && limit < 0) throw Error("tokenize: --limit must be >= 0");
  const long max_length = parser.GetInt("max-seq-length", 512);
  if (max_length < 3 || max_length > 1'000'000) {
    throw Error(
        "tokenize: --max-seq-length must be between 3 and 1000000 ([CLS] a [SEP] b [SEP] "
        "needs 3)");
  }
  const long threads = parser.GetInt("threads", UsableCores());
  if (threads < 1) throw Error("tokenize: --threads must be >= 1");

  const BertTokenizer tokenizer = BertTokenizer::FromModelDir(parser.Get("model"));
  std::vector<SentencePair> pairs = ReadGlueTsv(parser.Get("input"));
  if (limit >= 0 && static_cast<size_t>(limit) < pairs.size()) pairs.resize(limit);

  const size_t chunks = (pairs.size() + kChunkSize - 1) / kChunkSize;
  std::vector<std::string> outputs(chunks);
  std::atomic<size_t> next_chunk{0};
  std::mutex failure_mutex;
  std::exception_ptr failure;  // the first exception of any thread, rethrown after the join
  const auto encode_chunks = [&] {
    try {
      for (size_t chunk = next_chunk++; chunk < chunks; chunk = next_chunk++) {
        const size_t end = std::min(pairs.size(), (chunk + 1) * kChunkSize);
        std::string& out = outputs[chunk];
        out.reserve(kChunkSize * 512);
        for (size_t i = chunk * kChunkSize; i < end; ++i) {
          const Encoding encoding = tokenizer.EncodePair(pairs[i].sentence1, pairs[i].sentence2,
                                                         static_cast<int>(max_length));
          AppendJsonLine(pairs[i].idx, encoding, out);
        }
      }
    } catch (...) {
      const std::lock_guard<std::mutex> lock(failure_mutex);
      if (!failure) failure = std::current_exception();
      next_chunk = chunks;  // stop the other threads early
    }
  };
  const size_t workers = std::min<size_t>(static_cast<size_t>(threads), chunks);
  std::vector<std::thread> pool;
  for (size_t k = 1; k < workers; ++k) pool.emplace_back(encode_chunks);
  encode_chunks();
  for (std::thread& worker : pool) worker.join();
  if (failure) std::rethrow_exception(failure);

  for (const std::string& out : outputs) WriteToStdout(out);
  if (std::fflush(stdout) != 0) throw Error("tokenize: writing to standard output failed");
  return 0;
}

}  // namespace bertfleet
