// libFuzzer target for the safetensors header parser (model weights from the hub or users; built
// and run by scripts/fuzz.sh). Input: a whole .safetensors file.
// Every input must parse or throw bertfleet::Error naming the file; a parsed header must describe
// tensors that lie inside the input.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/model/safetensors_format.h"
#include "common/util/error.h"
#include "tests/fuzz/fuzz_support.h"

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
  } catch (const bertfleet::Error& error) {
    bertfleet::fuzz::CheckError(error, "fuzz.safetensors");
  }
  return 0;
}
