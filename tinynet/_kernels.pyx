# cython: language_level=3
include "_kernel_body.pxi"

SIMD = "baseline"

cdef extern from *:
    """
    /* The x86-64 micro-architecture level this CPU (and OS) supports:
       4 = x86-64-v4 (AVX-512 F/BW/CD/DQ/VL), 3 = x86-64-v3 (AVX2, FMA, BMI,
       F16C), 0 otherwise or on other architectures. */
    static int tn_cpu_level(void) {
    #if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
        __builtin_cpu_init();
        if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")
              && __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2")
              && __builtin_cpu_supports("f16c")))
            return 0;
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
              && __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq")
              && __builtin_cpu_supports("avx512vl"))
            return 4;
        return 3;
    #else
        return 0;
    #endif
    }
    """
    int tn_cpu_level()


def cpu_level():
    """The x86-64 level of this CPU: 4 (AVX-512), 3 (AVX2 + FMA) or 0."""
    return tn_cpu_level()
