/* The C string functions a freestanding guest needs (gcc may also emit calls to mem*). */
#pragma once
#include "guest/base.h"

void* memcpy(void* dst, const void* src, size_t n);
void* memmove(void* dst, const void* src, size_t n);
void* memset(void* dst, int c, size_t n);
int memcmp(const void* a, const void* b, size_t n);
size_t strlen(const char* s);
size_t strnlen(const char* s, size_t max);
int strcmp(const char* a, const char* b);
int strncmp(const char* a, const char* b, size_t n);
char* strchr(const char* s, int c);
/* Copies at most size-1 bytes and always terminates (size > 0); returns strlen(src). */
size_t strlcpy(char* dst, const char* src, size_t size);
/* Parses an unsigned number (base 0 = auto: 0x hex, else decimal); *end points past it. */
unsigned long strtoul(const char* s, char** end, int base);
