#include "coordinator/auth/token_secret.h"

#include <openssl/rand.h>
#include <openssl/sha.h>

#include "common/util/error.h"

namespace bertfleet::coordinator {
namespace {

std::string Hex(const unsigned char* bytes, size_t size) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out.push_back(kDigits[bytes[i] >> 4]);
    out.push_back(kDigits[bytes[i] & 15]);
  }
  return out;
}

}  // namespace

std::string NewTokenSecret() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) throw Error("cannot make a token: OpenSSL RAND_bytes failed");
  return "bft_" + Hex(bytes, sizeof(bytes));
}

std::string HashTokenSecret(const std::string& secret) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), digest);
  return Hex(digest, sizeof(digest));
}

}  // namespace bertfleet::coordinator
