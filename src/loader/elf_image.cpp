#include "loader/elf_image.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>

#include <gelf.h>
#include <libelf.h>

#include "loader/guest_ram.h"

namespace xkvm::loader {

namespace {

struct ElfEnd {
    void operator()(Elf* e) const { elf_end(e); }
};
using ElfHandle = std::unique_ptr<Elf, ElfEnd>;

std::string libelf_error()
{
    const char* msg = elf_errmsg(-1);
    return msg ? msg : "unknown libelf error";
}

bool libelf_ready()
{
    static std::once_flag once;
    static bool ready = false;
    std::call_once(once, [] { ready = elf_version(EV_CURRENT) != EV_NONE; });
    return ready;
}

// Does [offset, offset+size) lie inside a file of `file_size` bytes?
bool in_file(uint64_t offset, uint64_t size, uint64_t file_size)
{
    return offset <= file_size && size <= file_size - offset;
}

Status check_header(uint16_t type, uint16_t machine, uint32_t version)
{
    if (type == ET_DYN)
        return fail(ENOEXEC, "ET_DYN (position-independent) images are not supported; link it as ET_EXEC");
    if (type != ET_EXEC)
        return fail(ENOEXEC, "not an executable (ELF type {})", type);
    // Xen's libelf reads the class for the layout only, and its x86 builders take either x86
    // machine in either class: an ELF32 container with EM_X86_64 (objcopy -O elf32-x86-64 of a 64-bit
    // link) is a common way to ship a 32-bit-entry image that enters long mode itself.
    if (machine != EM_386 && machine != EM_X86_64)
        return fail(ENOEXEC, "wrong machine {} ({}): not an x86 image (expected EM_386 or EM_X86_64)", machine,
                    elf_machine_name(machine));
    if (version != EV_CURRENT)
        return fail(ENOEXEC, "unsupported ELF version {}", version);
    return {};
}

// Header fields, checked on the raw bytes before libelf sees the file: libelf silently trims a program
// header table that runs off the end of the file and refuses the whole file when the section header
// table does, so both tables are checked here first to give a precise message.
template<typename Ehdr, typename Phdr, typename Shdr>
Status check_tables(std::span<const uint8_t> file)
{
    if (file.size() < sizeof(Ehdr))
        return fail(ENOEXEC, "truncated ELF header ({} of {} bytes)", file.size(), sizeof(Ehdr));
    Ehdr eh;
    std::memcpy(&eh, file.data(), sizeof(eh));
    TRY(check_header(eh.e_type, eh.e_machine, eh.e_version));
    if (eh.e_phnum == PN_XNUM)
        return fail(ENOEXEC, "extended program header numbering (e_phnum = PN_XNUM) is not supported");
    if (eh.e_phnum == 0)
        return fail(ENOEXEC, "no program headers");
    if (eh.e_phentsize != sizeof(Phdr))
        return fail(ENOEXEC, "program header size {} (expected {})", eh.e_phentsize, sizeof(Phdr));
    uint64_t ph_bytes = uint64_t(eh.e_phnum) * sizeof(Phdr);
    if (!in_file(eh.e_phoff, ph_bytes, file.size()))
        return fail(ENOEXEC, "program header table at offset {:#x} ({} entries) extends past the end of the "
                             "file ({:#x} bytes)", uint64_t(eh.e_phoff), eh.e_phnum, file.size());
    if (eh.e_shoff != 0) {
        // With e_shnum == 0 the real count lives in section 0, so at least one header must be there.
        uint64_t count = eh.e_shnum == 0 ? 1 : eh.e_shnum;
        if (eh.e_shentsize != sizeof(Shdr))
            return fail(ENOEXEC, "section header size {} (expected {})", eh.e_shentsize, sizeof(Shdr));
        if (!in_file(eh.e_shoff, count * sizeof(Shdr), file.size()))
            return fail(ENOEXEC, "section header table at offset {:#x} extends past the end of the file "
                                 "({:#x} bytes)", uint64_t(eh.e_shoff), file.size());
    }
    return {};
}

Status check_ident(std::span<const uint8_t> file)
{
    if (file.empty())
        return fail(ENOEXEC, "not an ELF file (it is empty)");
    if (file.size() < SELFMAG || std::memcmp(file.data(), ELFMAG, SELFMAG) != 0)
        return fail(ENOEXEC, "not an ELF file (bad magic)");
    if (file.size() < EI_NIDENT)
        return fail(ENOEXEC, "truncated ELF header ({} bytes)", file.size());
    if (file[EI_CLASS] != ELFCLASS32 && file[EI_CLASS] != ELFCLASS64)
        return fail(ENOEXEC, "unsupported ELF class {} (expected 32- or 64-bit)", file[EI_CLASS]);
    if (file[EI_DATA] != ELFDATA2LSB)
        return fail(ENOEXEC, "not a little-endian ELF file (EI_DATA {})", file[EI_DATA]);
    if (file[EI_VERSION] != EV_CURRENT)
        return fail(ENOEXEC, "unsupported ELF version {}", file[EI_VERSION]);
    if (file[EI_CLASS] == ELFCLASS32)
        return check_tables<Elf32_Ehdr, Elf32_Phdr, Elf32_Shdr>(file);
    return check_tables<Elf64_Ehdr, Elf64_Phdr, Elf64_Shdr>(file);
}

Result<ElfSegment> check_load_segment(unsigned i, const GElf_Phdr& ph, ElfClass cls, uint64_t file_size)
{
    ElfSegment s { i, ph.p_paddr, ph.p_vaddr, ph.p_offset, ph.p_filesz, ph.p_memsz, ph.p_flags };
    if (s.file_size > s.mem_size)
        return fail(ENOEXEC, "segment {}: file size {:#x} exceeds memory size {:#x}", i, s.file_size, s.mem_size);
    if (s.file_size != 0 && !in_file(s.file_offset, s.file_size, file_size))
        return fail(ENOEXEC, "segment {}: file bytes at offset {:#x}+{:#x} extend past the end of the file "
                             "({:#x} bytes)", i, s.file_offset, s.file_size, file_size);
    uint64_t limit = cls == ElfClass::Elf32 ? (1ull << 32) : 0; // 0: the full 64-bit space
    if (s.paddr > ~0ull - s.mem_size || (limit && s.end() > limit))
        return fail(ENOEXEC, "segment {}: {:#x}+{:#x} wraps around the {}-bit address space", i, s.paddr,
                    s.mem_size, int(cls));
    return s;
}

Status check_disjoint(std::vector<ElfSegment> segs)
{
    std::sort(segs.begin(), segs.end(), [](const ElfSegment& a, const ElfSegment& b) { return a.paddr < b.paddr; });
    for (size_t i = 1; i < segs.size(); i++)
        if (segs[i - 1].end() > segs[i].paddr)
            return fail(ENOEXEC, "segments {} {} and {} {} overlap", segs[i - 1].index,
                        describe_range(segs[i - 1].paddr, segs[i - 1].mem_size), segs[i].index,
                        describe_range(segs[i].paddr, segs[i].mem_size));
    return {};
}

// Walk the notes in `data`, recording those named "Xen". `where` names the container for warnings.
Status scan_notes(Elf_Data* data, XenNotes& notes, const std::string& where, std::vector<std::string>& warnings)
{
    const auto* bytes = static_cast<const uint8_t*>(data->d_buf);
    size_t offset = 0;
    while (offset < data->d_size) {
        GElf_Nhdr nh;
        size_t name_off = 0, desc_off = 0;
        size_t next = gelf_getnote(data, offset, &nh, &name_off, &desc_off);
        if (next == 0) {
            warnings.push_back(fmt::format("{}: malformed note at offset {:#x}; rest ignored", where, offset));
            break;
        }
        if (nh.n_namesz == 4 && std::memcmp(bytes + name_off, "Xen", 4) == 0) {
            auto st = record_xen_note(notes, nh.n_type, std::span(bytes + desc_off, nh.n_descsz));
            if (!st)
                return fail(ENOEXEC, "{}: {}", where, st.error().message);
        }
        offset = next;
    }
    return {};
}

Status scan_note_sections(Elf* elf, ElfImage& img)
{
    size_t shnum = 0;
    if (elf_getshdrnum(elf, &shnum) != 0) {
        img.warnings.push_back(fmt::format("section headers unreadable: {}", libelf_error()));
        return {};
    }
    for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn; scn = elf_nextscn(elf, scn)) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
            continue;
        std::string where = fmt::format("note section {}", elf_ndxscn(scn));
        Elf_Data* data = elf_getdata(scn, nullptr);
        if (!data || !data->d_buf) {
            img.warnings.push_back(fmt::format("{} unreadable: {}", where, libelf_error()));
            continue;
        }
        TRY(scan_notes(data, img.notes, where, img.warnings));
    }
    return {};
}

} // namespace

std::string_view elf_machine_name(uint16_t machine)
{
    switch (machine) {
    case EM_NONE: return "EM_NONE, no machine";
    case EM_SPARC: return "EM_SPARC, SPARC";
    case EM_386: return "EM_386, 32-bit x86";
    case EM_MIPS: return "EM_MIPS, MIPS";
    case EM_PPC: return "EM_PPC, 32-bit PowerPC";
    case EM_PPC64: return "EM_PPC64, 64-bit PowerPC";
    case EM_S390: return "EM_S390, IBM S/390";
    case EM_ARM: return "EM_ARM, 32-bit Arm";
    case EM_IA_64: return "EM_IA_64, Itanium";
    case EM_X86_64: return "EM_X86_64, 64-bit x86";
    case EM_AARCH64: return "EM_AARCH64, 64-bit Arm";
    case EM_RISCV: return "EM_RISCV, RISC-V";
    case EM_LOONGARCH: return "EM_LOONGARCH, LoongArch";
    default: return "an unknown machine";
    }
}

uint64_t ElfImage::low() const
{
    uint64_t lo = ~0ull;
    for (const auto& s : segments)
        lo = std::min(lo, s.paddr);
    return segments.empty() ? 0 : lo;
}

uint64_t ElfImage::high() const
{
    uint64_t hi = 0;
    for (const auto& s : segments)
        hi = std::max(hi, s.end());
    return hi;
}

const ElfSegment* ElfImage::segment_with_code_at(uint64_t paddr) const
{
    for (const auto& s : segments)
        if (paddr >= s.paddr && paddr - s.paddr < s.file_size)
            return &s;
    return nullptr;
}

Result<ElfImage> parse_elf(std::span<const uint8_t> file)
{
    if (file.size() > kMaxElfFileBytes)
        return fail(EFBIG, "file is {} MiB, larger than the {} MiB limit", file.size() >> 20, kMaxElfFileBytes >> 20);
    TRY(check_ident(file));
    if (!libelf_ready())
        return fail(ENOSYS, "libelf: {}", libelf_error());
    // ELF_C_READ_MMAP semantics: libelf reads the image in place and copies whatever it must convert,
    // so the const input is never written (the fuzz target checks this).
    ElfHandle elf(elf_memory(const_cast<char*>(reinterpret_cast<const char*>(file.data())), file.size()));
    if (!elf || elf_kind(elf.get()) != ELF_K_ELF)
        return fail(ENOEXEC, "malformed ELF file: {}", libelf_error());

    ElfImage img;
    img.elf_class = file[EI_CLASS] == ELFCLASS32 ? ElfClass::Elf32 : ElfClass::Elf64;
    GElf_Ehdr eh;
    if (!gelf_getehdr(elf.get(), &eh))
        return fail(ENOEXEC, "malformed ELF header: {}", libelf_error());
    img.machine = eh.e_machine;
    img.entry = eh.e_entry;

    for (unsigned i = 0; i < eh.e_phnum; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(elf.get(), int(i), &ph))
            return fail(ENOEXEC, "program header {}: {}", i, libelf_error());
        if (ph.p_type == PT_LOAD) {
            if (ph.p_memsz == 0 && ph.p_filesz == 0)
                continue;
            // Xen's libelf loads a PT_LOAD only when it is readable, writable or executable.
            if ((ph.p_flags & (PF_R | PF_W | PF_X)) == 0) {
                img.warnings.push_back(fmt::format("segment {}: PT_LOAD without R, W or X flags is not loaded", i));
                continue;
            }
            img.segments.push_back(TRY(check_load_segment(i, ph, img.elf_class, file.size())));
        } else if (ph.p_type == PT_NOTE && ph.p_filesz != 0) {
            std::string where = fmt::format("note segment {}", i);
            if (!in_file(ph.p_offset, ph.p_filesz, file.size()))
                return fail(ENOEXEC, "{}: offset {:#x}+{:#x} extends past the end of the file ({:#x} bytes)",
                            where, uint64_t(ph.p_offset), uint64_t(ph.p_filesz), file.size());
            // Xen pads note names and descriptors to 4 bytes in every class, whatever p_align says.
            Elf_Data* data = elf_getdata_rawchunk(elf.get(), int64_t(ph.p_offset), ph.p_filesz, ELF_T_NHDR);
            if (!data)
                return fail(ENOEXEC, "{}: {}", where, libelf_error());
            TRY(scan_notes(data, img.notes, where, img.warnings));
        }
    }
    if (img.segments.empty())
        return fail(ENOEXEC, "no loadable (PT_LOAD) segments");
    TRY(check_disjoint(img.segments));
    // Notes normally come in PT_NOTE segments; images linked without one still keep the sections.
    if (img.notes.count == 0)
        TRY(scan_note_sections(elf.get(), img));
    return img;
}

} // namespace xkvm::loader
