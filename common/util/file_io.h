#pragma once
#include <filesystem>
#include <string>

namespace bertfleet {

// Whole file as bytes; throws Error naming the path when it cannot be read.
std::string ReadFileToString(const std::filesystem::path& path);

// Writes to a temporary sibling, fsyncs and renames, so readers never see a half-written file.
void WriteFileAtomically(const std::filesystem::path& path, const std::string& contents);

}  // namespace bertfleet
