#pragma once
// "2.5 s": how timeouts and waits read in error messages. Header-only, so the NCCL layer (which
// links no bertfleet library) uses it too.
#include <chrono>
#include <cstdio>
#include <string>

namespace bertfleet {

template <typename Rep, typename Period>
std::string SecondsText(std::chrono::duration<Rep, Period> duration) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f s", std::chrono::duration<double>(duration).count());
  return text;
}

}  // namespace bertfleet
