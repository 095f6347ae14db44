/* The PV console ring page (HVM_PARAM_CONSOLE_PFN). */
#pragma once
#include <stdint.h>

typedef uint32_t XENCONS_RING_IDX;
#define XENCONS_IN_SIZE 1024
#define XENCONS_OUT_SIZE 2048
#define XENCONS_MASK(idx, size) ((idx) & ((size) - 1))

struct xencons_interface {
    char in[XENCONS_IN_SIZE];   /* host -> guest */
    char out[XENCONS_OUT_SIZE]; /* guest -> host */
    XENCONS_RING_IDX in_cons, in_prod;
    XENCONS_RING_IDX out_cons, out_prod;
};
