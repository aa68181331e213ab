// Every CUDA op against the CPU backend's op on the same inputs, at the sizes of
// real models and at awkward ones (not multiples of the vector width, fewer
// rows than a block), over the weight dtypes. Skips without a GPU.
#include <QTest>
#include <algorithm>
#include <numeric>
#include <random>
#include <vector>

#include "cpu/attention.h"
#include "cpu/cpu_ops.h"
#include "cuda_plan/expert_groups.h"
#include "cuda_plan/routing_plan.h"
#include "kernels/attention.h"
#include "kernels/cuda_error.h"
#include "kernels/device_buffer.h"
#include "kernels/embedding.h"
#include "kernels/expert_grouping.h"
#include "kernels/gemm.h"
#include "kernels/gemv.h"
#include "kernels/gpu_suite.h"
#include "kernels/grouped_gemm.h"
#include "kernels/rmsnorm.h"
#include "kernels/rope.h"
#include "kernels/router.h"
#include "kernels/silu_mul.h"
#include "model/dtype.h"
#include "run/interventions.h"
#include "run/top_k.h"

using namespace moescope;
using namespace moescope::cuda;

namespace {

std::vector<float> random_values(std::size_t n, unsigned seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

template <class T>
DeviceBuffer upload(const std::vector<T>& v) {
  DeviceBuffer b(v.size() * sizeof(T), "test upload");
  check_cuda(cudaMemcpy(b.at(), v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice), "upload");
  return b;
}

template <class T = float>
std::vector<T> download(const DeviceBuffer& b, std::size_t n) {
  std::vector<T> v(n);
  check_cuda(cudaDeviceSynchronize(), "kernel");
  check_cuda(cudaMemcpy(v.data(), b.at(), n * sizeof(T), cudaMemcpyDeviceToHost), "download");
  return v;
}

// A weight matrix in a storage dtype: its bytes and the view the CPU op reads.
struct Weights {
  std::vector<std::uint8_t> bytes;
  TensorView view;
};

Weights make_weights(DType dtype, int rows, int cols, unsigned seed) {
  const std::vector<float> v = random_values(std::size_t(rows) * cols, seed, 0.05f);
  Weights w;
  w.bytes.resize(v.size() * dtype_size(dtype));
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (dtype == DType::f32) {
      std::memcpy(w.bytes.data() + 4 * i, &v[i], 4);
    } else {
      const std::uint16_t h = dtype == DType::bf16 ? f32_to_bf16(v[i]) : f32_to_f16(v[i]);
      std::memcpy(w.bytes.data() + 2 * i, &h, 2);
    }
  }
  w.view.dtype = dtype;
  w.view.shape = {rows, cols};
  w.view.data = w.bytes.data();
  return w;
}

// max |a - b| / max |b|
double relative_error(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0, ref = 0;
  for (std::size_t i = 0; i < b.size(); ++i) {
    diff = std::max(diff, double(std::abs(a[i] - b[i])));
    ref = std::max(ref, double(std::abs(b[i])));
  }
  return ref > 0 ? diff / ref : diff;
}

void add_dtype_size_rows() {
  QTest::addColumn<int>("dtype");
  QTest::addColumn<int>("rows");
  QTest::addColumn<int>("cols");
  const std::pair<int, int> shapes[] = {{102400, 2048}, {1408, 2048}, {2048, 1408}, {8000, 128},
                                        {97, 100},      {64, 2048},   {1, 128},     {30, 7}};
  for (DType d : {DType::f32, DType::f16, DType::bf16})
    for (auto [rows, cols] : shapes)
      QTest::addRow("%s %dx%d", std::string(dtype_name(d)).c_str(), rows, cols)
          << int(d) << rows << cols;
}

// A gate's choice of `tokens` tokens, k distinct experts each, some slots empty (-1)
// and some experts never chosen.
std::vector<int> random_choice(int tokens, int k, int experts, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<int> ids;
  for (int t = 0; t < tokens; ++t) {
    std::vector<int> order(experts);
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end() - 1, rng);  // the last expert is never chosen
    for (int j = 0; j < k; ++j) ids.push_back(rng() % 17 == 0 ? -1 : order[j]);
  }
  return ids;
}

// The grouping of `ids` on the device, in buffers that live as long as it.
struct GroupsOnDevice {
  DeviceBuffer index, tiles;
  DeviceExpertGroups groups;
  GroupsOnDevice(const DeviceBuffer& ids, int slot_count, int k, int experts)
      : index(2 * std::size_t(slot_count) * sizeof(int), "index"),
        tiles((experts + 1 + 2 * std::size_t(cuda_plan::max_group_tiles(slot_count, experts))) *
                  sizeof(int),
              "tiles") {
    groups = {tiles.at<int>(), tiles.at<int>() + experts + 1, index.at<int>(),
              index.at<int>() + slot_count};
    launch_group_by_expert(ids.at<int>(), slot_count, k, experts, groups, nullptr);
  }
};

}  // namespace

class TestCudaOps : public QObject {
  Q_OBJECT
 private slots:
  void initTestCase() { MOESCOPE_SKIP_WITHOUT_GPU(); }

  void gemv_matches_matvec_data() { add_dtype_size_rows(); }
  void gemv_matches_matvec() {
    QFETCH(int, dtype);
    QFETCH(int, rows);
    QFETCH(int, cols);
    const Weights w = make_weights(DType(dtype), rows, cols, 1);
    const std::vector<float> x = random_values(cols, 2);
    std::vector<float> expected(rows);
    cpu::matvec(w.view, x.data(), expected.data());
    const DeviceBuffer dw = upload(w.bytes), dx = upload(x);
    DeviceBuffer dy(rows * sizeof(float), "y");
    launch_gemv({dw.at(), DType(dtype), rows, cols}, {}, dx.at<float>(), cols, 1, 1, dy.at<float>(),
                rows, nullptr);
    QVERIFY(relative_error(download(dy, rows), expected) < 1e-5);
  }

  void grouped_gemv_reads_ids_from_the_device() {
    const int experts = 8, rows = 24, cols = 100, k = 3;  // 100 bf16: no 16-byte loads
    const std::size_t stride = 4864;                      // >= rows * cols * 2, 256-aligned
    std::vector<std::uint8_t> packed(stride * experts);
    std::vector<Weights> each;
    for (int e = 0; e < experts; ++e) {
      each.push_back(make_weights(DType::bf16, rows, cols, 10 + e));
      std::memcpy(packed.data() + e * stride, each[e].bytes.data(), each[e].bytes.size());
    }
    const std::vector<int> ids{5, 0, 7};
    const std::vector<float> x = random_values(cols, 3);
    const DeviceBuffer dw = upload(packed), dx = upload(x), dids = upload(ids);
    DeviceBuffer dy(k * rows * sizeof(float), "y");
    launch_gemv({dw.at(), DType::bf16, rows, cols}, {dids.at<int>(), stride}, dx.at<float>(), cols,
                k, k, dy.at<float>(), rows, nullptr);
    const std::vector<float> y = download(dy, k * rows);
    for (int s = 0; s < k; ++s) {
      std::vector<float> expected(rows);
      cpu::matvec(each[ids[s]].view, x.data(), expected.data());
      QVERIFY(relative_error({y.begin() + s * rows, y.begin() + (s + 1) * rows}, expected) < 1e-5);
    }
  }

  void gemm_matches_matvec_rows_data() { add_dtype_size_rows(); }
  void gemm_matches_matvec_rows() {
    QFETCH(int, dtype);
    QFETCH(int, rows);
    QFETCH(int, cols);
    const int n = 9;
    const Weights w = make_weights(DType(dtype), rows, cols, 4);
    const std::vector<float> x = random_values(std::size_t(n) * cols, 5);
    const DeviceBuffer dw = upload(w.bytes), dx = upload(x);
    DeviceBuffer dy(std::size_t(n) * rows * sizeof(float), "y");
    DeviceBuffer widened(std::size_t(1 << 20) * sizeof(float), "widened"), ws(32 << 20, "ws");
    Gemm gemm(nullptr, widened.at<float>(), 1 << 20, ws.at(), ws.bytes());
    gemm.run({dw.at(), DType(dtype), rows, cols}, dx.at<float>(), n, dy.at<float>());
    const std::vector<float> y = download(dy, std::size_t(n) * rows);
    for (int t = 0; t < n; ++t) {
      std::vector<float> expected(rows);
      cpu::matvec(w.view, x.data() + std::size_t(t) * cols, expected.data());
      QVERIFY(
          relative_error({y.begin() + std::size_t(t) * rows, y.begin() + std::size_t(t + 1) * rows},
                         expected) < 1e-5);
    }
  }

  void grouping_on_the_device_matches_the_host_data() {
    QTest::addColumn<int>("tokens");
    QTest::addColumn<int>("k");
    QTest::addColumn<int>("experts");
    QTest::newRow("256 tokens, 64 experts top-6") << 256 << 6 << 64;
    QTest::newRow("40 tokens, 8 experts top-2") << 40 << 2 << 8;
    QTest::newRow("3 tokens, 256 experts top-8") << 3 << 8 << 256;
  }
  void grouping_on_the_device_matches_the_host() {
    QFETCH(int, tokens);
    QFETCH(int, k);
    QFETCH(int, experts);
    const int slot_count = tokens * k;
    const std::vector<int> ids = random_choice(tokens, k, experts, 20);
    const cuda_plan::ExpertGroups want = cuda_plan::group_by_expert(ids, k, experts);
    const DeviceBuffer dids = upload(ids);
    const GroupsOnDevice got(dids, slot_count, k, experts);
    const int placed = want.offsets.back();
    const auto table = download<int>(got.tiles, got.tiles.bytes() / sizeof(int));
    QCOMPARE(std::vector<int>(table.begin(), table.begin() + experts + 1), want.offsets);
    QCOMPARE(std::vector<int>(table.begin() + experts + 1, table.end()), want.tiles);
    const auto index = download<int>(got.index, 2 * std::size_t(slot_count));
    // Each expert's slot_count, in any order; every token read is its slot's.
    for (int e = 0; e < experts; ++e) {
      std::vector<int> a(index.begin() + want.offsets[e], index.begin() + want.offsets[e + 1]);
      std::sort(a.begin(), a.end());
      QCOMPARE(a, std::vector<int>(want.sorted_slots.begin() + want.offsets[e],
                                   want.sorted_slots.begin() + want.offsets[e + 1]));
    }
    for (int p = 0; p < placed; ++p) QCOMPARE(index[slot_count + p], index[p] / k);
  }

  void grouped_gemm_matches_matvec_data() {
    QTest::addColumn<int>("dtype");
    QTest::addColumn<int>("rows");
    QTest::addColumn<int>("cols");
    const std::pair<int, int> shapes[] = {{1408, 2048}, {2048, 1408}, {97, 100}, {30, 7}};
    for (DType d : {DType::f32, DType::f16, DType::bf16})
      for (auto [rows, cols] : shapes)
        QTest::addRow("%s %dx%d", std::string(dtype_name(d)).c_str(), rows, cols)
            << int(d) << rows << cols;
  }
  // 150 tokens over 8 experts, top-2: groups of several tiles, a partial last tile and an
  // empty expert; inputs gathered by token, outputs scattered to slot_count as prefill does.
  void grouped_gemm_matches_matvec() {
    QFETCH(int, dtype);
    QFETCH(int, rows);
    QFETCH(int, cols);
    const int tokens = 150, k = 2, experts = 8, slot_count = tokens * k;
    std::vector<Weights> each;
    for (int e = 0; e < experts; ++e)
      each.push_back(make_weights(DType(dtype), rows, cols, 30 + e));
    const std::size_t stride = (each[0].bytes.size() + 255) / 256 * 256;
    std::vector<std::uint8_t> packed(stride * experts);
    for (int e = 0; e < experts; ++e)
      std::memcpy(packed.data() + e * stride, each[e].bytes.data(), each[e].bytes.size());
    const std::vector<int> ids = random_choice(tokens, k, experts, 21);
    const std::vector<float> x = random_values(std::size_t(tokens) * cols, 22);
    const DeviceBuffer dw = upload(packed), dx = upload(x), dids = upload(ids);
    const GroupsOnDevice g(dids, slot_count, k, experts);
    DeviceBuffer dy(std::size_t(slot_count) * rows * sizeof(float), "y");
    check_cuda(cudaMemset(dy.at(), 0, dy.bytes()), "clear");
    launch_grouped_gemm(
        {dw.at(), DType(dtype), rows, cols}, stride, g.groups, slot_count, experts,
        {dx.at<float>(), cols, g.groups.source_tokens, dy.at<float>(), rows, g.groups.sorted_slots},
        nullptr);
    const std::vector<float> y = download(dy, std::size_t(slot_count) * rows);
    std::vector<float> expected(rows);
    for (int s = 0; s < slot_count; ++s) {
      const std::vector<float> got(y.begin() + std::size_t(s) * rows,
                                   y.begin() + std::size_t(s + 1) * rows);
      if (ids[s] < 0) {
        QCOMPARE(got, std::vector<float>(rows, 0.0f));  // an empty slot is not written
        continue;
      }
      cpu::matvec(each[ids[s]].view, x.data() + std::size_t(s / k) * cols, expected.data());
      QVERIFY(relative_error(got, expected) < 1e-5);
    }
  }

  void rmsnorm_matches_data() {
    QTest::addColumn<int>("n");
    for (int n : {2048, 128, 100, 7}) QTest::addRow("%d", n) << n;
  }
  void rmsnorm_matches() {
    QFETCH(int, n);
    const int rows = 3;
    const std::vector<float> x = random_values(std::size_t(rows) * n, 6), w = random_values(n, 7);
    std::vector<float> expected(x.size());
    for (int r = 0; r < rows; ++r) cpu::rmsnorm(&expected[r * n], &x[r * n], w.data(), n, 1e-6f);
    const DeviceBuffer dx = upload(x), dw = upload(w);
    launch_rmsnorm(dx.at<float>(), dx.at<float>(), dw.at<float>(), rows, n, 1e-6f, nullptr);
    QVERIFY(relative_error(download(dx, x.size()), expected) < 1e-6);
  }

  void rope_matches_at_device_positions() {
    const int rows = 5, heads = 4, head_dim = 128, pos0 = 1000;
    const float factor = 4.0f, theta = 500000.0f;
    const std::vector<float> v = random_values(std::size_t(rows) * heads * head_dim, 8);
    std::vector<float> expected = v;
    for (int r = 0; r < rows; ++r)
      cpu::rope(&expected[std::size_t(r) * heads * head_dim], heads, head_dim,
                float(pos0 + r) / factor, theta);
    const DeviceBuffer dv = upload(v), dpos = upload(std::vector<int>{pos0});
    launch_rope(dv.at<float>(), rows, heads, head_dim, dpos.at<int>(), factor, theta, nullptr);
    QVERIFY(relative_error(download(dv, v.size()), expected) < 1e-6);
  }

  void attention_matches_data() {
    QTest::addColumn<int>("heads");
    QTest::addColumn<int>("kv_heads");
    QTest::addColumn<int>("head_dim");
    QTest::addColumn<int>("pos0");
    QTest::addColumn<int>("rows");
    QTest::newRow("decode 16x128 at 700") << 16 << 16 << 128 << 700 << 1;
    QTest::newRow("GQA prefill 4/2x16") << 4 << 2 << 16 << 0 << 9;
    QTest::newRow("GQA decode 8/2x64 at 3") << 8 << 2 << 64 << 3 << 1;
    QTest::newRow("head_dim 200, prefill after 5") << 2 << 1 << 200 << 5 << 4;
  }
  void attention_matches() {
    QFETCH(int, heads);
    QFETCH(int, kv_heads);
    QFETCH(int, head_dim);
    QFETCH(int, pos0);
    QFETCH(int, rows);
    const int capacity = pos0 + rows + 3, kv_dim = kv_heads * head_dim, q_dim = heads * head_dim;
    const std::vector<float> q = random_values(std::size_t(rows) * q_dim, 9);
    const std::vector<float> k = random_values(std::size_t(capacity) * kv_dim, 10);
    const std::vector<float> v = random_values(std::size_t(capacity) * kv_dim, 11);
    std::vector<float> expected(std::size_t(rows) * q_dim);
    std::vector<float> scratch(std::size_t(heads) * capacity);
    for (int r = 0; r < rows; ++r)
      cpu::attention(&expected[std::size_t(r) * q_dim], &q[std::size_t(r) * q_dim], k.data(),
                     v.data(), pos0 + r + 1, heads, kv_heads, head_dim, scratch.data());
    const DeviceBuffer dq = upload(q), dk = upload(k), dv = upload(v);
    const DeviceBuffer dpos = upload(std::vector<int>{pos0});
    DeviceBuffer out(expected.size() * sizeof(float), "out");
    launch_attention(out.at<float>(), dq.at<float>(), dk.at<float>(), dv.at<float>(), rows,
                     dpos.at<int>(), capacity, heads, kv_heads, head_dim, nullptr);
    QVERIFY(relative_error(download(out, expected.size()), expected) < 1e-5);
  }

  void silu_mul_and_embedding() {
    const std::vector<float> g = random_values(1000, 12), u = random_values(1000, 13);
    std::vector<float> expected = g;
    cpu::silu_mul(expected.data(), u.data(), 1000);
    const DeviceBuffer dg = upload(g), du = upload(u);
    launch_silu_mul(dg.at<float>(), du.at<float>(), 1000, nullptr);
    QVERIFY(relative_error(download(dg, 1000), expected) < 1e-6);

    const Weights table = make_weights(DType::f16, 97, 100, 14);
    const std::vector<int> ids{96, 0, 41};
    const DeviceBuffer dt = upload(table.bytes), dids = upload(ids);
    DeviceBuffer out(3 * 100 * sizeof(float), "out");
    launch_embedding({dt.at(), DType::f16, 97, 100}, dids.at<int>(), 3, out.at<float>(), nullptr);
    const std::vector<float> got = download(out, 300);
    std::vector<float> row(100);
    for (int i = 0; i < 3; ++i) {
      widen(table.view, std::int64_t(ids[i]) * 100, 100, row.data());
      QCOMPARE(std::vector<float>(got.begin() + i * 100, got.begin() + (i + 1) * 100), row);
    }
  }

  void router_matches_the_cpu_rule_data() {
    QTest::addColumn<int>("experts");
    QTest::addColumn<int>("k");
    QTest::addColumn<int>("k_default");
    QTest::addColumn<bool>("masked");
    QTest::addColumn<int>("top_out");
    QTest::addColumn<bool>("normalize");
    QTest::addColumn<bool>("ties");
    QTest::newRow("64 top-6") << 64 << 6 << 6 << false << 0 << false << false;
    QTest::newRow("16 top-2 norm, masked") << 16 << 2 << 2 << true << 0 << true << false;
    QTest::newRow("8 top-1 override") << 8 << 1 << 2 << false << 0 << true << false;
    QTest::newRow("60 top-8 ties") << 60 << 8 << 4 << true << 0 << false << true;
    QTest::newRow("64 top-6, 2 best out of reach") << 64 << 6 << 6 << false << 2 << false << false;
    QTest::newRow("8 top-8 all") << 8 << 8 << 2 << false << 0 << true << true;
  }
  void router_matches_the_cpu_rule() {
    QFETCH(int, experts);
    QFETCH(int, k);
    QFETCH(int, k_default);
    QFETCH(bool, masked);
    QFETCH(int, top_out);
    QFETCH(bool, normalize);
    QFETCH(bool, ties);
    const int rows = 37;
    std::vector<float> logits = random_values(std::size_t(rows) * experts, 15);
    if (ties)  // equal logits, hence equal scores: the lower id must win
      for (int r = 0; r < rows; ++r)
        for (int e = 1; e < experts; e += 2) logits[r * experts + e] = logits[r * experts + e - 1];
    Interventions iv;
    if (masked) iv.disabled_experts = {{0, 1}, {0, experts - 1}};
    iv.disable_top_scoring = top_out;
    if (k != k_default) iv.top_k = k;
    cuda_plan::RouteParams p{experts, k, k_default, top_out, k != k_default, normalize};
    std::vector<std::uint8_t> mask(experts, 0);
    for (auto [l, e] : iv.disabled_experts) mask[e] = 1;

    const cuda_plan::RecordLayout layout = p.record();
    const DeviceBuffer dl = upload(logits), dmask = upload(mask);
    DeviceBuffer records(std::size_t(rows) * layout.words() * 4, "records");
    DeviceBuffer ids(std::size_t(rows) * k * 4, "ids"), weights(std::size_t(rows) * k * 4, "w");
    launch_route(dl.at<float>(), rows, dmask.at<std::uint8_t>(), p, records.at<std::uint32_t>(),
                 layout.words(), ids.at<int>(), weights.at<float>(), nullptr);
    const auto rec = download<std::uint32_t>(records, std::size_t(rows) * layout.words());
    const auto got_ids = download<int>(ids, std::size_t(rows) * k);
    for (int r = 0; r < rows; ++r) {
      std::vector<float> scores(logits.begin() + r * experts, logits.begin() + (r + 1) * experts);
      cpu::softmax(scores.data(), experts);
      const std::vector<bool> allowed = iv.selectable(0, scores);
      const std::vector<int> want = top_k(scores, k, allowed);
      const std::uint32_t* rr = rec.data() + std::size_t(r) * layout.words();
      std::vector<float> got_scores(experts);
      std::memcpy(got_scores.data(), rr, experts * 4);
      QVERIFY(relative_error(got_scores, scores) < 1e-6);
      QCOMPARE(std::vector<int>(got_ids.begin() + r * k, got_ids.begin() + (r + 1) * k), want);
      float sum = 0;
      for (int id : want) sum += scores[id];
      for (int j = 0; j < k; ++j) {
        float w;
        std::memcpy(&w, rr + layout.weights() + j, 4);
        const float expected = normalize ? scores[want[j]] / (sum + 1e-20f) : scores[want[j]];
        QVERIFY(std::abs(w - expected) <= 1e-6f);
      }
      std::vector<int> a = want, b = top_k(scores, k_default, {});
      std::sort(a.begin(), a.end());
      std::sort(b.begin(), b.end());
      const bool changed = (!allowed.empty() || iv.top_k) && a != b;
      QCOMPARE(rr[layout.mask_changed()] != 0, changed);
    }
  }
};

MOESCOPE_GPU_TEST_MAIN(TestCudaOps)
#include "test_cuda_ops.moc"
