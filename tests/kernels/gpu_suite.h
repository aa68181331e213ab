#pragma once
// The main of a suite that needs a CUDA device: without one every test skips
// (QSKIP in initTestCase, with the reason) and the suite exits 77, which ctest
// reports as "Skipped" rather than passed.
#include <QCoreApplication>
#include <QTest>

#include "kernels/cuda_device.h"

#define MOESCOPE_GPU_TEST_MAIN(Suite)                                        \
  int main(int argc, char** argv) {                                          \
    QCoreApplication app(argc, argv);                                        \
    Suite suite;                                                             \
    const int failed = QTest::qExec(&suite, argc, argv);                     \
    return failed == 0 && moescope::cuda::device_count() == 0 ? 77 : failed; \
  }

#define MOESCOPE_SKIP_WITHOUT_GPU()                                                  \
  if (moescope::cuda::device_count() == 0)                                           \
  QSKIP(                                                                             \
      "no CUDA device on this machine (cudaGetDeviceCount): the suite compiled and " \
      "linked; it runs on a GPU machine")
