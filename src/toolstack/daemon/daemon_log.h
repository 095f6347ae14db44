// xkvmd's log, <rundir>/xkvmd.log: its own stderr and every VMM's stderr go into one pipe that the
// poll loop drains into a size-capped, rotated file (base/rotating_file.h). A VMM (a guest's device
// model, perhaps subverted) that writes without end meets a full non-blocking pipe: its writes fail,
// the daemon never blocks, and the file never grows past its cap.
#pragma once

#include <memory>
#include <string>

#include "base/result.h"
#include "base/rotating_file.h"
#include "base/unique_fd.h"

namespace xkvm::toolstack {

class DaemonLog {
public:
    static constexpr uint64_t kMaxBytes = 8u << 20; // per generation (xkvmd.log, xkvmd.log.1)
    static constexpr size_t kDrainBudget = 256 * 1024; // bytes per poll-loop pass

    static Result<std::unique_ptr<DaemonLog>> create(const std::string& path, uint64_t max_bytes = kMaxBytes);

    // Points this process's stderr and stdout at the pipe (children inherit them).
    Status redirect_stderr();
    // The write end, for a child's stderr.
    int write_fd() const { return m_write.get(); }
    // For the poll loop.
    int read_fd() const { return m_read.get(); }
    // Moves up to `budget` bytes from the pipe to the file.
    void drain(size_t budget = kDrainBudget);
    const RotatingFile& file() const { return *m_file; }

private:
    DaemonLog(std::unique_ptr<RotatingFile> file, UniqueFd rd, UniqueFd wr)
        : m_file(std::move(file)), m_read(std::move(rd)), m_write(std::move(wr)) { }

    std::unique_ptr<RotatingFile> m_file;
    UniqueFd m_read, m_write;
};

} // namespace xkvm::toolstack
