#include "emu/emu_hypervisor.h"

#include "emu/emu_vm.h"

namespace xkvm::emu {

Result<std::unique_ptr<EmuHypervisor>> EmuHypervisor::create()
{
    std::unique_ptr<EmuHypervisor> hv(new EmuHypervisor());
    hv->m_cpuid = emulated_cpuid();
    return hv;
}

Result<std::unique_ptr<hv::Vm>> EmuHypervisor::create_vm(const hv::VmOptions&)
{
    std::unique_ptr<hv::Vm> vm = std::make_unique<EmuVm>();
    return vm;
}

} // namespace xkvm::emu
