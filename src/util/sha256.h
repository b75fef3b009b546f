// SHA-256 (FIPS 180-4), self-contained so that content hashes (cache keys for compiled candidates,
// task fingerprints) need no OpenSSL. Pure function; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace kf {

// Returns the SHA-256 digest of `data` as 64 lowercase hex characters.
std::string Sha256Hex(std::string_view data);

}  // namespace kf
