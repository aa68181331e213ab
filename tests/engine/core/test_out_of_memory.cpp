// A file too large for memory is an EngineError naming it, not a std::bad_alloc
// that escapes as "unexpected error". Memory runs out on demand here: this suite
// replaces the global operator new with one that refuses requests above a limit
// the test sets (not under AddressSanitizer, which owns operator new).
#include <QTemporaryDir>
#include <QTest>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <new>
#include <string>

#include "core/json.h"
#include "core/text_file.h"
#include "io/snapshot.h"
#include "support/expect_error.h"

using namespace moescope;
namespace fs = std::filesystem;

namespace {
std::atomic<std::size_t> largest_allocation{std::numeric_limits<std::size_t>::max()};

// While it lives, no single allocation may exceed `bytes`: the machine "has" less
// memory than the file needs.
struct MemoryLimit {
  explicit MemoryLimit(std::size_t bytes) { largest_allocation = bytes; }
  ~MemoryLimit() { largest_allocation = std::numeric_limits<std::size_t>::max(); }
};
}  // namespace

#if defined(__SANITIZE_ADDRESS__)
constexpr bool own_operator_new = false;
#else
constexpr bool own_operator_new = true;

static void* allocate(std::size_t size) {
  if (size > largest_allocation.load(std::memory_order_relaxed)) throw std::bad_alloc();
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}

void* operator new(std::size_t size) {
  return allocate(size);
}
void* operator new[](std::size_t size) {
  return allocate(size);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
#endif

class TestOutOfMemory : public QObject {
  Q_OBJECT

  QTemporaryDir dir_;

  // A file of about 4 MiB: a JSON object whose "text" is one long string.
  fs::path big_json(const std::string& name) {
    const fs::path path = fs::path(dir_.path().toStdString()) / name;
    std::ofstream(path) << "{\"version\": 1, \"text\": \"" << std::string(4 << 20, 'x') << "\"}";
    return path;
  }

 private slots:
  void init() {
    if (!own_operator_new) QSKIP("AddressSanitizer owns operator new");
  }

  void reading_a_file_too_large() {
    const fs::path path = big_json("big.json");
    const MemoryLimit limit(1 << 20);
    QVERIFY_CONTAINS(engine_error_of([&] { read_text_file(path); }),
                     QString::fromStdString(path.string()) + ": too large to read into memory");
  }

  void parsing_a_document_too_large() {
    const std::string text = "{\"a\": 1, \"text\": \"" + std::string(4 << 20, 'x') + "\"}";
    const MemoryLimit limit(1 << 20);
    QVERIFY_CONTAINS(engine_error_of([&] { parse_json(text, "doc.json"); }),
                     "doc.json: too large to parse in memory (at text)");
  }

  // Through a reader the app uses: a snapshot too large is refused by name.
  void a_snapshot_too_large() {
    const fs::path path = big_json("snap.json");
    const MemoryLimit limit(1 << 20);
    QVERIFY_CONTAINS(engine_error_of([&] { read_snapshot(path); }),
                     QString::fromStdString(path.string()) + ": too large to read into memory");
  }

  // The limit is what failed: without it the same calls read the file.
  void without_the_limit_they_succeed() {
    const fs::path path = big_json("fine.json");
    QCOMPARE(read_json_file(path).at("text").get<std::string>().size(), std::size_t(4 << 20));
  }
};

QTEST_GUILESS_MAIN(TestOutOfMemory)
#include "test_out_of_memory.moc"
