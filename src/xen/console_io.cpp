// console_io: a guest writes to its console log; reads find nothing (there is no Xen console input).
#include <vector>

#include "xen/abi/xen.h"
#include "xen/domain.h"
#include "xen/hypercall.h"
#include "xen/xen_errno.h"

namespace xkvm::xen {

HypercallResult do_console_io(HypercallContext& ctx)
{
    uint32_t count = static_cast<uint32_t>(ctx.args[1]);
    uint64_t buffer = ctx.arg(2);
    switch (ctx.cmd(0)) {
    case CONSOLEIO_write: {
        // Copy in bounded chunks so a huge count cannot make the VMM allocate without limit.
        constexpr uint32_t kChunk = 4096;
        std::vector<uint8_t> buf(std::min(count, kChunk));
        for (uint32_t done = 0; done < count;) {
            uint32_t n = std::min(count - done, kChunk);
            TRY(ctx.guest.read(buffer + done, std::span(buf.data(), n)));
            ctx.domain.platform().console_write(std::string_view(reinterpret_cast<char*>(buf.data()), n));
            done += n;
        }
        return 0;
    }
    case CONSOLEIO_read:
        return 0;
    default:
        return xen_fail(XEN_ENOSYS, "console_io {} unknown", ctx.cmd(0));
    }
}

} // namespace xkvm::xen
