// The files a boot reads (kernel or firmware, ramdisk): opened once, checked to be regular files of a
// sane size, with errors that name the role and the path ("kernel /x/vmlinux: file not found").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "memory/physmap.h"

namespace xkvm::loader {

class BootFile {
public:
    // `role` is "kernel", "firmware" or "ramdisk". ENOENT for a missing file, EINVAL for an empty
    // path, an empty file or one that is not a regular file, EFBIG above `max_bytes`.
    static Result<BootFile> open(std::string role, std::string path, uint64_t max_bytes);

    uint64_t size() const { return m_size; }
    // "kernel /path/x.elf", the prefix of every message about this file.
    const std::string& label() const { return m_label; }

    // The whole file; EIO if it is not the size it had when opened.
    Result<std::vector<uint8_t>> read_all() const;
    // Copy the whole file to guest [gpa, gpa+size()) in bounded chunks, without holding it in memory.
    Status copy_to_guest(memory::Physmap& physmap, memory::Gpa gpa) const;

private:
    BootFile(UniqueFd fd, uint64_t size, std::string label) : m_fd(std::move(fd)), m_size(size), m_label(std::move(label)) { }
    // Read exactly out.size() bytes at `offset`.
    Status read_at(uint64_t offset, std::span<uint8_t> out) const;

    UniqueFd m_fd;
    uint64_t m_size = 0;
    std::string m_label;
};

} // namespace xkvm::loader
