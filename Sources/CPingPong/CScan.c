// CScan: the floor for reading a capture: find each `##`, read its 4-digit length, check the
// HJ 212 CRC of the segment and the CR LF after it. What `bench codec` measures `lint` against.
#include "CPingPong.h"

static uint16_t cs_table[256];
static int cs_ready = 0;

static void cs_make_table(void) {
    // HJ 212's CRC (Appendix A) in table form: the register starts at 0xFFFF and becomes
    // T[(reg >> 8) ^ byte] for each byte, T being the reflected-0xA001 CRC-16 table.
    for (int hi = 0; hi < 256; hi++) {
        uint16_t crc = (uint16_t)hi;
        for (int k = 0; k < 8; k++) crc = (crc & 1) ? (uint16_t)((crc >> 1) ^ 0xA001) : (uint16_t)(crc >> 1);
        cs_table[hi] = crc;
    }
    cs_ready = 1;
}

static uint16_t cs_crc(const uint8_t *p, size_t n) {
    uint16_t reg = 0xFFFF;
    for (size_t i = 0; i < n; i++) {
        uint16_t hi = (uint16_t)((reg >> 8) ^ p[i]);
        reg = cs_table[hi & 0xFF];
    }
    return reg;
}

static int cs_hex(uint8_t c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

uint64_t cscan_frames(const uint8_t *p, size_t n, uint64_t *crc_ok) {
    if (!cs_ready) cs_make_table();
    uint64_t frames = 0, ok = 0;
    size_t i = 0;
    while (i + 12 <= n) {
        if (p[i] != '#' || p[i + 1] != '#') { i++; continue; }
        int len = 0, good = 1;
        for (int k = 2; k < 6; k++) {
            if (p[i + k] < '0' || p[i + k] > '9') { good = 0; break; }
            len = len * 10 + (p[i + k] - '0');
        }
        if (!good || i + 6 + (size_t)len + 6 > n) { i += 2; continue; }
        const uint8_t *seg = p + i + 6;
        const uint8_t *crc = seg + len;
        int declared = 0;
        for (int k = 0; k < 4; k++) {
            int h = cs_hex(crc[k]);
            if (h < 0) { good = 0; break; }
            declared = (declared << 4) | h;
        }
        if (!good || crc[4] != '\r' || crc[5] != '\n') { i += 2; continue; }
        frames++;
        if (cs_crc(seg, (size_t)len) == (uint16_t)declared) ok++;
        i += 6 + (size_t)len + 6;
    }
    if (crc_ok) *crc_ok = ok;
    return frames;
}
