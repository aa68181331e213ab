#include "wire/routed_experts.h"

#include <climits>

#include "core/error.h"
#include "wire/base64.h"
#include "wire/npy.h"

namespace moescope {

using nlohmann::json;

namespace {

int checked_id(std::int64_t value, const std::string& where) {
  if (value < RoutedExperts::unknown || value > INT_MAX)
    throw EngineError(where + ": expert id " + std::to_string(value) + " is not an expert");
  return static_cast<int>(value);
}

void check_size(std::int64_t tokens, std::int64_t layers, std::int64_t top_k,
                const std::string& field) {
  if (tokens < 0 || layers < 0 || top_k < 0 || tokens > INT_MAX || layers > INT_MAX ||
      top_k > INT_MAX || (layers && top_k && tokens > max_routed_expert_ids / layers / top_k))
    throw EngineError(field + ": routing array of " + std::to_string(tokens) + " x " +
                      std::to_string(layers) + " x " + std::to_string(top_k) + " is too large");
}

const json& list_at(const json& value, const std::string& where, std::size_t expected,
                    const char* axis) {
  if (!value.is_array())
    throw EngineError(where + ": expected a list of " + axis + ", got " + value.type_name());
  if (expected != SIZE_MAX && value.size() != expected)
    throw EngineError(where + ": " + std::to_string(value.size()) + " " + axis + ", expected " +
                      std::to_string(expected) + " as in the first row");
  return value;
}

}  // namespace

RoutedExperts routed_experts_from_nested(const json& value, const std::string& field) {
  RoutedExperts out;
  const json& tokens = list_at(value, field, SIZE_MAX, "tokens");
  if (tokens.empty()) return out;
  const json& first_token = list_at(tokens[0], field + "[0]", SIZE_MAX, "layers");
  const std::size_t layers = first_token.size();
  const std::size_t top_k =
      layers ? list_at(first_token[0], field + "[0][0]", SIZE_MAX, "experts").size() : 0;
  check_size(std::int64_t(tokens.size()), std::int64_t(layers), std::int64_t(top_k), field);
  out.tokens = int(tokens.size());
  out.layers = int(layers);
  out.top_k = int(top_k);
  out.ids.reserve(tokens.size() * layers * top_k);
  for (std::size_t t = 0; t < tokens.size(); ++t) {
    const std::string at_t = field + "[" + std::to_string(t) + "]";
    const json& token = list_at(tokens[t], at_t, layers, "layers");
    for (std::size_t l = 0; l < layers; ++l) {
      const std::string at_l = at_t + "[" + std::to_string(l) + "]";
      const json& row = list_at(token[l], at_l, top_k, "experts");
      for (std::size_t k = 0; k < top_k; ++k) {
        const std::string at_k = at_l + "[" + std::to_string(k) + "]";
        if (!row[k].is_number_integer())
          throw EngineError(at_k + ": expected an expert id, got " + row[k].dump());
        out.ids.push_back(checked_id(
            row[k].is_number_unsigned()
                ? std::int64_t(std::min<std::uint64_t>(row[k].get<std::uint64_t>(), INT64_MAX))
                : row[k].get<std::int64_t>(),
            at_k));
      }
    }
  }
  return out;
}

RoutedExperts routed_experts_from_npy_base64(std::string_view text, const std::string& field) {
  const NpyIntArray array = read_npy_ints(base64_decode(text, field), field);
  if (array.shape.size() != 3)
    throw EngineError(field +
                      ": a routing array has 3 dimensions [tokens, layers, top_k], this "
                      "one has " +
                      std::to_string(array.shape.size()));
  check_size(array.shape[0], array.shape[1], array.shape[2], field);
  RoutedExperts out;
  out.tokens = int(array.shape[0]);
  out.layers = int(array.shape[1]);
  out.top_k = int(array.shape[2]);
  out.ids.reserve(array.values.size());
  for (std::size_t i = 0; i < array.values.size(); ++i)
    out.ids.push_back(checked_id(array.values[i], field + " (value " + std::to_string(i) + ")"));
  return out;
}

RoutedExperts routed_experts_from_int32_base64(std::string_view text, int layers, int top_k,
                                               const std::string& field) {
  const std::vector<std::uint8_t> bytes = base64_decode(text, field);
  const std::size_t row = std::size_t(layers) * std::size_t(top_k) * 4;
  if (row == 0) throw EngineError(field + ": the model has no routed experts to read");
  if (bytes.size() % row != 0)
    throw EngineError(field + ": " + std::to_string(bytes.size()) + " bytes, not whole tokens of " +
                      std::to_string(layers) + " layers x " + std::to_string(top_k) +
                      " experts as int32 (truncated?)");
  check_size(std::int64_t(bytes.size() / row), layers, top_k, field);
  RoutedExperts out;
  out.tokens = int(bytes.size() / row);
  out.layers = layers;
  out.top_k = top_k;
  out.ids.reserve(bytes.size() / 4);
  for (std::size_t i = 0; i < bytes.size(); i += 4) {
    const std::int32_t v =
        std::int32_t(std::uint32_t(bytes[i]) | std::uint32_t(bytes[i + 1]) << 8 |
                     std::uint32_t(bytes[i + 2]) << 16 | std::uint32_t(bytes[i + 3]) << 24);
    out.ids.push_back(checked_id(v, field + " (value " + std::to_string(i / 4) + ")"));
  }
  return out;
}

RoutedExperts routed_experts_from_json(const json& value, int layers, int top_k,
                                       const std::string& field) {
  if (value.is_array()) return routed_experts_from_nested(value, field);
  if (!value.is_string())
    throw EngineError(field + ": expected a list or a base64 string, got " + value.type_name());
  const std::string& text = value.get_ref<const std::string&>();
  // base64 of "\x93NUMPY" begins "k05VTVBZ".
  if (text.starts_with("k05VTVBZ")) return routed_experts_from_npy_base64(text, field);
  return routed_experts_from_int32_base64(text, layers, top_k, field);
}

json routed_experts_to_nested(const RoutedExperts& experts) {
  json tokens = json::array();
  for (int t = 0; t < experts.tokens; ++t) {
    json layers = json::array();
    for (int l = 0; l < experts.layers; ++l) {
      json row = json::array();
      for (int k = 0; k < experts.top_k; ++k) row.push_back(experts.at(t, l, k));
      layers.push_back(std::move(row));
    }
    tokens.push_back(std::move(layers));
  }
  return tokens;
}

std::string routed_experts_to_npy_base64(const RoutedExperts& experts) {
  const std::vector<std::int64_t> values(experts.ids.begin(), experts.ids.end());
  return base64_encode(write_npy_int16({experts.tokens, experts.layers, experts.top_k}, values));
}

std::string routed_experts_to_int32_base64(const RoutedExperts& experts) {
  std::vector<std::uint8_t> bytes;
  bytes.reserve(experts.ids.size() * 4);
  for (int id : experts.ids) {
    const auto bits = static_cast<std::uint32_t>(id);
    for (int b = 0; b < 4; ++b) bytes.push_back(std::uint8_t(bits >> (8 * b)));
  }
  return base64_encode(bytes);
}

}  // namespace moescope
