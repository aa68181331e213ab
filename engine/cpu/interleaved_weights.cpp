#include "cpu/interleaved_weights.h"

#include <sys/mman.h>

#include <vector>

#include "cpu/interleaved_rows.h"
#include "model/quant_blocks.h"

namespace moescope::cpu {
namespace {

// Every matrix the backend multiplies by (the embedding is read row by row instead).
std::vector<TensorView*> matrices(ModelWeights& w) {
  std::vector<TensorView*> out{&w.lm_head};
  const auto add_mlp = [&](MlpWeights& m) { out.insert(out.end(), {&m.gate, &m.up, &m.down}); };
  for (LayerWeights& l : w.layers) {
    out.insert(out.end(), {&l.wq, &l.wk, &l.wv, &l.wo, &l.router});
    if (l.mla) {
      if (l.mla->q_a) out.push_back(&*l.mla->q_a);
      out.insert(out.end(), {&l.mla->kv_a, &l.mla->kv_b});
    }
    add_mlp(l.dense);
    for (MlpWeights& e : l.experts) add_mlp(e);
    if (l.shared) add_mlp(*l.shared);
    if (l.shared_gate) out.push_back(&*l.shared_gate);
  }
  return out;
}

std::int64_t groups_of(const TensorView& t) {
  return t.shape.size() == 2 ? t.shape[0] / interleaved_group_rows : 0;
}

std::int64_t copy_bytes(const TensorView& t) {
  return t.data ? groups_of(t) * interleaved_group_bytes(t.dtype, t.cols()) : 0;
}

// `bytes` in whole 2 MiB pages, which the kernel is asked to back with huge pages: a
// decode streams every chosen matrix once, and with 4 KiB pages it walked the page tables
// every 4 KiB (huge pages made bench-8k's 1-thread Q4_0 decode 8-17% faster). Null when
// the memory is not there.
std::byte* huge_page_memory(std::uint64_t bytes) {
  constexpr std::uint64_t huge_page = 2u << 20;
  const std::uint64_t rounded = (bytes + huge_page - 1) / huge_page * huge_page;
  auto* p = static_cast<std::byte*>(std::aligned_alloc(huge_page, rounded));
#if defined(MADV_HUGEPAGE)
  if (p) madvise(p, rounded, MADV_HUGEPAGE);  // a hint: without it, ordinary pages
#endif
  return p;
}

}  // namespace

InterleavedWeights::InterleavedWeights(const ModelWeights& weights, std::uint64_t budget_bytes)
    : weights_(weights) {
  std::vector<TensorView*> todo;
  std::vector<std::uint64_t> offset;
  for (TensorView* t : matrices(weights_)) {
    if (copy_bytes(*t) == 0) continue;
    todo.push_back(t);
    offset.push_back(bytes_);
    bytes_ += std::uint64_t(copy_bytes(*t));
  }
  if (bytes_ == 0 || bytes_ > budget_bytes) {
    bytes_ = 0;
    return;
  }
  storage_.reset(huge_page_memory(bytes_));
  if (!storage_) {
    bytes_ = 0;
    return;
  }
#if defined(__AVX2__) && defined(__FMA__)
#pragma omp parallel for schedule(dynamic)
  for (std::size_t i = 0; i < todo.size(); ++i) {
    TensorView& t = *todo[i];
    std::byte* out = storage_.get() + offset[i];
    with_blocks(t.dtype, t.data, [&](const auto* blocks) {
      using Block = std::remove_cvref_t<decltype(*blocks)>;
      interleave_rows(blocks, int(t.cols() / Block::elements), groups_of(t), out);
    });
    t.interleaved = out;
  }
#endif
}

}  // namespace moescope::cpu
