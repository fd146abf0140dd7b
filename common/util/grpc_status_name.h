#pragma once
// gRPC status codes by name ("NOT_FOUND"), for messages and metric labels. Plain ints, so that
// common/ needs no gRPC.
#include <string>

namespace bertfleet {

inline std::string GrpcStatusName(int code) {
  static const char* kNames[] = {"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
                                 "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
                                 "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
                                 "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"};
  return code >= 0 && code <= 16 ? kNames[code] : std::to_string(code);
}

}  // namespace bertfleet
