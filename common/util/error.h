#pragma once
// One exception type for every user-facing failure: its message names the file, line or field
// that was wrong, so the CLI can print it as is.
#include <stdexcept>
#include <string>

namespace bertfleet {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace bertfleet
