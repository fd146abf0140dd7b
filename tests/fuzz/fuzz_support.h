#pragma once
// Shared by the fuzz targets: the check every rejected input's error must pass, and scratch
// files for parsers that read files rather than bytes.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string_view>

#include "common/text/utf8.h"
#include "common/util/error.h"

namespace bertfleet::fuzz {

// Errors are shown to users, sent in gRPC statuses and in the training child's events, so every
// message must name the file it is about (`source`) and be valid UTF-8 (protobuf and nlohmann::json
// refuse anything else, which would turn a clear error into a second failure).
inline void CheckError(const Error& error, std::string_view source) {
  const std::string_view message = error.what();
  if (message.find(source) != std::string_view::npos && utf8::IsValid(message)) return;
  std::fprintf(stderr, "error message does not name %.*s or is not valid UTF-8: %s\n",
               static_cast<int>(source.size()), source.data(), error.what());
  __builtin_trap();
}

// One scratch directory per process (libFuzzer may run several), in RAM when /dev/shm exists so
// that writing each input costs no disk I/O, removed at exit.
inline const std::filesystem::path& ScratchDir() {
  // Never destroyed: the atexit handler below may run after static destructors.
  static const std::filesystem::path* const dir = [] {
    std::error_code error;
    const std::filesystem::path base = std::filesystem::is_directory("/dev/shm", error)
                                           ? std::filesystem::path("/dev/shm")
                                           : std::filesystem::temp_directory_path();
    auto* path = new std::filesystem::path(base / ("bertfleet-fuzz-" + std::to_string(getpid())));
    std::filesystem::create_directories(*path);
    return path;
  }();
  static const bool cleanup_registered = std::atexit([] {
    std::error_code ignored;
    std::filesystem::remove_all(*dir, ignored);
  }) == 0;
  (void)cleanup_registered;
  return *dir;
}

// Writes `bytes` to ScratchDir()/name (truncating) and returns the path.
inline std::filesystem::path WriteScratchFile(const std::string& name, std::string_view bytes) {
  const auto path = ScratchDir() / name;
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return path;
}

}  // namespace bertfleet::fuzz
