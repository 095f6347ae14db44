// Names accepted by the libxl cpuid form. Bit positions are the architectural ones (Intel SDM
// vol. 2A and AMD APM vol. 3, CPUID); names follow xl.cfg(5): Xen's cpufeatureset.h spelling in
// lowercase with '-', plus the older libxl aliases still found in configs.
#include <array>

#include "config/cpuid_spec.h"

namespace xkvm::config {

namespace {

using R = CpuidReg;
constexpr uint32_t N = kNoSubleaf;

constexpr std::array kFlags = std::to_array<CpuidFlag>({
    // Numeric fields.
    { "maxleaf", 0x0, N, R::Eax, 0, 32 },
    { "stepping", 0x1, N, R::Eax, 0, 4 },
    { "model", 0x1, N, R::Eax, 4, 8 },   // split into base/extended model
    { "family", 0x1, N, R::Eax, 8, 8 },  // split into base/extended family
    { "brandid", 0x1, N, R::Ebx, 0, 8 },
    { "clflush", 0x1, N, R::Ebx, 8, 8 },
    { "proccount", 0x1, N, R::Ebx, 16, 8 },
    { "localapicid", 0x1, N, R::Ebx, 24, 8 },
    { "procpkg", 0x4, 0, R::Eax, 26, 6 },
    { "nc", 0x80000008, N, R::Ecx, 0, 8 },
    { "apicidsize", 0x80000008, N, R::Ecx, 12, 4 },
    { "maxhvleaf", 0x40000000, N, R::Eax, 0, 8 },

    // Leaf 1 ECX.
    { "sse3", 0x1, N, R::Ecx, 0, 1 },
    { "pclmulqdq", 0x1, N, R::Ecx, 1, 1 },
    { "dtes64", 0x1, N, R::Ecx, 2, 1 },
    { "monitor", 0x1, N, R::Ecx, 3, 1 },
    { "ds-cpl", 0x1, N, R::Ecx, 4, 1 },
    { "dscpl", 0x1, N, R::Ecx, 4, 1 },
    { "vmx", 0x1, N, R::Ecx, 5, 1 },
    { "smx", 0x1, N, R::Ecx, 6, 1 },
    { "eist", 0x1, N, R::Ecx, 7, 1 },
    { "est", 0x1, N, R::Ecx, 7, 1 },
    { "tm2", 0x1, N, R::Ecx, 8, 1 },
    { "ssse3", 0x1, N, R::Ecx, 9, 1 },
    { "cnxt-id", 0x1, N, R::Ecx, 10, 1 },
    { "cntxid", 0x1, N, R::Ecx, 10, 1 },
    { "sdbg", 0x1, N, R::Ecx, 11, 1 },
    { "fma", 0x1, N, R::Ecx, 12, 1 },
    { "cx16", 0x1, N, R::Ecx, 13, 1 },
    { "cmpxchg16", 0x1, N, R::Ecx, 13, 1 },
    { "xtpr", 0x1, N, R::Ecx, 14, 1 },
    { "pdcm", 0x1, N, R::Ecx, 15, 1 },
    { "pcid", 0x1, N, R::Ecx, 17, 1 },
    { "dca", 0x1, N, R::Ecx, 18, 1 },
    { "sse4-1", 0x1, N, R::Ecx, 19, 1 },
    { "sse4_1", 0x1, N, R::Ecx, 19, 1 },
    { "sse4.1", 0x1, N, R::Ecx, 19, 1 },
    { "sse4-2", 0x1, N, R::Ecx, 20, 1 },
    { "sse4_2", 0x1, N, R::Ecx, 20, 1 },
    { "sse4.2", 0x1, N, R::Ecx, 20, 1 },
    { "x2apic", 0x1, N, R::Ecx, 21, 1 },
    { "movbe", 0x1, N, R::Ecx, 22, 1 },
    { "popcnt", 0x1, N, R::Ecx, 23, 1 },
    { "tsc-deadline", 0x1, N, R::Ecx, 24, 1 },
    { "aesni", 0x1, N, R::Ecx, 25, 1 },
    { "aes", 0x1, N, R::Ecx, 25, 1 },
    { "xsave", 0x1, N, R::Ecx, 26, 1 },
    { "osxsave", 0x1, N, R::Ecx, 27, 1 },
    { "avx", 0x1, N, R::Ecx, 28, 1 },
    { "f16c", 0x1, N, R::Ecx, 29, 1 },
    { "rdrand", 0x1, N, R::Ecx, 30, 1 },
    { "hypervisor", 0x1, N, R::Ecx, 31, 1 },

    // Leaf 1 EDX.
    { "fpu", 0x1, N, R::Edx, 0, 1 },
    { "vme", 0x1, N, R::Edx, 1, 1 },
    { "de", 0x1, N, R::Edx, 2, 1 },
    { "pse", 0x1, N, R::Edx, 3, 1 },
    { "tsc", 0x1, N, R::Edx, 4, 1 },
    { "msr", 0x1, N, R::Edx, 5, 1 },
    { "pae", 0x1, N, R::Edx, 6, 1 },
    { "mce", 0x1, N, R::Edx, 7, 1 },
    { "cx8", 0x1, N, R::Edx, 8, 1 },
    { "cmpxchg8", 0x1, N, R::Edx, 8, 1 },
    { "apic", 0x1, N, R::Edx, 9, 1 },
    { "sep", 0x1, N, R::Edx, 11, 1 },
    { "sysenter", 0x1, N, R::Edx, 11, 1 },
    { "mtrr", 0x1, N, R::Edx, 12, 1 },
    { "pge", 0x1, N, R::Edx, 13, 1 },
    { "mca", 0x1, N, R::Edx, 14, 1 },
    { "cmov", 0x1, N, R::Edx, 15, 1 },
    { "pat", 0x1, N, R::Edx, 16, 1 },
    { "pse36", 0x1, N, R::Edx, 17, 1 },
    { "psn", 0x1, N, R::Edx, 18, 1 },
    { "clfsh", 0x1, N, R::Edx, 19, 1 },
    { "ds", 0x1, N, R::Edx, 21, 1 },
    { "acpi", 0x1, N, R::Edx, 22, 1 },
    { "mmx", 0x1, N, R::Edx, 23, 1 },
    { "fxsr", 0x1, N, R::Edx, 24, 1 },
    { "sse", 0x1, N, R::Edx, 25, 1 },
    { "sse2", 0x1, N, R::Edx, 26, 1 },
    { "ss", 0x1, N, R::Edx, 27, 1 },
    { "htt", 0x1, N, R::Edx, 28, 1 },
    { "tm1", 0x1, N, R::Edx, 29, 1 },
    { "tm", 0x1, N, R::Edx, 29, 1 },
    { "ia64", 0x1, N, R::Edx, 30, 1 },
    { "pbe", 0x1, N, R::Edx, 31, 1 },

    // Leaf 6 EAX.
    { "arat", 0x6, N, R::Eax, 2, 1 },

    // Leaf 7 subleaf 0 EBX.
    { "fsgsbase", 0x7, 0, R::Ebx, 0, 1 },
    { "tsc-adjust", 0x7, 0, R::Ebx, 1, 1 },
    { "tsc_adjust", 0x7, 0, R::Ebx, 1, 1 },
    { "sgx", 0x7, 0, R::Ebx, 2, 1 },
    { "bmi1", 0x7, 0, R::Ebx, 3, 1 },
    { "hle", 0x7, 0, R::Ebx, 4, 1 },
    { "avx2", 0x7, 0, R::Ebx, 5, 1 },
    { "smep", 0x7, 0, R::Ebx, 7, 1 },
    { "bmi2", 0x7, 0, R::Ebx, 8, 1 },
    { "erms", 0x7, 0, R::Ebx, 9, 1 },
    { "invpcid", 0x7, 0, R::Ebx, 10, 1 },
    { "rtm", 0x7, 0, R::Ebx, 11, 1 },
    { "pqm", 0x7, 0, R::Ebx, 12, 1 },
    { "cmt", 0x7, 0, R::Ebx, 12, 1 },
    { "mpx", 0x7, 0, R::Ebx, 14, 1 },
    { "pqe", 0x7, 0, R::Ebx, 15, 1 },
    { "avx512f", 0x7, 0, R::Ebx, 16, 1 },
    { "avx512dq", 0x7, 0, R::Ebx, 17, 1 },
    { "rdseed", 0x7, 0, R::Ebx, 18, 1 },
    { "adx", 0x7, 0, R::Ebx, 19, 1 },
    { "smap", 0x7, 0, R::Ebx, 20, 1 },
    { "avx512-ifma", 0x7, 0, R::Ebx, 21, 1 },
    { "clflushopt", 0x7, 0, R::Ebx, 23, 1 },
    { "clwb", 0x7, 0, R::Ebx, 24, 1 },
    { "proc-trace", 0x7, 0, R::Ebx, 25, 1 },
    { "avx512pf", 0x7, 0, R::Ebx, 26, 1 },
    { "avx512er", 0x7, 0, R::Ebx, 27, 1 },
    { "avx512cd", 0x7, 0, R::Ebx, 28, 1 },
    { "sha", 0x7, 0, R::Ebx, 29, 1 },
    { "avx512bw", 0x7, 0, R::Ebx, 30, 1 },
    { "avx512vl", 0x7, 0, R::Ebx, 31, 1 },

    // Leaf 7 subleaf 0 ECX.
    { "prefetchwt1", 0x7, 0, R::Ecx, 0, 1 },
    { "avx512-vbmi", 0x7, 0, R::Ecx, 1, 1 },
    { "umip", 0x7, 0, R::Ecx, 2, 1 },
    { "pku", 0x7, 0, R::Ecx, 3, 1 },
    { "ospke", 0x7, 0, R::Ecx, 4, 1 },
    { "waitpkg", 0x7, 0, R::Ecx, 5, 1 },
    { "avx512-vbmi2", 0x7, 0, R::Ecx, 6, 1 },
    { "cet-ss", 0x7, 0, R::Ecx, 7, 1 },
    { "gfni", 0x7, 0, R::Ecx, 8, 1 },
    { "vaes", 0x7, 0, R::Ecx, 9, 1 },
    { "vpclmulqdq", 0x7, 0, R::Ecx, 10, 1 },
    { "avx512-vnni", 0x7, 0, R::Ecx, 11, 1 },
    { "avx512-bitalg", 0x7, 0, R::Ecx, 12, 1 },
    { "avx512-vpopcntdq", 0x7, 0, R::Ecx, 14, 1 },
    { "la57", 0x7, 0, R::Ecx, 16, 1 },
    { "rdpid", 0x7, 0, R::Ecx, 22, 1 },
    { "cldemote", 0x7, 0, R::Ecx, 25, 1 },
    { "movdiri", 0x7, 0, R::Ecx, 27, 1 },
    { "movdir64b", 0x7, 0, R::Ecx, 28, 1 },
    { "enqcmd", 0x7, 0, R::Ecx, 29, 1 },
    { "pks", 0x7, 0, R::Ecx, 31, 1 },

    // Leaf 7 subleaf 0 EDX.
    { "avx512-4vnniw", 0x7, 0, R::Edx, 2, 1 },
    { "avx512-4fmaps", 0x7, 0, R::Edx, 3, 1 },
    { "fsrm", 0x7, 0, R::Edx, 4, 1 },
    { "avx512-vp2intersect", 0x7, 0, R::Edx, 8, 1 },
    { "srbds-ctrl", 0x7, 0, R::Edx, 9, 1 },
    { "md-clear", 0x7, 0, R::Edx, 10, 1 },
    { "rtm-always-abort", 0x7, 0, R::Edx, 11, 1 },
    { "tsx-force-abort", 0x7, 0, R::Edx, 13, 1 },
    { "serialize", 0x7, 0, R::Edx, 14, 1 },
    { "hybrid", 0x7, 0, R::Edx, 15, 1 },
    { "tsxldtrk", 0x7, 0, R::Edx, 16, 1 },
    { "arch-lbr", 0x7, 0, R::Edx, 19, 1 },
    { "cet-ibt", 0x7, 0, R::Edx, 20, 1 },
    { "amx-bf16", 0x7, 0, R::Edx, 22, 1 },
    { "avx512-fp16", 0x7, 0, R::Edx, 23, 1 },
    { "amx-tile", 0x7, 0, R::Edx, 24, 1 },
    { "amx-int8", 0x7, 0, R::Edx, 25, 1 },
    { "ibrsb", 0x7, 0, R::Edx, 26, 1 },
    { "stibp", 0x7, 0, R::Edx, 27, 1 },
    { "l1d-flush", 0x7, 0, R::Edx, 28, 1 },
    { "arch-caps", 0x7, 0, R::Edx, 29, 1 },
    { "core-caps", 0x7, 0, R::Edx, 30, 1 },
    { "ssbd", 0x7, 0, R::Edx, 31, 1 },

    // Leaf 7 subleaf 1 EAX.
    { "avx-vnni", 0x7, 1, R::Eax, 4, 1 },
    { "avx512-bf16", 0x7, 1, R::Eax, 5, 1 },
    { "fzrm", 0x7, 1, R::Eax, 10, 1 },
    { "fsrs", 0x7, 1, R::Eax, 11, 1 },
    { "fsrcs", 0x7, 1, R::Eax, 12, 1 },

    // Leaf 0x80000001 ECX.
    { "lahf-lm", 0x80000001, N, R::Ecx, 0, 1 },
    { "lahfsahf", 0x80000001, N, R::Ecx, 0, 1 },
    { "cmp-legacy", 0x80000001, N, R::Ecx, 1, 1 },
    { "cmplegacy", 0x80000001, N, R::Ecx, 1, 1 },
    { "svm", 0x80000001, N, R::Ecx, 2, 1 },
    { "extapic", 0x80000001, N, R::Ecx, 3, 1 },
    { "cr8-legacy", 0x80000001, N, R::Ecx, 4, 1 },
    { "altmovcr8", 0x80000001, N, R::Ecx, 4, 1 },
    { "abm", 0x80000001, N, R::Ecx, 5, 1 },
    { "sse4a", 0x80000001, N, R::Ecx, 6, 1 },
    { "misalignsse", 0x80000001, N, R::Ecx, 7, 1 },
    { "3dnowprefetch", 0x80000001, N, R::Ecx, 8, 1 },
    { "osvw", 0x80000001, N, R::Ecx, 9, 1 },
    { "ibs", 0x80000001, N, R::Ecx, 10, 1 },
    { "xop", 0x80000001, N, R::Ecx, 11, 1 },
    { "skinit", 0x80000001, N, R::Ecx, 12, 1 },
    { "wdt", 0x80000001, N, R::Ecx, 13, 1 },
    { "lwp", 0x80000001, N, R::Ecx, 15, 1 },
    { "fma4", 0x80000001, N, R::Ecx, 16, 1 },
    { "nodeid", 0x80000001, N, R::Ecx, 19, 1 },
    { "tbm", 0x80000001, N, R::Ecx, 21, 1 },
    { "topoext", 0x80000001, N, R::Ecx, 22, 1 },
    { "perfctr-core", 0x80000001, N, R::Ecx, 23, 1 },
    { "perfctr_core", 0x80000001, N, R::Ecx, 23, 1 },
    { "perfctr-nb", 0x80000001, N, R::Ecx, 24, 1 },
    { "perfctr_nb", 0x80000001, N, R::Ecx, 24, 1 },

    // Leaf 0x80000001 EDX.
    { "syscall", 0x80000001, N, R::Edx, 11, 1 },
    { "nx", 0x80000001, N, R::Edx, 20, 1 },
    { "mmxext", 0x80000001, N, R::Edx, 22, 1 },
    { "ffxsr", 0x80000001, N, R::Edx, 25, 1 },
    { "page1gb", 0x80000001, N, R::Edx, 26, 1 },
    { "rdtscp", 0x80000001, N, R::Edx, 27, 1 },
    { "lm", 0x80000001, N, R::Edx, 29, 1 },
    { "3dnowext", 0x80000001, N, R::Edx, 30, 1 },
    { "3dnow", 0x80000001, N, R::Edx, 31, 1 },

    // Leaf 0x80000007 EDX and 0x80000008 EBX.
    { "itsc", 0x80000007, N, R::Edx, 8, 1 },
    { "invtsc", 0x80000007, N, R::Edx, 8, 1 },
    { "clzero", 0x80000008, N, R::Ebx, 0, 1 },
    { "wbnoinvd", 0x80000008, N, R::Ebx, 9, 1 },
    { "ibpb", 0x80000008, N, R::Ebx, 12, 1 },
    { "ibrs", 0x80000008, N, R::Ebx, 14, 1 },
    { "amd-stibp", 0x80000008, N, R::Ebx, 15, 1 },
    { "amd-ssbd", 0x80000008, N, R::Ebx, 24, 1 },
    { "virt-ssbd", 0x80000008, N, R::Ebx, 25, 1 },
    { "ssb-no", 0x80000008, N, R::Ebx, 26, 1 },

    // Leaf 0x8000000a EDX (SVM features).
    { "svm_npt", 0x8000000a, N, R::Edx, 0, 1 },
    { "svm_lbrv", 0x8000000a, N, R::Edx, 1, 1 },
    { "svm_nrips", 0x8000000a, N, R::Edx, 3, 1 },
    { "svm_tscrate", 0x8000000a, N, R::Edx, 4, 1 },
    { "svm_vmcbclean", 0x8000000a, N, R::Edx, 5, 1 },
    { "svm_decode", 0x8000000a, N, R::Edx, 7, 1 },
    { "svm_pausefilt", 0x8000000a, N, R::Edx, 10, 1 },
});

} // namespace

const CpuidFlag* find_cpuid_flag(std::string_view name)
{
    for (const auto& f : kFlags)
        if (name == f.name)
            return &f;
    return nullptr;
}

} // namespace xkvm::config
