#include "worker/engine/checkpoint/safetensors_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/model/safetensors_format.h"
#include "common/util/error.h"
#include "common/util/file_io.h"

namespace bertfleet {
namespace {

namespace st = safetensors;

bool ToTorch(st::Dtype dtype, torch::Dtype* out) {
  switch (dtype) {
    case st::Dtype::kBool: *out = torch::kBool; return true;
    case st::Dtype::kU8: *out = torch::kUInt8; return true;
    case st::Dtype::kI8: *out = torch::kInt8; return true;
    case st::Dtype::kI16: *out = torch::kInt16; return true;
    case st::Dtype::kI32: *out = torch::kInt32; return true;
    case st::Dtype::kI64: *out = torch::kInt64; return true;
    case st::Dtype::kF16: *out = torch::kFloat16; return true;
    case st::Dtype::kBF16: *out = torch::kBFloat16; return true;
    case st::Dtype::kF32: *out = torch::kFloat32; return true;
    case st::Dtype::kF64: *out = torch::kFloat64; return true;
    default: return false;
  }
}

st::Dtype FromTorch(torch::Dtype dtype, const std::string& name, const std::filesystem::path& path) {
  switch (dtype) {
    case torch::kBool: return st::Dtype::kBool;
    case torch::kUInt8: return st::Dtype::kU8;
    case torch::kInt8: return st::Dtype::kI8;
    case torch::kInt16: return st::Dtype::kI16;
    case torch::kInt32: return st::Dtype::kI32;
    case torch::kInt64: return st::Dtype::kI64;
    case torch::kFloat16: return st::Dtype::kF16;
    case torch::kBFloat16: return st::Dtype::kBF16;
    case torch::kFloat32: return st::Dtype::kF32;
    case torch::kFloat64: return st::Dtype::kF64;
    default:
      throw Error(path.string() + ": tensor '" + name + "': dtype " + std::string(c10::toString(dtype)) +
                  " cannot be stored in safetensors");
  }
}

class File {
 public:
  explicit File(const std::filesystem::path& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw Error(path.string() + ": cannot open: " + std::strerror(errno));
    struct stat info {};
    if (::fstat(fd_, &info) != 0) throw Error(path.string() + ": cannot stat: " + std::strerror(errno));
    if (!S_ISREG(info.st_mode)) throw Error(path.string() + ": not a regular file");
    size_ = static_cast<uint64_t>(info.st_size);
  }
  ~File() { ::close(fd_); }
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  uint64_t size() const { return size_; }

  void ReadAt(uint64_t offset, void* out, uint64_t bytes, const std::string& what) const {
    auto* p = static_cast<char*>(out);
    while (bytes > 0) {
      const size_t chunk = static_cast<size_t>(std::min<uint64_t>(bytes, 1u << 30));
      const ssize_t n = ::pread(fd_, p, chunk, static_cast<off_t>(offset));
      if (n < 0) {
        if (errno == EINTR) continue;
        throw Error(path_.string() + ": read failed (" + what + "): " + std::strerror(errno));
      }
      if (n == 0) throw Error(path_.string() + ": unexpected end of file reading " + what + " (truncated?)");
      p += n;
      offset += static_cast<uint64_t>(n);
      bytes -= static_cast<uint64_t>(n);
    }
  }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

}  // namespace

const torch::Tensor* SafetensorsContents::Find(const std::string& name) const {
  for (const auto& [n, t] : tensors) {
    if (n == name) return &t;
  }
  return nullptr;
}

SafetensorsContents LoadSafetensors(const std::filesystem::path& path) {
  const std::string source = path.string();
  File file(path);
  if (file.size() < 8) {
    throw Error(source + ": invalid safetensors file: " + std::to_string(file.size()) +
                " bytes, less than the 8-byte header length (truncated?)");
  }
  unsigned char prefix[8];
  file.ReadAt(0, prefix, 8, "header length");
  const uint64_t n = st::DecodeHeaderLength(prefix);
  if (n > file.size() - 8 || n > st::kMaxHeaderBytes) {
    throw Error(source + ": invalid safetensors file: header length " + std::to_string(n) +
                " exceeds the file size " + std::to_string(file.size()) + " (truncated or not safetensors?)");
  }
  std::string header_json(n, '\0');
  file.ReadAt(8, header_json.data(), n, "header");
  const st::Header header = st::ParseHeader(header_json, file.size(), source);

  SafetensorsContents contents;
  contents.metadata = header.metadata;
  contents.tensors.reserve(header.tensors.size());
  for (const auto& info : header.tensors) {
    torch::Dtype dtype;
    if (!ToTorch(info.dtype, &dtype)) {
      throw Error(source + ": tensor '" + info.name + "': dtype " + st::DtypeName(info.dtype) +
                  " is not supported by this LibTorch");
    }
    torch::Tensor tensor = torch::empty(info.shape, torch::TensorOptions().dtype(dtype));
    if (info.nbytes() > 0) {
      file.ReadAt(header.data_start + info.begin, tensor.data_ptr(), info.nbytes(), "tensor '" + info.name + "'");
    }
    contents.tensors.emplace_back(info.name, std::move(tensor));
  }
  return contents;
}

void SaveSafetensors(const std::filesystem::path& path, const NamedTensors& tensors,
                     const std::map<std::string, std::string>& metadata) {
  std::vector<st::TensorSpec> specs;
  std::vector<torch::Tensor> contiguous;
  specs.reserve(tensors.size());
  contiguous.reserve(tensors.size());
  uint64_t total = 0;
  for (const auto& [name, tensor] : tensors) {
    if (!tensor.defined()) throw Error(path.string() + ": tensor '" + name + "' is undefined");
    torch::Tensor t = tensor.detach().to(torch::kCPU).contiguous();
    specs.push_back({name, FromTorch(t.scalar_type(), name, path), t.sizes().vec()});
    total += t.nbytes();
    contiguous.push_back(std::move(t));
  }
  std::string bytes;
  try {
    bytes = st::SerializeHeader(specs, metadata);
  } catch (const Error& e) {
    throw Error(path.string() + ": " + e.what());
  }
  const size_t header_size = bytes.size();
  bytes.resize(header_size + total);
  char* out = bytes.data() + header_size;
  for (const auto& t : contiguous) {
    if (t.nbytes() > 0) std::memcpy(out, t.data_ptr(), t.nbytes());
    out += t.nbytes();
  }
  WriteFileAtomically(path, bytes);
}

}  // namespace bertfleet
