/* SPDX-License-Identifier: MIT */
/* test_regress_fuzz.c - one test per finding of the libFuzzer harnesses (fuzz/), so that each
 * stays fixed. Each test names its harness and its input, kept under tests/fixtures/fuzz/
 * (replay: build-fuzz/fuzz/fuzz_<harness> tests/fixtures/fuzz/<file>). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "net/rtk_ws.h"
#include "util/rtk_err.h"

/* fuzz_ws, ws-nonminimal-64bit-early.bin (the harness's two split bytes, then the stream).
 * A text frame whose 7-bit length says 127 (a 64-bit length follows) and whose first six
 * length bytes are zero: whatever the last two are, the length is under 65536, which RFC 6455
 * §5.2 requires in the 16-bit form, so rtk_ws.h's policy makes it a 1002 - and "every check
 * that the bytes received so far can decide fails at once, so a header violation never waits
 * for more bytes". rtk_ws_parse() returns RTK_EAGAIN until the eighth length byte arrives. */
static void ws_nonminimal_64bit_length_fails_early(void **state)
{
    (void)state;
    for (size_t have = 6; have <= 7; have++) {
        uint8_t buf[2 + 8] = {0x81, 0x80 | 127};
        rtk_ws_state st;
        rtk_ws_frame f;
        uint16_t code = 0;
        rtk_ws_state_init(&st);
        ssize_t r = rtk_ws_parse(&st, buf, 2 + have, &f, &code);
        assert_int_equal(r, RTK_EPROTO);
        assert_int_equal(code, RTK_WS_CLOSE_PROTOCOL);
    }
    /* With all eight bytes it is refused already (the frame is complete up to its mask). */
    uint8_t full[2 + 8 + 4] = {0x81, 0x80 | 127, 0, 0, 0, 0, 0, 0, 0, 5};
    rtk_ws_state st;
    rtk_ws_frame f;
    uint16_t code = 0;
    rtk_ws_state_init(&st);
    assert_int_equal(rtk_ws_parse(&st, full, sizeof(full), &f, &code), RTK_EPROTO);
    assert_int_equal(code, RTK_WS_CLOSE_PROTOCOL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ws_nonminimal_64bit_length_fails_early),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
