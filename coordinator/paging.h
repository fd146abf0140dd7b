#pragma once
// List RPCs' paging: page_token is the offset of the page's first item, page_size 1..500
// (default 50).
#include <algorithm>
#include <cstdint>
#include <string>

#include <grpcpp/grpcpp.h>

namespace bertfleet::coordinator {

inline grpc::Status ParsePageToken(const std::string& token, int64_t* offset) {
  *offset = 0;
  if (token.empty()) return grpc::Status::OK;
  try {
    *offset = std::stoll(token);
  } catch (...) {
    *offset = -1;
  }
  if (*offset < 0) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad page_token");
  return grpc::Status::OK;
}

inline int64_t PageSize(int32_t requested) { return requested <= 0 ? 50 : std::min(requested, 500); }

}  // namespace bertfleet::coordinator
