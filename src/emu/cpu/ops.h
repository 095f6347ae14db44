// The instruction handlers and the one table that maps Zydis mnemonics to them. Adding an
// instruction: write the handler, add one X(...) line here.
#pragma once

#include <Zydis/Zydis.h>

#include "emu/cpu/cpu_impl.h"

// X(mnemonic, handler)
#define XKVM_EMU_INSNS(X) \
    X(ADD, op_add) X(OR, op_or) X(ADC, op_adc) X(SBB, op_sbb) X(AND, op_and) X(SUB, op_sub) \
    X(XOR, op_xor) X(CMP, op_cmp) X(TEST, op_test) X(INC, op_inc) X(DEC, op_dec) X(NEG, op_neg) \
    X(NOT, op_not) X(ROL, op_shift) X(ROR, op_shift) X(RCL, op_shift) X(RCR, op_shift) \
    X(SHL, op_shift) X(SHR, op_shift) X(SAR, op_shift) X(SHLD, op_shld) X(SHRD, op_shrd) \
    X(MUL, op_mul) X(IMUL, op_imul) X(DIV, op_div) X(IDIV, op_idiv) \
    X(BT, op_bt) X(BTS, op_bt) X(BTR, op_bt) X(BTC, op_bt) X(BSF, op_bsf) X(BSR, op_bsr) \
    X(POPCNT, op_popcnt) X(LZCNT, op_lzcnt) X(TZCNT, op_tzcnt) X(BSWAP, op_bswap) \
    X(XADD, op_xadd) X(XCHG, op_xchg) X(CMPXCHG, op_cmpxchg) X(CMPXCHG8B, op_cmpxchg8b) \
    X(CMPXCHG16B, op_cmpxchg16b) \
    X(SETO, op_setcc) X(SETNO, op_setcc) X(SETB, op_setcc) X(SETNB, op_setcc) X(SETZ, op_setcc) \
    X(SETNZ, op_setcc) X(SETBE, op_setcc) X(SETNBE, op_setcc) X(SETS, op_setcc) X(SETNS, op_setcc) \
    X(SETP, op_setcc) X(SETNP, op_setcc) X(SETL, op_setcc) X(SETNL, op_setcc) X(SETLE, op_setcc) \
    X(SETNLE, op_setcc) \
    X(CMOVO, op_cmovcc) X(CMOVNO, op_cmovcc) X(CMOVB, op_cmovcc) X(CMOVNB, op_cmovcc) \
    X(CMOVZ, op_cmovcc) X(CMOVNZ, op_cmovcc) X(CMOVBE, op_cmovcc) X(CMOVNBE, op_cmovcc) \
    X(CMOVS, op_cmovcc) X(CMOVNS, op_cmovcc) X(CMOVP, op_cmovcc) X(CMOVNP, op_cmovcc) \
    X(CMOVL, op_cmovcc) X(CMOVNL, op_cmovcc) X(CMOVLE, op_cmovcc) X(CMOVNLE, op_cmovcc) \
    X(DAA, op_daa) X(DAS, op_das) X(AAA, op_aaa) X(AAS, op_aas) X(AAM, op_aam) X(AAD, op_aad) \
    X(CBW, op_cbw) X(CWDE, op_cbw) X(CDQE, op_cbw) X(CWD, op_cwd) X(CDQ, op_cwd) X(CQO, op_cwd) \
    X(LAHF, op_lahf) X(SAHF, op_sahf) X(CLC, op_clc) X(STC, op_stc) X(CMC, op_cmc) \
    X(CLD, op_cld) X(STD, op_std) X(CLI, op_cli) X(STI, op_sti) \
    X(MOV, op_mov) X(MOVZX, op_movzx) X(MOVSX, op_movsx) X(MOVSXD, op_movsx) X(LEA, op_lea) \
    X(PUSH, op_push) X(POP, op_pop) X(PUSHA, op_pusha) X(PUSHAD, op_pusha) X(POPA, op_popa) \
    X(POPAD, op_popa) X(PUSHF, op_pushf) X(PUSHFD, op_pushf) X(PUSHFQ, op_pushf) \
    X(POPF, op_popf) X(POPFD, op_popf) X(POPFQ, op_popf) X(ENTER, op_enter) X(LEAVE, op_leave) \
    X(XLAT, op_xlat) X(LDS, op_lxs) X(LES, op_lxs) X(LFS, op_lxs) X(LGS, op_lxs) X(LSS, op_lxs) \
    X(MOVSB, op_movs) X(MOVSW, op_movs) X(MOVSD, op_movs) X(MOVSQ, op_movs) \
    X(STOSB, op_stos) X(STOSW, op_stos) X(STOSD, op_stos) X(STOSQ, op_stos) \
    X(LODSB, op_lods) X(LODSW, op_lods) X(LODSD, op_lods) X(LODSQ, op_lods) \
    X(CMPSB, op_cmps) X(CMPSW, op_cmps) X(CMPSD, op_cmps) X(CMPSQ, op_cmps) \
    X(SCASB, op_scas) X(SCASW, op_scas) X(SCASD, op_scas) X(SCASQ, op_scas) \
    X(INSB, op_ins) X(INSW, op_ins) X(INSD, op_ins) X(OUTSB, op_outs) X(OUTSW, op_outs) \
    X(OUTSD, op_outs) X(IN, op_in) X(OUT, op_out) \
    X(JMP, op_jmp) X(CALL, op_call) X(RET, op_ret) X(IRET, op_iret) X(IRETD, op_iret) \
    X(IRETQ, op_iret) X(JO, op_jcc) X(JNO, op_jcc) X(JB, op_jcc) X(JNB, op_jcc) X(JZ, op_jcc) \
    X(JNZ, op_jcc) X(JBE, op_jcc) X(JNBE, op_jcc) X(JS, op_jcc) X(JNS, op_jcc) X(JP, op_jcc) \
    X(JNP, op_jcc) X(JL, op_jcc) X(JNL, op_jcc) X(JLE, op_jcc) X(JNLE, op_jcc) \
    X(JCXZ, op_jcxz) X(JECXZ, op_jcxz) X(JRCXZ, op_jcxz) X(LOOP, op_loop) X(LOOPE, op_loop) \
    X(LOOPNE, op_loop) X(INT, op_int) X(INT3, op_int3) X(INTO, op_into) X(INT1, op_int1) \
    X(HLT, op_hlt) X(UD0, op_ud) X(UD1, op_ud) X(UD2, op_ud) \
    X(NOP, op_nop) X(PAUSE, op_nop) X(LFENCE, op_nop) X(MFENCE, op_nop) X(SFENCE, op_nop) \
    X(PREFETCHNTA, op_nop) X(PREFETCHT0, op_nop) X(PREFETCHT1, op_nop) X(PREFETCHT2, op_nop) \
    X(PREFETCHW, op_nop) X(PREFETCH, op_nop) X(ENDBR32, op_nop) X(ENDBR64, op_nop) \
    X(CLFLUSH, op_clflush) X(CLFLUSHOPT, op_clflush) \
    X(CPUID, op_cpuid) X(RDTSC, op_rdtsc) X(RDTSCP, op_rdtscp) X(RDMSR, op_rdmsr) X(WRMSR, op_wrmsr) \
    X(SYSCALL, op_syscall) X(SYSRET, op_sysret) X(SYSENTER, op_sysenter) X(SYSEXIT, op_sysexit) \
    X(SWAPGS, op_swapgs) X(CLTS, op_clts) X(LMSW, op_lmsw) X(SMSW, op_smsw) X(INVLPG, op_invlpg) \
    X(WBINVD, op_wbinvd) X(INVD, op_wbinvd) X(LGDT, op_lgdt) X(LIDT, op_lidt) X(SGDT, op_sgdt) \
    X(SIDT, op_sidt) X(LLDT, op_lldt) X(LTR, op_ltr) X(SLDT, op_sldt) X(STR, op_str) \
    X(VMCALL, op_vmcall) X(VMMCALL, op_vmcall) X(FWAIT, op_fwait) \
    X(LAR, op_lar) X(LSL, op_lsl) X(VERR, op_verr) X(VERW, op_verw)

namespace xkvm::emu {

#define XKVM_EMU_DECLARE(mn, fn) void fn(CpuImpl& c, const Insn& i);
XKVM_EMU_INSNS(XKVM_EMU_DECLARE)
#undef XKVM_EMU_DECLARE
void op_ud(CpuImpl& c, const Insn& i);     // also every mnemonic not in the table
void op_fpu(CpuImpl& c, const Insn& i);    // x87/SIMD: #NM or #UD

// Checks shared by system instructions.
void require_cpl0(CpuImpl& c);
void op_mov_cr(CpuImpl& c, const Insn& i);
void op_mov_dr(CpuImpl& c, const Insn& i);

} // namespace xkvm::emu
