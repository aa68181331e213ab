#pragma once
// The routed-expert array a serving engine returns: [tokens, layers, top_k] expert
// ids, in each of the wire forms of docs/REMOTE.md — nested JSON lists (vLLM 0.21),
// base64 of a .npy array (vLLM's numpy2base64) and base64 of raw little-endian int32
// (SGLang). Every decoder treats its input as untrusted.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace moescope {

struct RoutedExperts {
  static constexpr int unknown = -1;  // vLLM's mark for a position its prefix cache answered
  int tokens = 0;
  int layers = 0;
  int top_k = 0;
  std::vector<int> ids;  // tokens * layers * top_k, C order

  int at(int token, int layer, int slot) const {
    return ids[(std::size_t(token) * layers + layer) * top_k + slot];
  }
};

// The most a routing array may hold (2^31 ids, 8 GiB as int32): a bound on what a
// server's answer can make us allocate.
inline constexpr std::int64_t max_routed_expert_ids = std::int64_t(1) << 31;

// [[[e, ...], ...], ...]; every row the same length. Throws EngineError naming `field`.
RoutedExperts routed_experts_from_nested(const nlohmann::json& value, const std::string& field);
// A base64 string of a 3-dimensional .npy integer array.
RoutedExperts routed_experts_from_npy_base64(std::string_view text, const std::string& field);
// A base64 string of raw int32 values, [-1, layers, top_k] as SGLang reshapes it.
RoutedExperts routed_experts_from_int32_base64(std::string_view text, int layers, int top_k,
                                               const std::string& field);
// Whichever of the three forms `value` is: a list is nested, a string whose bytes
// start with .npy's magic is .npy, any other string raw int32 of [-1, layers, top_k].
RoutedExperts routed_experts_from_json(const nlohmann::json& value, int layers, int top_k,
                                       const std::string& field);

nlohmann::json routed_experts_to_nested(const RoutedExperts& experts);
std::string routed_experts_to_npy_base64(const RoutedExperts& experts);  // int16, as vLLM
std::string routed_experts_to_int32_base64(const RoutedExperts& experts);

}  // namespace moescope
