# -march=native, unless the compiler mis-builds code for this CPU. GCC 12.2 (Debian 12)
# with AVX-512 enabled compiles std::vector<double>{2, 2, 0, 0} into four 2s at -O3 (one
# broadcast store), which moescope's own tests caught on an AVX-512 machine. Where the
# probe below fails, AVX-512 is left out: moescope's kernels need AVX2, FMA and F16C only
# (engine/cpu/float_rows_avx512.cpp alone is built for AVX-512 and chosen at run time).
include(CheckCXXSourceRuns)

set(CMAKE_REQUIRED_FLAGS "-O3 -march=native")
check_cxx_source_runs([=[
#include <vector>
__attribute__((noinline)) std::vector<double> twos(int n) {
  std::vector<double> v(n, 0.0);
  v[0] = v[1] = 2.0;
  return v;
}
int main() { return twos(4) == std::vector<double>{2, 2, 0, 0} ? 0 : 1; }
]=] MOESCOPE_NATIVE_BUILDS_CORRECTLY)
unset(CMAKE_REQUIRED_FLAGS)

add_compile_options($<$<COMPILE_LANGUAGE:CXX>:-march=native>)
if(NOT MOESCOPE_NATIVE_BUILDS_CORRECTLY)
  message(STATUS "This compiler mis-builds vector constants with -march=native: "
                 "building without AVX-512 (-mno-avx512f)")
  add_compile_options($<$<COMPILE_LANGUAGE:CXX>:-mno-avx512f>)
endif()
