// libFuzzer entry point for the safetensors header parser (not built by CMake yet):
//   clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -I. \
//     common/model/safetensors_format.cc tests/fuzz/safetensors_header_fuzzer.cc -o safetensors_fuzzer
// Every input must parse or throw bertfleet::Error; a parsed header must describe tensors that lie
// inside the input.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/model/safetensors_format.h"
#include "common/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto header = bertfleet::safetensors::ParseFile(
        std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.safetensors");
    for (const auto& tensor : header.tensors) {
      if (header.data_start + tensor.end > size || tensor.begin > tensor.end ||
          tensor.nbytes() != tensor.numel() * bertfleet::safetensors::DtypeSize(tensor.dtype)) {
        __builtin_trap();
      }
    }
  } catch (const bertfleet::Error&) {
  }
  return 0;
}
