/* Unit tests of src/util: CRC32C against published vectors (RFC 3720
 * B.4) and between its two implementations, the hash map under churn,
 * tunable parsing from the environment, lists and the fake clock. */
#include "config.h"
#include "util/clock.h"
#include "util/crc32c.h"
#include "util/hash.h"
#include "util/list.h"
#include "util/param.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

START_TEST(crc32c_vectors)
{
    uint8_t buf[48];
    memset(buf, 0, 32);
    ck_assert_uint_eq(tide_crc32c(0, buf, 32), 0x8A9136AAu);
    memset(buf, 0xff, 32);
    ck_assert_uint_eq(tide_crc32c(0, buf, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)i;
    ck_assert_uint_eq(tide_crc32c(0, buf, 32), 0x46DD794Eu);
    ck_assert_uint_eq(tide_crc32c(0, "123456789", 9), 0xE3069283u);
    ck_assert_uint_eq(tide_crc32c_sw(0, "123456789", 9), 0xE3069283u);
}
END_TEST

START_TEST(crc32c_hw_matches_sw_and_chains)
{
    uint8_t buf[4099];
    srand(42);
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)rand();
    for (size_t len = 0; len < sizeof(buf); len += 37) {
        uint32_t whole = tide_crc32c(0, buf, len);
        ck_assert_uint_eq(whole, tide_crc32c_sw(0, buf, len));
        size_t cut = len / 3;
        uint32_t part = tide_crc32c(tide_crc32c(0, buf, cut), buf + cut, len - cut);
        ck_assert_uint_eq(whole, part);
    }
}
END_TEST

START_TEST(hash_churn)
{
    tide_hash_t h;
    tide_hash_init(&h);
    enum { N = 20000 };
    static int vals[N];
    for (int i = 0; i < N; i++) {
        vals[i] = i;
        ck_assert_int_eq(tide_hash_put(&h, (uint64_t)i * 7919u, &vals[i]), 0);
    }
    ck_assert_uint_eq(h.count, N);
    for (int i = 0; i < N; i += 2)
        ck_assert_ptr_eq(tide_hash_del(&h, (uint64_t)i * 7919u), &vals[i]);
    ck_assert_uint_eq(h.count, N / 2);
    for (int i = 0; i < N; i++) {
        void *v = tide_hash_get(&h, (uint64_t)i * 7919u);
        if (i % 2)
            ck_assert_ptr_eq(v, &vals[i]);
        else
            ck_assert_ptr_null(v);
    }
    ck_assert_ptr_null(tide_hash_del(&h, 12345678));
    size_t it = 0, seen = 0;
    uint64_t k;
    void *v;
    while (tide_hash_next(&h, &it, &k, &v)) {
        ck_assert_uint_eq(k, (uint64_t)(*(int *)v) * 7919u);
        seen++;
    }
    ck_assert_uint_eq(seen, N / 2);
    /* Replacing keeps the count. */
    ck_assert_int_eq(tide_hash_put(&h, 7919u, &vals[0]), 0);
    ck_assert_uint_eq(h.count, N / 2);
    ck_assert_ptr_eq(tide_hash_get(&h, 7919u), &vals[0]);
    tide_hash_fini(&h);
}
END_TEST

TIDE_PARAM_DEFINE(test_size, TIDE_PARAM_SIZE, "TEST_SIZE", "64k", "test tunable");
TIDE_PARAM_DEFINE(test_time, TIDE_PARAM_TIME, "TEST_TIME", "50us", "test tunable");
TIDE_PARAM_DEFINE(test_bool, TIDE_PARAM_BOOL, "TEST_BOOL", "on", "test tunable");
TIDE_PARAM_DEFINE(test_str, TIDE_PARAM_STRING, "TEST_STR", "eth", "test tunable");

START_TEST(params_defaults_env_and_bad_values)
{
    unsetenv("TIDE_TEST_SIZE");
    tide_param_reset_all();
    ck_assert_int_eq(tide_param_int(&tide_param_test_size), 65536);
    ck_assert_int_eq(tide_param_int(&tide_param_test_time), 50000);
    ck_assert_int_eq(tide_param_int(&tide_param_test_bool), 1);
    ck_assert_str_eq(tide_param_str(&tide_param_test_str), "eth");
    setenv("TIDE_TEST_SIZE", "2m", 1);
    setenv("TIDE_TEST_TIME", "1.5ms", 1);
    setenv("TIDE_TEST_BOOL", "no", 1);
    setenv("TIDE_TEST_STR", "udp", 1);
    tide_param_reset_all();
    ck_assert_int_eq(tide_param_int(&tide_param_test_size), 2 * 1024 * 1024);
    ck_assert_int_eq(tide_param_int(&tide_param_test_time), 1500000);
    ck_assert_int_eq(tide_param_int(&tide_param_test_bool), 0);
    ck_assert_str_eq(tide_param_str(&tide_param_test_str), "udp");
    setenv("TIDE_TEST_SIZE", "12q", 1); /* malformed: default is used */
    tide_param_reset_all();
    ck_assert_int_eq(tide_param_int(&tide_param_test_size), 65536);
    /* Every declared tunable is in the registry, with a description. */
    int found = 0;
    for (int i = 0; i < tide_param_count(); i++) {
        ck_assert_ptr_nonnull(tide_param_at(i)->desc);
        found += strcmp(tide_param_at(i)->name, "TEST_TIME") == 0;
    }
    ck_assert_int_eq(found, 1);
    int64_t v;
    ck_assert_int_eq(tide_parse_size("-1", &v), -22);
    ck_assert_int_eq(tide_parse_time_ns("3xs", &v), -22);
}
END_TEST

typedef struct item {
    int v;
    tide_list_t link;
} item_t;

START_TEST(list_ops)
{
    tide_list_t h;
    tide_list_init(&h);
    item_t it[5];
    for (int i = 0; i < 5; i++) {
        it[i].v = i;
        tide_list_push_back(&h, &it[i].link);
    }
    tide_list_del(&it[2].link);
    tide_list_push_front(&h, &it[2].link);
    int want[] = {2, 0, 1, 3, 4}, k = 0;
    tide_list_t *pos, *tmp;
    tide_list_for_each_safe(pos, tmp, &h)
    {
        ck_assert_int_eq(tide_container_of(pos, item_t, link)->v, want[k++]);
        tide_list_del(pos);
    }
    ck_assert_int_eq(k, 5);
    ck_assert(tide_list_empty(&h));
    ck_assert_ptr_null(tide_list_pop_front(&h));
}
END_TEST

START_TEST(fake_clock)
{
    tide_fake_clock_t fc;
    tide_fake_clock_init(&fc, 1000);
    ck_assert_uint_eq(tide_clock_now(&fc.base), 1000);
    tide_fake_clock_advance(&fc, 500);
    ck_assert_uint_eq(tide_clock_now(&fc.base), 1500);
    uint64_t a = tide_clock_now(&tide_clock_mono), b = tide_clock_now(&tide_clock_mono);
    ck_assert_uint_ge(b, a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("util");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, crc32c_vectors);
    tcase_add_test(tc, crc32c_hw_matches_sw_and_chains);
    tcase_add_test(tc, hash_churn);
    tcase_add_test(tc, params_defaults_env_and_bad_values);
    tcase_add_test(tc, list_ops);
    tcase_add_test(tc, fake_clock);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
