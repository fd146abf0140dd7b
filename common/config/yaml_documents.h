#pragma once
// Counting the documents in a YAML text without YAML::LoadAll: yaml-cpp 0.7's LoadAll never
// returns on some malformed inputs (a lone "," yields an endless run of empty documents, found by
// tests/fuzz/job_spec_fuzzer), which would let one bad job spec hang a coordinator thread.
#include <string>

namespace bertfleet {

// Documents in `text`, counting at most `limit` (the parser is stopped there). Throws
// YAML::Exception on malformed YAML, as yaml-cpp's loaders do.
int CountYamlDocuments(const std::string& text, int limit);

}  // namespace bertfleet
