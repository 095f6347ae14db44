/* The IOAPIC at its default address: redirection entries for tests that take interrupts from it. */
#include "guest/guest.h"

#define IOAPIC_BASE 0xfec00000UL
#define IOAPIC_REDIR(n) (0x10 + 2 * (n))
#define REDIR_LEVEL (1u << 15)
#define REDIR_MASKED (1u << 16)

static spinlock_t ioapic_lock = SPINLOCK_INIT;

static uint32_t ioapic_read(unsigned reg)
{
    *(volatile uint32_t*)IOAPIC_BASE = reg;
    return *(volatile uint32_t*)(IOAPIC_BASE + 0x10);
}

static void ioapic_write(unsigned reg, uint32_t value)
{
    *(volatile uint32_t*)IOAPIC_BASE = reg;
    *(volatile uint32_t*)(IOAPIC_BASE + 0x10) = value;
}

unsigned ioapic_pins(void) { return ((ioapic_read(1) >> 16) & 0xff) + 1; }

void ioapic_route(unsigned gsi, uint8_t vector, unsigned dest_cpu, bool level)
{
    unsigned long flags = irq_save(); /* IOREGSEL/IOWIN is a pair: no one in between */
    spin_lock(&ioapic_lock);
    ioapic_write(IOAPIC_REDIR(gsi) + 1, dest_cpu << 24);
    ioapic_write(IOAPIC_REDIR(gsi), vector | (level ? REDIR_LEVEL : 0)); /* fixed, physical, active high */
    spin_unlock(&ioapic_lock);
    irq_restore(flags);
}

void ioapic_mask(unsigned gsi)
{
    unsigned long flags = irq_save();
    spin_lock(&ioapic_lock);
    ioapic_write(IOAPIC_REDIR(gsi), ioapic_read(IOAPIC_REDIR(gsi)) | REDIR_MASKED);
    spin_unlock(&ioapic_lock);
    irq_restore(flags);
}
