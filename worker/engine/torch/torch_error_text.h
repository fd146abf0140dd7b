#pragma once
// LibTorch's errors (c10::Error) carry a C++ backtrace in what(); users and event streams get the
// message alone.
#include <exception>
#include <string>

#include <c10/util/Exception.h>

namespace bertfleet {

inline std::string TorchErrorText(const std::exception& error) {
  if (const auto* torch_error = dynamic_cast<const c10::Error*>(&error)) return torch_error->what_without_backtrace();
  return error.what();
}

}  // namespace bertfleet
