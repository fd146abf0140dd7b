#pragma once
// The message of the bertfleet::Error that `body` throws, or "" when it throws none (so a test
// can assert both an exact message and the absence of an error).
#include <string>

#include "common/util/error.h"

namespace bertfleet::testing {

template <typename Body>
std::string ErrorOf(Body body) {
  try {
    body();
  } catch (const Error& error) {
    return error.what();
  }
  return "";
}

}  // namespace bertfleet::testing
