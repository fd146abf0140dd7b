// libFuzzer target for the job-spec parser: the YAML that `bertfleet submit` sends to the
// coordinator, plus `--set key=value` overrides.
// Input: spec YAML, optionally followed by a NUL byte and '\n'-separated override assignments.
// Every input must parse or throw bertfleet::Error naming the source; a spec that parses must also serialize
// (workers write ToJson() into every checkpoint) and survive the overrides.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/config/job_spec.h"
#include "common/util/error.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

// The coordinator returns the message in a gRPC status, whose metadata is limited to 8 KiB.
constexpr size_t kMaxMessageBytes = 8192;

void CheckSpecError(const bertfleet::Error& error, std::string_view source) {
  bertfleet::fuzz::CheckError(error, source);
  if (std::string_view(error.what()).size() > kMaxMessageBytes) __builtin_trap();
}

std::vector<std::string> SplitAssignments(const std::string& text) {
  std::vector<std::string> assignments;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = text.find('\n', start);
    assignments.push_back(text.substr(start, end == std::string::npos ? end : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return assignments;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const size_t nul = input.find('\0');
  const std::string yaml = input.substr(0, nul);
  bertfleet::JobSpec spec;
  try {
    spec = bertfleet::ParseJobSpec(yaml, "fuzz.yaml");
    spec.ToJson().dump();
  } catch (const bertfleet::Error& error) {
    CheckSpecError(error, "fuzz.yaml");
  }
  if (nul == std::string::npos) return 0;
  try {
    bertfleet::ApplyJobSpecOverrides(spec, SplitAssignments(input.substr(nul + 1)), "fuzz --set");
    spec.ToJson().dump();
  } catch (const bertfleet::Error& error) {
    CheckSpecError(error, "fuzz --set");
  }
  return 0;
}
