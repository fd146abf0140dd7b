#pragma once
// SHA-256 over bytes that arrive in pieces (an upload, a download), as lowercase hex.
#include <memory>
#include <string>
#include <string_view>

struct evp_md_ctx_st;

namespace bertfleet {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(std::string_view bytes);
  std::string HexDigest();  // once, after the last Update

 private:
  evp_md_ctx_st* context_;
};

// 64 lowercase hex digits.
bool IsSha256Hex(std::string_view text);

}  // namespace bertfleet
