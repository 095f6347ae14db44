// Read-modify-write of an instruction's first operand. With LOCK (and for XCHG, always) a RAM
// operand within one page is updated with a host `lock cmpxchg` loop: other vCPU threads and VMM
// threads write the same guest pages. Inline asm rather than __atomic builtins because guest
// operands may be misaligned, which x86's locked instructions allow.
#pragma once

#include "emu/cpu/cpu_impl.h"

namespace xkvm::emu {

template<typename T> inline bool host_cas(uint8_t* p, T& expected, T desired)
{
    bool ok;
    if constexpr (sizeof(T) == 1)
        asm volatile("lock cmpxchgb %b[d], (%[p])" : "+a"(expected), "=@ccz"(ok) : [p] "r"(p), [d] "q"(desired) : "memory");
    else if constexpr (sizeof(T) == 2)
        asm volatile("lock cmpxchgw %w[d], (%[p])" : "+a"(expected), "=@ccz"(ok) : [p] "r"(p), [d] "r"(desired) : "memory");
    else if constexpr (sizeof(T) == 4)
        asm volatile("lock cmpxchgl %k[d], (%[p])" : "+a"(expected), "=@ccz"(ok) : [p] "r"(p), [d] "r"(desired) : "memory");
    else
        asm volatile("lock cmpxchgq %q[d], (%[p])" : "+a"(expected), "=@ccz"(ok) : [p] "r"(p), [d] "r"(desired) : "memory");
    return ok;
}

template<typename T> inline T host_load(const uint8_t* p)
{
    T v;
    std::memcpy(&v, p, sizeof(T));
    return v;
}

// f(old, rflags&) -> new. Flags are recomputed on every retry of the atomic loop.
template<typename T, typename F> void rmw(CpuImpl& c, const Insn& i, F&& f, bool atomic = false)
{
    if (i.op[0].kind != OpKind::Mem) {
        T nv = f(T(c.get(i, 0)), c.st.rflags);
        c.set(i, 0, nv);
        return;
    }
    uint64_t lin = c.linear(i.mem.seg, c.ea(i), sizeof(T), true);
    if (i.lock || atomic) {
        if (uint8_t* h = c.host_for_rmw(lin, sizeof(T))) {
            uint64_t saved = c.st.rflags;
            T old = host_load<T>(h);
            for (;;) {
                c.st.rflags = saved;
                T nv = f(old, c.st.rflags);
                if (host_cas<T>(h, old, nv))
                    return;
            }
        }
    }
    T old = T(c.read_lin(lin, sizeof(T), kAccWrite));
    T nv = f(old, c.st.rflags);
    c.write_lin(lin, sizeof(T), nv);
}

} // namespace xkvm::emu
