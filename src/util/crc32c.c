/* CRC32C: see crc32c.h.  Reflected polynomial 0x82F63B78. */
#include "config.h"
#include "util/crc32c.h"

#include <string.h>

static uint32_t tide_crc32c_table[8][256];

static void __attribute__((constructor)) tide_crc32c_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
        tide_crc32c_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            tide_crc32c_table[t][i] = (tide_crc32c_table[t - 1][i] >> 8) ^
                                      tide_crc32c_table[0][tide_crc32c_table[t - 1][i] & 0xff];
}

uint32_t tide_crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    crc = ~crc;
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        w ^= crc;
        crc = tide_crc32c_table[7][w & 0xff] ^ tide_crc32c_table[6][(w >> 8) & 0xff] ^
              tide_crc32c_table[5][(w >> 16) & 0xff] ^ tide_crc32c_table[4][(w >> 24) & 0xff] ^
              tide_crc32c_table[3][(w >> 32) & 0xff] ^ tide_crc32c_table[2][(w >> 40) & 0xff] ^
              tide_crc32c_table[1][(w >> 48) & 0xff] ^ tide_crc32c_table[0][w >> 56];
        p += 8;
        len -= 8;
    }
    while (len--)
        crc = (crc >> 8) ^ tide_crc32c_table[0][(crc ^ *p++) & 0xff];
    return ~crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t tide_crc32c_hw(uint32_t crc, const void *buf,
                                                                 size_t len)
{
    const uint8_t *p = buf;
    uint64_t c = ~crc;
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c = __builtin_ia32_crc32di(c, w);
        p += 8;
        len -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (len--)
        c32 = __builtin_ia32_crc32qi(c32, *p++);
    return ~c32;
}
#endif

uint32_t tide_crc32c(uint32_t crc, const void *buf, size_t len)
{
#if defined(__x86_64__)
    static int have_hw = -1;
    if (__builtin_expect(have_hw < 0, 0)) {
        __builtin_cpu_init();
        have_hw = __builtin_cpu_supports("sse4.2");
    }
    if (have_hw)
        return tide_crc32c_hw(crc, buf, len);
#endif
    return tide_crc32c_sw(crc, buf, len);
}
