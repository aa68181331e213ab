#include "tokenizer/normalizer.h"

#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include <vector>

#include "core/error.h"

namespace moescope {
namespace {

class UnicodeForm final : public Normalizer {
 public:
  UnicodeForm(const UNormalizer2* form, std::string name) : form_(form), name_(std::move(name)) {}

  std::string normalize(std::string_view text) const override {
    if (text.empty()) return {};
    UErrorCode status = U_ZERO_ERROR;
    int32_t len16 = 0;
    u_strFromUTF8(nullptr, 0, &len16, text.data(), int32_t(text.size()), &status);
    status = U_ZERO_ERROR;
    std::vector<UChar> utf16(len16);
    u_strFromUTF8(utf16.data(), len16, nullptr, text.data(), int32_t(text.size()), &status);
    check(status);
    if (unorm2_isNormalized(form_, utf16.data(), len16, &status) && U_SUCCESS(status))
      return std::string(text);
    status = U_ZERO_ERROR;
    std::vector<UChar> out(std::size_t(len16) * 3 + 16);
    int32_t n =
        unorm2_normalize(form_, utf16.data(), len16, out.data(), int32_t(out.size()), &status);
    if (status == U_BUFFER_OVERFLOW_ERROR) {
      status = U_ZERO_ERROR;
      out.resize(n);
      n = unorm2_normalize(form_, utf16.data(), len16, out.data(), n, &status);
    }
    check(status);
    int32_t len8 = 0;
    status = U_ZERO_ERROR;
    u_strToUTF8(nullptr, 0, &len8, out.data(), n, &status);
    status = U_ZERO_ERROR;
    std::string result(len8, '\0');
    u_strToUTF8(result.data(), len8, nullptr, out.data(), n, &status);
    check(status);
    return result;
  }

 private:
  void check(UErrorCode status) const {
    if (U_FAILURE(status))
      throw EngineError("tokenizer: " + name_ + " normalization failed (" + u_errorName(status) +
                        ")");
  }
  const UNormalizer2* form_;
  std::string name_;
};

class Sequence final : public Normalizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<Normalizer>> steps) : steps_(std::move(steps)) {}
  std::string normalize(std::string_view text) const override {
    std::string s(text);
    for (const auto& step : steps_) s = step->normalize(s);
    return s;
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> steps_;
};

}  // namespace

std::unique_ptr<Normalizer> parse_normalizer(const nlohmann::json& spec, const std::string& where) {
  if (spec.is_null()) return nullptr;
  if (!spec.is_object() || !spec.contains("type") || !spec["type"].is_string())
    throw EngineError(where + ": expected an object with a \"type\"");
  const std::string type = spec["type"];
  if (type == "Sequence") {
    const auto it = spec.find("normalizers");
    if (it == spec.end() || !it->is_array())
      throw EngineError(where + ".normalizers: expected an array");
    std::vector<std::unique_ptr<Normalizer>> steps;
    for (std::size_t i = 0; i < it->size(); ++i)
      if (auto step = parse_normalizer((*it)[i], where + ".normalizers[" + std::to_string(i) + "]"))
        steps.push_back(std::move(step));
    if (steps.empty()) return nullptr;
    if (steps.size() == 1) return std::move(steps.front());
    return std::make_unique<Sequence>(std::move(steps));
  }
  UErrorCode status = U_ZERO_ERROR;
  const UNormalizer2* form = type == "NFC"    ? unorm2_getNFCInstance(&status)
                             : type == "NFD"  ? unorm2_getNFDInstance(&status)
                             : type == "NFKC" ? unorm2_getNFKCInstance(&status)
                             : type == "NFKD" ? unorm2_getNFKDInstance(&status)
                                              : nullptr;
  if (!form && U_SUCCESS(status))
    throw EngineError(where + ": unsupported normalizer type \"" + type +
                      "\" (supported: NFC, NFD, NFKC, NFKD, Sequence)");
  if (U_FAILURE(status)) throw EngineError(where + ": ICU has no " + type + " normalizer");
  return std::make_unique<UnicodeForm>(form, type);
}

}  // namespace moescope
