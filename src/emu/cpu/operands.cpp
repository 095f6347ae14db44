// Operand access for handlers: registers with x86's partial-write rules, effective addresses,
// the stack.
#include "emu/cpu/cpu_impl.h"

namespace xkvm::emu {

uint64_t CpuImpl::sp_mask() const { return size_mask(stack_size()); }

void CpuImpl::push(uint64_t v, unsigned size)
{
    uint64_t mask = sp_mask();
    uint64_t sp = (st.gpr[x86::Rsp] - size) & mask;
    write_mem(SegSs, sp, size, v);
    st.gpr[x86::Rsp] = (st.gpr[x86::Rsp] & ~mask) | sp;
}

uint64_t CpuImpl::pop(unsigned size)
{
    uint64_t mask = sp_mask();
    uint64_t sp = st.gpr[x86::Rsp] & mask;
    uint64_t v = read_mem(SegSs, sp, size);
    st.gpr[x86::Rsp] = (st.gpr[x86::Rsp] & ~mask) | ((sp + size) & mask);
    return v;
}

} // namespace xkvm::emu
