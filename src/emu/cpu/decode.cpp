// Zydis output -> the interpreter's compact Insn. Runs once per decode-cache fill.
#include <Zydis/Zydis.h>

#include <algorithm>

#include "emu/cpu/cpu_impl.h"

namespace xkvm::emu {

namespace {

struct Decoders {
    ZydisDecoder d16, d32, d64;
    Decoders()
    {
        ZydisDecoderInit(&d16, ZYDIS_MACHINE_MODE_LEGACY_16, ZYDIS_STACK_WIDTH_16);
        ZydisDecoderInit(&d32, ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_STACK_WIDTH_32);
        ZydisDecoderInit(&d64, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
    }
};

const Decoders& decoders()
{
    static const Decoders d;
    return d;
}

// A Zydis register as (kind, number); false for registers the integer core does not model.
bool map_register(ZydisRegister r, Operand& op)
{
    if (r >= ZYDIS_REGISTER_AL && r <= ZYDIS_REGISTER_R15B) {
        unsigned id = r - ZYDIS_REGISTER_AL;
        if (id >= 4 && id < 8) {
            op.kind = OpKind::GprHigh;
            op.reg = uint8_t(id - 4);
        } else {
            op.kind = OpKind::Gpr;
            op.reg = uint8_t(id < 4 ? id : id - 4);
        }
        return true;
    }
    auto in = [&](ZydisRegister first, ZydisRegister last, OpKind kind) {
        if (r < first || r > last)
            return false;
        op.kind = kind;
        op.reg = uint8_t(r - first);
        return true;
    };
    return in(ZYDIS_REGISTER_AX, ZYDIS_REGISTER_R15W, OpKind::Gpr) ||
           in(ZYDIS_REGISTER_EAX, ZYDIS_REGISTER_R15D, OpKind::Gpr) ||
           in(ZYDIS_REGISTER_RAX, ZYDIS_REGISTER_R15, OpKind::Gpr) ||
           in(ZYDIS_REGISTER_ES, ZYDIS_REGISTER_GS, OpKind::Seg) ||
           in(ZYDIS_REGISTER_CR0, ZYDIS_REGISTER_CR15, OpKind::Cr) ||
           in(ZYDIS_REGISTER_DR0, ZYDIS_REGISTER_DR15, OpKind::Dr);
}

int8_t address_register(ZydisRegister r)
{
    if (r == ZYDIS_REGISTER_NONE)
        return kNoReg;
    if (r == ZYDIS_REGISTER_RIP || r == ZYDIS_REGISTER_EIP || r == ZYDIS_REGISTER_IP)
        return kRipReg;
    Operand op;
    if (!map_register(r, op) || op.kind != OpKind::Gpr)
        return kNoReg;
    return int8_t(op.reg);
}

uint8_t segment_override(ZydisInstructionAttributes a)
{
    if (a & ZYDIS_ATTRIB_HAS_SEGMENT_ES) return SegEs;
    if (a & ZYDIS_ATTRIB_HAS_SEGMENT_CS) return SegCs;
    if (a & ZYDIS_ATTRIB_HAS_SEGMENT_SS) return SegSs;
    if (a & ZYDIS_ATTRIB_HAS_SEGMENT_DS) return SegDs;
    if (a & ZYDIS_ATTRIB_HAS_SEGMENT_FS) return SegFs;
    if (a & ZYDIS_ATTRIB_HAS_SEGMENT_GS) return SegGs;
    return 0xff;
}

bool convert_operand(const ZydisDecodedOperand& z, uint16_t operand_width, Insn& out, Operand& op, bool& have_imm)
{
    op.size = uint8_t(z.size / 8);
    switch (z.type) {
    case ZYDIS_OPERAND_TYPE_REGISTER:
        return map_register(z.reg.value, op);
    case ZYDIS_OPERAND_TYPE_MEMORY: {
        op.kind = OpKind::Mem;
        Operand seg;
        out.mem.seg = map_register(z.mem.segment, seg) && seg.kind == OpKind::Seg ? seg.reg : uint8_t(SegDs);
        out.mem.base = address_register(z.mem.base);
        out.mem.index = address_register(z.mem.index);
        out.mem.scale = z.mem.scale ? z.mem.scale : 1;
        out.mem.disp = z.mem.disp.has_displacement ? z.mem.disp.value : 0;
        return true;
    }
    case ZYDIS_OPERAND_TYPE_POINTER:
        op.kind = OpKind::Ptr;
        out.imm = z.ptr.offset;
        out.imm2 = z.ptr.segment;
        return true;
    case ZYDIS_OPERAND_TYPE_IMMEDIATE:
        op.kind = OpKind::Imm;
        // A signed immediate is sign-extended to the operand size (MOV r/m64, imm32; PUSH imm8):
        // Zydis gives it sign-extended to 64 bits, so it is read at the operand's width.
        if (z.imm.is_signed && operand_width / 8 > op.size)
            op.size = uint8_t(operand_width / 8);
        if (!have_imm) {
            out.imm = z.imm.value.u;
            have_imm = true;
        } else {
            out.imm2 = z.imm.value.u;
            op.reg = 1; // the second immediate
        }
        return true;
    default:
        return false;
    }
}

// SIB base 101 with mod 00 means no base and a disp32, whatever REX.B says. Zydis 4.0 gets this
// wrong with a 32-bit address size and REX.B (it reports R13D and no displacement).
void fix_sib_without_base(const ZydisDecodedInstruction& zi, Insn& out)
{
    const bool mem =
        std::any_of(out.op, out.op + out.nops, [](const Operand& o) { return o.kind == OpKind::Mem; });
    const bool sib_no_base = zi.address_width != 16 && zi.raw.modrm.offset && zi.raw.modrm.mod == 0 &&
                             zi.raw.modrm.rm == 4 && (zi.raw.sib.base & 7) == 5;
    if (!mem || !sib_no_base)
        return;
    out.mem.base = kNoReg;
    out.mem.disp = int32_t(zi.raw.disp.value);
}

// x87 and SIMD instructions get their architectural #NM/#UD from the CR0/CR4 bits (fpu.cpp).
uint8_t fpu_class(const ZydisDecodedInstruction& zi, const ZydisDecodedOperand* zo)
{
    switch (zi.mnemonic) {
    case ZYDIS_MNEMONIC_LFENCE:
    case ZYDIS_MNEMONIC_MFENCE:
    case ZYDIS_MNEMONIC_SFENCE:
    case ZYDIS_MNEMONIC_PAUSE:
    case ZYDIS_MNEMONIC_NOP:
    case ZYDIS_MNEMONIC_PREFETCHNTA:
    case ZYDIS_MNEMONIC_PREFETCHT0:
    case ZYDIS_MNEMONIC_PREFETCHT1:
    case ZYDIS_MNEMONIC_PREFETCHT2:
    case ZYDIS_MNEMONIC_PREFETCHW:
    case ZYDIS_MNEMONIC_POPCNT: // an integer instruction, though Zydis files it under SSE4
        return 0;
    default: break;
    }
    if (zi.meta.isa_ext == ZYDIS_ISA_EXT_X87)
        return kFpuX87;
    for (unsigned k = 0; k < zi.operand_count; ++k) {
        if (zo[k].type != ZYDIS_OPERAND_TYPE_REGISTER)
            continue;
        switch (ZydisRegisterGetClass(zo[k].reg.value)) {
        case ZYDIS_REGCLASS_X87: return kFpuX87;
        case ZYDIS_REGCLASS_MMX:
        case ZYDIS_REGCLASS_XMM:
        case ZYDIS_REGCLASS_YMM:
        case ZYDIS_REGCLASS_ZMM:
            return kFpuSimd;
        default: break;
        }
    }
    switch (zi.meta.isa_ext) {
    case ZYDIS_ISA_EXT_SSE:
    case ZYDIS_ISA_EXT_SSE2:
    case ZYDIS_ISA_EXT_SSE3:
    case ZYDIS_ISA_EXT_SSSE3:
    case ZYDIS_ISA_EXT_SSE4:
    case ZYDIS_ISA_EXT_MMX:
    case ZYDIS_ISA_EXT_XSAVE:
    case ZYDIS_ISA_EXT_XSAVEOPT:
    case ZYDIS_ISA_EXT_XSAVEC:
    case ZYDIS_ISA_EXT_XSAVES:
        return kFpuSimd;
    default:
        return 0;
    }
}

} // namespace

bool decode_insn(const uint8_t* bytes, unsigned len, uint8_t code_size, Insn& out, bool& need_more)
{
    const Decoders& d = decoders();
    const ZydisDecoder* dec = code_size == 8 ? &d.d64 : code_size == 4 ? &d.d32 : &d.d16;
    ZydisDecodedInstruction zi;
    ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];
    need_more = false;
    ZyanStatus s = ZydisDecoderDecodeFull(dec, bytes, len, &zi, zo);
    if (s == ZYDIS_STATUS_NO_MORE_DATA && len < 15) {
        need_more = true;
        return false;
    }
    out = Insn{};
    if (!ZYAN_SUCCESS(s))
        return false;
    out.mnemonic = uint16_t(zi.mnemonic);
    out.handler = handler_for(zi.mnemonic);
    out.length = zi.length;
    out.osize = uint8_t(zi.operand_width / 8);
    out.asize = uint8_t(zi.address_width / 8);
    out.lock = zi.attributes & ZYDIS_ATTRIB_HAS_LOCK;
    if (zi.attributes & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE))
        out.rep = kRep;
    else if (zi.attributes & ZYDIS_ATTRIB_HAS_REPNE)
        out.rep = kRepne;
    out.seg_override = segment_override(zi.attributes);
    out.legacy_map = zi.opcode_map == ZYDIS_OPCODE_MAP_DEFAULT;
    out.rex_w = zi.raw.rex.W;
    out.opcode = zi.opcode;
    out.modrm_reg = zi.raw.modrm.reg;
    out.fpu = fpu_class(zi, zo);
    if (zi.encoding != ZYDIS_INSTRUCTION_ENCODING_LEGACY || out.fpu)
        out.handler = handler_for(ZYDIS_MNEMONIC_INVALID);
    bool have_imm = false;
    unsigned n = 0;
    for (unsigned k = 0; k < zi.operand_count_visible && n < 3; ++k) {
        if (!convert_operand(zo[k], zi.operand_width, out, out.op[n], have_imm)) {
            // A register class the integer core does not model (x87, MMX, SSE): #UD.
            out.handler = handler_for(ZYDIS_MNEMONIC_INVALID);
            return true;
        }
        ++n;
    }
    out.nops = uint8_t(n);
    fix_sib_without_base(zi, out);
    // Relative targets are kept as the signed displacement; handlers add the next RIP.
    if (out.osize == 0)
        out.osize = n ? out.op[0].size : code_size;
    if (out.osize == 0)
        out.osize = code_size;
    if (out.handler == handler_for(zi.mnemonic))
        if (Handler fast = fast_form(out))
            out.handler = fast;
    return true;
}

} // namespace xkvm::emu
