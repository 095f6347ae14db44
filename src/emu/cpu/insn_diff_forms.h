// The instruction forms of the differential test, one generator each (insn_diff_forms_*.cpp).
#pragma once

#include "emu/cpu/insn_diff_gen.h"

namespace xkvm::emu::test::insndiff {

void form_group1(Gen& g);
void form_test(Gen& g);
void form_unary(Gen& g);
void form_shift(Gen& g);
void form_double_shift(Gen& g);
void form_muldiv(Gen& g);
void form_imul(Gen& g);
void form_bit_test(Gen& g);
void form_bit_scan(Gen& g);

void form_bswap(Gen& g);
void form_exchange(Gen& g);
void form_cmpxchg(Gen& g);
void form_cmpxchg_wide(Gen& g);
void form_extend(Gen& g);
void form_convert(Gen& g);
void form_lea(Gen& g);
void form_condition(Gen& g);
void form_flag_ops(Gen& g);
void form_string(Gen& g);
void form_mov(Gen& g);
void form_stack(Gen& g);
void form_enter_leave(Gen& g);

} // namespace xkvm::emu::test::insndiff
