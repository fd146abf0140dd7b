#pragma once
// Names of the three official MRPC source files, shared by the builder, the downloader and the
// source resolver so a cache directory and a hand-made raw directory look the same.

namespace bertfleet {

inline constexpr const char* kMrpcTrainFile = "msr_paraphrase_train.txt";
inline constexpr const char* kMrpcDevIdsFile = "mrpc_dev_ids.tsv";
inline constexpr const char* kMrpcTestFile = "msr_paraphrase_test.txt";

}  // namespace bertfleet
