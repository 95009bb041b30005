# cython: language_level=3
# The kernel compiled for x86-64-v3 (see _kernel_body.pxi).
include "_kernel_body.pxi"

SIMD = "x86-64-v3"
