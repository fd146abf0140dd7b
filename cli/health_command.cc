#include "cli/health_command.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/wire_format_lite.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <future>
#include <iostream>

#include "cli/format.h"

namespace bertfleet::cli {
namespace {

// Debian ships no grpc/health/v1/health.proto, so the two one-field messages are written and read
// in protobuf wire format here: HealthCheckRequest{string service = 1} and
// HealthCheckResponse{ServingStatus status = 1}.
constexpr char kCheckMethod[] = "/grpc.health.v1.Health/Check";
constexpr int kHealthDeadlineSeconds = 5;  // below Docker's and Kubernetes' default probe timeouts

grpc::ByteBuffer EncodeRequest(const std::string& service) {
  std::string bytes;
  if (!service.empty()) {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream out(&stream);
    out.WriteTag(/*field 1, length-delimited*/ (1 << 3) | 2);
    out.WriteVarint32(static_cast<uint32_t>(service.size()));
    out.WriteString(service);
  }
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

// The status number of a HealthCheckResponse (0 when absent, i.e. UNKNOWN); -1 if unreadable.
int DecodeStatus(const grpc::ByteBuffer& buffer) {
  grpc::Slice slice;
  if (!buffer.DumpToSingleSlice(&slice).ok()) return -1;
  google::protobuf::io::CodedInputStream in(slice.begin(), static_cast<int>(slice.size()));
  int status = 0;
  while (uint32_t tag = in.ReadTag()) {
    if (tag == ((1 << 3) | 0)) {
      uint32_t value = 0;
      if (!in.ReadVarint32(&value)) return -1;
      status = static_cast<int>(value);
    } else if (!google::protobuf::internal::WireFormatLite::SkipField(&in, tag)) {
      return -1;
    }
  }
  return status;
}

const char* StatusName(int status) {
  switch (status) {
    case 0: return "UNKNOWN";
    case 1: return "SERVING";
    case 2: return "NOT_SERVING";
    case 3: return "SERVICE_UNKNOWN";
    default: return "UNREADABLE";
  }
}

}  // namespace

int HealthCommand(const std::shared_ptr<grpc::Channel>& channel, const std::string& service, bool json) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(kHealthDeadlineSeconds));
  grpc::ByteBuffer request = EncodeRequest(service);
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, kCheckMethod, grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status status) { done.set_value(std::move(status)); });
  grpc::Status status = done.get_future().get();
  if (!status.ok()) {
    std::cerr << "bertfleet: health: " << StatusLine(status) << "\n";
    return 1;
  }
  const char* name = StatusName(DecodeStatus(response));
  if (json) {
    std::cout << "{\"status\":\"" << name << "\"}" << std::endl;
  } else {
    std::cout << name << std::endl;
  }
  return std::string(name) == "SERVING" ? 0 : 1;
}

}  // namespace bertfleet::cli
