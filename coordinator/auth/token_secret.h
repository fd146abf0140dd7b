#pragma once
// Bearer-token secrets: 256 random bits, shown to their owner once; the coordinator keeps only
// their SHA-256. A fast hash is enough here (unlike for passwords): the secret is random, so
// there is nothing to guess, and every RPC can be checked with one hash and one index lookup.
#include <string>

namespace bertfleet::coordinator {

// "bft_" + 64 lowercase hex digits from OpenSSL's CSPRNG.
std::string NewTokenSecret();

// Lowercase hex SHA-256 of the secret.
std::string HashTokenSecret(const std::string& secret);

}  // namespace bertfleet::coordinator
