#include "common/data/upload_reference.h"

#include "common/data/sha256.h"
#include "common/data/text_lines.h"
#include "common/util/error.h"

namespace bertfleet {

namespace {
constexpr std::string_view kPrefix = "sha256:";
}  // namespace

bool IsUploadName(std::string_view name) {
  if (name.empty() || name.size() > 200 || name == "." || name == "..") return false;
  for (const char c : name) {
    if (c == '/' || c == '\\' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  }
  return true;
}

std::optional<UploadReference> ParseUploadReference(std::string_view value) {
  if (value.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  const std::string_view rest = value.substr(kPrefix.size());
  const size_t slash = rest.find('/');
  UploadReference reference;
  reference.sha256 = std::string(rest.substr(0, slash));
  if (slash != std::string_view::npos) reference.name = std::string(rest.substr(slash + 1));
  if (!IsSha256Hex(reference.sha256) || !IsUploadName(reference.name)) {
    throw Error("malformed upload reference " + QuotedField(value) +
                ": expected sha256:<64 lowercase hex digits>/<file name>, as `bertfleet submit` writes it");
  }
  return reference;
}

std::string UploadReferenceText(const UploadReference& reference) {
  return std::string(kPrefix) + reference.sha256 + "/" + reference.name;
}

}  // namespace bertfleet
