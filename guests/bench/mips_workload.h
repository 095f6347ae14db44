/* The mips_bench workload: integer C of the kinds a kernel runs (sorting, CRC, formatting, linked
 * lists), deterministic for a given iteration count, so that its instruction count measured once on
 * the emulated CPU holds on every backend (see mips_bench.c). */
#pragma once
#include "guest/base.h"

/* Runs `iterations` rounds of all kernels; returns a checksum of everything they produced, which is
 * the same on every backend (the host harness compares it). Callable at CPL3: no I/O, no
 * privileged instructions, no string instructions (`rep movs`/`stos` count as one instruction on
 * the emulated CPU, which would flatter its count), and no calls into the library. */
uint64_t mips_workload_run(uint32_t iterations);
