#include "kvm/level_line.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/log.h"
#include "base/thread_role.h"
#include "kvm/vm.h"

namespace xkvm::kvm {

namespace {

void signal(int fd)
{
    uint64_t one = 1;
    (void)!::write(fd, &one, sizeof(one));
}

} // namespace

Result<std::unique_ptr<LevelLine>> LevelLine::create(Vm& vm, uint32_t gsi, std::function<bool()> still_pending)
{
    std::unique_ptr<LevelLine> line(new LevelLine(vm, gsi, std::move(still_pending)));
    line->m_irq = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    line->m_resample = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    line->m_stop = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!line->m_irq || !line->m_resample || !line->m_stop)
        return make_unexpected(Error::from_errno("eventfd"));
    TRY(vm.add_resample_irqfd(line->m_irq.get(), line->m_resample.get(), gsi));
    line->m_thread = std::thread([l = line.get()] { l->run(); });
    return line;
}

LevelLine::~LevelLine()
{
    signal(m_stop.get());
    if (m_thread.joinable())
        m_thread.join();
    if (auto r = m_vm.remove_irqfd(m_irq.get(), m_gsi); !r)
        log::get("kvm")->warn("level line GSI {}: {}", m_gsi, r.error().message);
}

void LevelLine::assert_line()
{
    signal(m_irq.get());
}

void LevelLine::run()
{
    enter_thread_role(ThreadRole::Io);
    for (;;) {
        pollfd fds[2] = { { m_resample.get(), POLLIN, 0 }, { m_stop.get(), POLLIN, 0 } };
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        if (fds[1].revents)
            return;
        uint64_t n;
        if (::read(m_resample.get(), &n, sizeof(n)) == sizeof(n) && m_still_pending())
            assert_line();
    }
}

} // namespace xkvm::kvm
