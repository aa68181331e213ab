#pragma once
// How much slower code runs in this build: AddressSanitizer (scripts/sanitize.sh) makes
// the engine a few times slower, so time limits that guard against a blow-up (quadratic
// work on a long input takes minutes, not seconds) are scaled by this, not dropped.

#if defined(__SANITIZE_ADDRESS__)  // g++
inline constexpr int sanitizer_slowdown = 4;
#elif defined(__has_feature)  // clang
#if __has_feature(address_sanitizer)
inline constexpr int sanitizer_slowdown = 4;
#else
inline constexpr int sanitizer_slowdown = 1;
#endif
#else
inline constexpr int sanitizer_slowdown = 1;
#endif
