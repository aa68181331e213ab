#pragma once
// The "model" of a byte-level BPE tokenizer.json: a vocabulary and ranked
// merges, applied to one pre-tokenized word at a time (lowest rank first,
// leftmost first among equals, as tokenizers does), with a per-word cache.
#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace moescope {

class BpeModel {
 public:
  // `where` names the file for error messages ("dir/tokenizer.json").
  BpeModel(const nlohmann::json& model, const std::string& where);

  // Appends the ids of one word (text in the vocabulary's alphabet) to `ids`.
  void encode_word(std::string_view word, std::vector<int>& ids) const;

  std::optional<int> id_of(const std::string& token) const;
  const std::vector<std::string>& tokens() const { return tokens_; }  // by id; "" for gaps

 private:
  std::vector<int> merge(std::string_view word) const;

  std::unordered_map<std::string, int> vocab_;
  std::vector<std::string> tokens_;
  struct Merge {
    int rank, id;
  };
  std::unordered_map<std::uint64_t, Merge> merges_;  // (left id << 32 | right id) -> merge
  std::optional<int> unk_;
  bool fuse_unk_ = false, byte_fallback_ = false, ignore_merges_ = false;

  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int>> cache_;
};

}  // namespace moescope
