// The mnemonic -> handler table, filled once from XKVM_EMU_INSNS.
#include <Zydis/Zydis.h>

#include <array>

#include "emu/cpu/ops.h"

namespace xkvm::emu {

namespace {

using Table = std::array<Handler, ZYDIS_MNEMONIC_MAX_VALUE + 1>;

Table build()
{
    Table t;
    t.fill(&op_ud);
#define XKVM_EMU_FILL(mn, fn) t[ZYDIS_MNEMONIC_##mn] = &fn;
    XKVM_EMU_INSNS(XKVM_EMU_FILL)
#undef XKVM_EMU_FILL
    return t;
}

const Table kTable = build();

} // namespace

Handler handler_for(unsigned mnemonic)
{
    return mnemonic < kTable.size() ? kTable[mnemonic] : &op_ud;
}

void op_ud(CpuImpl& c, const Insn& i)
{
    if (i.fpu)
        op_fpu(c, i);
    c.fault(kUd);
}

void op_fpu(CpuImpl& c, const Insn& i)
{
    if (i.fpu == kFpuX87) {
        if (c.st.cr0 & (kCr0Em | kCr0Ts))
            c.fault(kNm);
    } else {
        if ((c.st.cr0 & kCr0Em) || !(c.st.cr4 & kCr4Osfxsr))
            c.fault(kUd);
        if (c.st.cr0 & kCr0Ts)
            c.fault(kNm);
    }
    c.fault(kUd); // not modelled yet: SSE2 slots in here
}

} // namespace xkvm::emu
