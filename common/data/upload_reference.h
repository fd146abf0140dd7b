#pragma once
// How a job spec names an uploaded file: "sha256:HEX/NAME" (train_file:
// sha256:9f86...08/train.csv). The digest addresses the bytes; the name keeps the file's
// extension (its format) and what error messages call it.
#include <optional>
#include <string>
#include <string_view>

namespace bertfleet {

struct UploadReference {
  std::string sha256;  // 64 lowercase hex digits
  std::string name;    // no folders
};

// nullopt for anything that does not start with "sha256:" (a path). Throws Error for a value
// that starts so but is malformed (a short digest, a name with '/').
std::optional<UploadReference> ParseUploadReference(std::string_view value);
std::string UploadReferenceText(const UploadReference& reference);
// A file name an upload may carry: no folders, not "." or "..", 1-200 bytes, printable.
bool IsUploadName(std::string_view name);

}  // namespace bertfleet
