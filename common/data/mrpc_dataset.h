#pragma once
// MRPC from its three possible sources: the GLUE TSV layout (`idx label sentence1 sentence2`),
// the official Microsoft source files split exactly as Hugging Face's `glue` builder does, or
// those files downloaded from their public URLs (sha256-verified) into a cache.
#include <filesystem>
#include <string>
#include <vector>

#include "common/cli/arg_parser.h"
#include "common/data/sentence_pair.h"

namespace bertfleet {

// Reads a GLUE-layout TSV (header `idx label sentence1 sentence2`, TAB-separated, no quoting).
// A malformed row throws Error "FILE:LINE: reason".
std::vector<SentencePair> ReadGlueTsv(const std::filesystem::path& path);
void WriteGlueTsv(const std::filesystem::path& path, const std::vector<SentencePair>& rows);

// Builds train/validation/test from msr_paraphrase_train.txt, mrpc_dev_ids.tsv and
// msr_paraphrase_test.txt in `raw_dir`, same rows, idx and order as Hugging Face.
MrpcSplits BuildMrpcFromRawFiles(const std::filesystem::path& raw_dir);

// Loads one split ("train", "validation", "test") from `source`:
//  - a directory with <split>.tsv,
//  - a directory with the raw official files,
//  - the word "download": raw files fetched into `cache_dir` (see mrpc_download.h).
std::vector<SentencePair> LoadMrpcSplit(const std::string& source, const std::string& split,
                                        const std::filesystem::path& cache_dir);

// $BERTFLEET_CACHE, else $XDG_CACHE_HOME/bertfleet, else ~/.cache/bertfleet.
std::filesystem::path DefaultCacheDir();

// The environment variables LoadMrpcSplit reads (data: download), for a command's usage text.
void DescribeMrpcSourceEnv(ArgParser& parser);

}  // namespace bertfleet
