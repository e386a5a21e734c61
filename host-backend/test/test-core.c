/*
 * Host unit tests of the virtio-cryptodev request decoder/validator, the
 * handle table and engine dispatch, through the host engine on an
 * in-process fake /dev/crypto (nettle). TAP output, then one line
 * "N passed, N failed"; exit status 1 on any failure.
 */
#include <pthread.h>
#include <nettle/aes.h>
#include <nettle/cbc.h>
#include <nettle/ctr.h>
#include <nettle/hmac.h>
#include <nettle/md5.h>
#include <nettle/nettle-meta.h>
#include <nettle/sha1.h>
#include <nettle/sha2.h>

#include "qemu/bswap.h"
#include "fake-devcrypto.h"

static int n_pass, n_fail, n_test;

static void ok(int cond, const char *fmt, ...)
{
    va_list ap;

    n_test++;
    if (cond) {
        n_pass++;
        printf("ok %d - ", n_test);
    } else {
        n_fail++;
        printf("not ok %d - ", n_test);
    }
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

static void unhex(const char *hex, uint8_t *out)
{
    size_t i;

    for (i = 0; hex[2 * i]; i++) {
        unsigned v;

        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = v;
    }
}

typedef struct T {
    FakeDevCrypto fake;
    VcdStats st;
    VcdCore *core;
} T;

static void t_init(T *t, uint32_t max_handles, uint32_t max_sessions,
                   uint32_t max_data)
{
    VcdHostOps ops;
    VcdEngine eng;
    VcdLimits lim = { max_handles, max_sessions, max_data };
    int ret;

    memset(t, 0, sizeof(*t));
    t->fake.path = "/dev/crypto";
    fake_devcrypto_ops(&t->fake, &ops);
    ret = vcd_engine_host_new(&ops, "/dev/crypto", &eng);
    if (ret < 0) {
        printf("Bail out! host engine on the fake: %d\n", ret);
        exit(1);
    }
    t->core = vcd_core_new(&lim, eng, &t->st);
}

static void t_fini(T *t)
{
    vcd_core_free(t->core);
}

/*
 * One request through the core as the device runs it. @in/@in_len: the
 * whole readable stream; @out: the writable stream, @writable bytes. The
 * response is decoded from the last VCD_RESP_SIZE bytes of @out.
 */
static VcdVerdict t_raw(T *t, const uint8_t *in, size_t in_len, uint8_t *out,
                        size_t writable, VcdResp *resp)
{
    VcdJob job;
    VcdVerdict v;
    size_t copy = in_len;

    if (in_len > vcd_core_max_readable(t->core)) {
        copy = in_len < VCD_REQ_SIZE ? in_len : VCD_REQ_SIZE;
    }
    v = vcd_core_begin(t->core, &job, in, copy, in_len, writable);
    if (v == VCD_WORK) {
        vcd_job_work(t->core, &job);
    }
    if (v != VCD_DROP) {
        vcd_core_end(t->core, &job);
        if (job.out_len > writable - VCD_RESP_SIZE) {
            printf("Bail out! output %zu beyond the writable stream %zu\n",
                   job.out_len, writable);
            exit(1);
        }
        if (job.out_len) {
            memcpy(out, job.out, job.out_len);
        }
        memcpy(out + writable - VCD_RESP_SIZE, job.resp, VCD_RESP_SIZE);
        vcd_resp_decode(out + writable - VCD_RESP_SIZE, resp);
        vcd_job_release(&job);
    } else {
        memset(resp, 0, sizeof(*resp));
    }
    return v;
}

/* A request: header @r, then @p1 (@n1 bytes) and @p2 (@n2 bytes). */
static VcdVerdict t_req(T *t, const VcdReq *r, const void *p1, size_t n1,
                        const void *p2, size_t n2, uint8_t *out,
                        size_t writable, VcdResp *resp)
{
    size_t len = VCD_REQ_SIZE + n1 + n2;
    uint8_t *in = g_malloc0(len);
    VcdVerdict v;

    vcd_req_encode(r, in);
    if (n1) {
        memcpy(in + VCD_REQ_SIZE, p1, n1);
    }
    if (n2) {
        memcpy(in + VCD_REQ_SIZE + n1, p2, n2);
    }
    v = t_raw(t, in, len, out, writable, resp);
    g_free(in);
    return v;
}

static VcdReq hdr(uint16_t op, uint32_t handle)
{
    VcdReq r;

    memset(&r, 0, sizeof(r));
    r.version = VIRTIO_CRYPTODEV_WIRE_VERSION;
    r.op = op;
    r.handle = handle;
    r.tag = 0x1122334455667788ull ^ op;
    return r;
}

static int32_t t_simple(T *t, VcdReq r, uint32_t *id)
{
    uint8_t out[VCD_RESP_SIZE];
    VcdResp resp;

    t_req(t, &r, NULL, 0, NULL, 0, out, sizeof(out), &resp);
    if (id) {
        *id = resp.id;
    }
    return resp.status;
}

static uint32_t t_open(T *t)
{
    uint32_t h = 0;

    return t_simple(t, hdr(VIRTIO_CRYPTODEV_OP_OPEN, 0), &h) == 0 ? h : 0;
}

static int32_t t_session(T *t, uint32_t h, uint32_t cipher, const void *key,
                         uint32_t keylen, uint32_t mac, const void *mackey,
                         uint32_t mackeylen, uint32_t *ses, VcdResp *resp_out)
{
    VcdReq r = hdr(VIRTIO_CRYPTODEV_OP_CREATE_SESSION, h);
    uint8_t out[VCD_RESP_SIZE];
    VcdResp resp;

    r.cipher = cipher;
    r.keylen = keylen;
    r.mac = mac;
    r.mackeylen = mackeylen;
    t_req(t, &r, key, keylen, mackey, mackeylen, out, sizeof(out), &resp);
    if (ses) {
        *ses = resp.id;
    }
    if (resp_out) {
        *resp_out = resp;
    }
    return resp.status;
}

/* A well-formed CRYPT; output: dst, then the IV out, then the mac. */
static int32_t t_crypt(T *t, uint32_t h, uint32_t ses, int dec,
                       const uint8_t *iv, uint32_t iv_len,
                       const uint8_t *src, uint32_t len, uint32_t dst_len,
                       uint32_t iv_out_len, uint32_t mac_len, uint8_t *out)
{
    VcdReq r = hdr(VIRTIO_CRYPTODEV_OP_CRYPT, h);
    size_t w = dst_len + iv_out_len + mac_len + VCD_RESP_SIZE;
    uint8_t *buf = g_malloc0(w);
    VcdResp resp;

    r.session = ses;
    r.cop = dec ? VIRTIO_CRYPTODEV_COP_DECRYPT : VIRTIO_CRYPTODEV_COP_ENCRYPT;
    r.flags = iv_out_len ? VIRTIO_CRYPTODEV_F_WRITE_IV : 0;
    r.src_len = len;
    r.iv_len = iv_len;
    r.dst_len = dst_len;
    r.iv_out_len = iv_out_len;
    r.mac_len = mac_len;
    t_req(t, &r, iv, iv_len, src, len, buf, w, &resp);
    if (out) {
        memcpy(out, buf, w - VCD_RESP_SIZE);
    }
    g_free(buf);
    if (resp.status == 0 && resp.written != w - VCD_RESP_SIZE) {
        return -9999;
    }
    return resp.status;
}

/* NIST SP 800-38A */
static const char *pt_hex =
    "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
    "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710";
static const char *iv_hex = "000102030405060708090a0b0c0d0e0f";
static const struct {
    const char *key, *ct;
} cbc_kat[] = {
    { "2b7e151628aed2a6abf7158809cf4f3c",
      "7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2"
      "73bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7" },
    { "8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b",
      "4f021db243bc633d7178183a9fa071e8b4d9ada9ad7dedf4e5e738763f69145a"
      "571b242012fb7ae07fa9baac3df102e008b0e27988598881d920a9e64f5615cd" },
    { "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
      "f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d"
      "39f23369a9d9bacfa530e26304231461b2eb05e2c39be9fcda6c19078c6a9d1b" },
};

static void test_header(void)
{
    T t;
    uint8_t in[256], out[256];
    VcdResp resp;
    VcdReq r;
    static const uint16_t bad_ops[] = { 0, 7, 100, 0xffff };
    size_t i;

    t_init(&t, 8, 8, 1 << 20);

    memset(in, 0, sizeof(in));
    ok(t_raw(&t, in, 10, out, 32, &resp) == VCD_DONE &&
       resp.status == -EINVAL, "readable stream shorter than the header");
    ok(t_raw(&t, in, 0, out, 32, &resp) == VCD_DONE &&
       resp.status == -EINVAL, "no readable descriptor at all");
    r = hdr(VIRTIO_CRYPTODEV_OP_OPEN, 0);
    vcd_req_encode(&r, in);
    ok(t_raw(&t, in, 64, out, 31, &resp) == VCD_DROP,
       "writable stream shorter than the response: dropped");
    ok(t_raw(&t, in, 64, out, 0, &resp) == VCD_DROP,
       "no writable descriptor: dropped");
    ok(t.st.errors == 2 + 2, "dropped and short requests are counted as "
       "errors");

    r = hdr(VIRTIO_CRYPTODEV_OP_OPEN, 0);
    r.version = 3;
    ok(t_simple(&t, r, NULL) == -EPROTO, "unknown wire version (3): -EPROTO");
    r = hdr(VIRTIO_CRYPTODEV_OP_OPEN, 0);
    r.reserved = 1;
    ok(t_simple(&t, r, NULL) == -EINVAL, "reserved field set: -EINVAL");
    for (i = 0; i < sizeof(bad_ops) / sizeof(bad_ops[0]); i++) {
        r = hdr(bad_ops[i], 1);
        ok(t_simple(&t, r, NULL) == -EOPNOTSUPP, "unknown op %u: -EOPNOTSUPP",
           bad_ops[i]);
    }
    r = hdr(VIRTIO_CRYPTODEV_OP_OPEN, 0);
    r.tag = 0xdeadbeefcafef00dull;
    t_req(&t, &r, NULL, 0, NULL, 0, out, 32, &resp);
    ok(resp.tag == 0xdeadbeefcafef00dull, "tag echoed in the response");
    r.version = 9;
    t_req(&t, &r, NULL, 0, NULL, 0, out, 32, &resp);
    ok(resp.tag == 0xdeadbeefcafef00dull && resp.status < 0,
       "tag echoed in an error response too");

    /* sizes that differ from what the header says */
    r = hdr(VIRTIO_CRYPTODEV_OP_OPEN, 0);
    t_req(&t, &r, "x", 1, NULL, 0, out, 32, &resp);
    ok(resp.status == -EINVAL, "OPEN with extra readable bytes: -EINVAL");
    memset(out, 0xaa, sizeof(out));
    t_req(&t, &r, NULL, 0, NULL, 0, out, 100, &resp);
    ok(resp.status == -EINVAL && resp.written == 0 && out[0] == 0xaa,
       "OPEN with extra writable bytes: -EINVAL at the stream's end, "
       "nothing else written");
    ok(t.st.handles_open == 1,
       "only the one well-formed OPEN left a handle open");
    t_fini(&t);
}

static void test_handles(void)
{
    T t;
    uint32_t h[5], h2, again;
    int i, good = 1;
    VcdReq r;

    t_init(&t, 4, 8, 1 << 20);
    for (i = 0; i < 4; i++) {
        h[i] = t_open(&t);
        good &= h[i] != 0;
    }
    ok(good, "four handles open");
    ok(t.st.handles_open == 4, "handles-open counts 4");
    ok(t_simple(&t, hdr(VIRTIO_CRYPTODEV_OP_OPEN, 0), NULL) == -EMFILE,
       "fifth OPEN beyond max-handles: -EMFILE");
    ok(t_simple(&t, hdr(VIRTIO_CRYPTODEV_OP_OPEN, 5), NULL) == -EINVAL,
       "OPEN with a handle set: -EINVAL");
    ok(t_simple(&t, hdr(VIRTIO_CRYPTODEV_OP_CLOSE, h[1]), NULL) == 0,
       "CLOSE");
    ok(t_simple(&t, hdr(VIRTIO_CRYPTODEV_OP_CLOSE, h[1]), NULL) == -EBADF,
       "CLOSE twice: -EBADF");
    h2 = t_open(&t);
    ok(h2 != 0 && h2 != h[1], "a reopened slot gets a different handle id");
    ok(t_simple(&t, hdr(VIRTIO_CRYPTODEV_OP_CLOSE, h[1]), NULL) == -EBADF,
       "the stale id does not reach the new handle");
    ok(t_simple(&t, hdr(VIRTIO_CRYPTODEV_OP_CLOSE, 0), NULL) == -EBADF,
       "CLOSE handle 0: -EBADF");
    ok(t_simple(&t, hdr(VIRTIO_CRYPTODEV_OP_CLOSE, 0xffffffff), NULL) ==
       -EBADF, "CLOSE handle 0xffffffff: -EBADF");
    ok(t_simple(&t, hdr(VIRTIO_CRYPTODEV_OP_CLOSE, 0x10005), NULL) ==
       -EBADF, "CLOSE a slot beyond the table: -EBADF");
    r = hdr(VIRTIO_CRYPTODEV_OP_CLOSE, h[0]);
    {
        uint8_t out[64];
        VcdResp resp;

        t_req(&t, &r, "abc", 3, NULL, 0, out, 32, &resp);
        ok(resp.status == -EINVAL && t.st.handles_open == 4,
           "CLOSE with extra bytes: -EINVAL, handle kept");
    }
    vcd_core_reset(t.core);
    ok(t.st.handles_open == 0, "reset closes every handle");
    ok(t_simple(&t, hdr(VIRTIO_CRYPTODEV_OP_CLOSE, h[0]), NULL) == -EBADF,
       "handles are gone after reset");

    good = 1;
    for (i = 0; i < 10000; i++) {
        again = t_open(&t);
        good &= again != 0 &&
                t_simple(&t, hdr(VIRTIO_CRYPTODEV_OP_CLOSE, again), NULL) == 0;
    }
    ok(good && t.st.handles_open == 0, "10000 OPEN/CLOSE cycles, none left");
    t_fini(&t);
}

static void test_sessions(void)
{
    T t;
    uint8_t key[128] = { 1 }, mackey[600] = { 2 };
    uint32_t h, h2, s, s2, ids[3];
    VcdResp resp;
    VcdReq r;
    uint8_t out[64];
    int i, good;

    t_init(&t, 8, 3, 1 << 20);
    h = t_open(&t);
    h2 = t_open(&t);

    ok(t_session(&t, h, VCD_CRYPTO_AES_CBC, key, 16, 0, NULL, 0, &s,
                 &resp) == 0 && s != 0, "AES-128-CBC session");
    ok(resp.block_size == 16 && resp.iv_len == 16 && resp.digest_len == 0,
       "CBC session: block 16, iv 16, no digest");
    ok(t_simple(&t, ({ VcdReq f = hdr(VIRTIO_CRYPTODEV_OP_FREE_SESSION, h);
                       f.session = s; f; }), NULL) == 0, "FREE_SESSION");
    ok(t.st.sessions_open == 0 && t.fake.sessions == 0,
       "session freed on the host too");

    ok(t_session(&t, 0x77, VCD_CRYPTO_AES_CBC, key, 16, 0, NULL, 0, NULL,
                 NULL) == -EBADF, "CREATE_SESSION on an unknown handle: -EBADF");
    ok(t_session(&t, h, 0, NULL, 0, 0, NULL, 0, NULL, NULL) == -EINVAL,
       "no cipher and no mac: -EINVAL");
    ok(t_session(&t, h, 99, key, 16, 0, NULL, 0, NULL, NULL) == -EINVAL,
       "unknown cipher: -EINVAL");
    ok(t_session(&t, h, VCD_CRYPTO_SHA1, NULL, 0, 0, NULL, 0, NULL, NULL) ==
       -EINVAL, "a hash in the cipher field: -EINVAL");
    ok(t_session(&t, h, 0, NULL, 0, VCD_CRYPTO_AES_CBC, NULL, 0, NULL,
                 NULL) == -EINVAL, "a cipher in the mac field: -EINVAL");
    ok(t_session(&t, h, 0, NULL, 0, 1234, NULL, 0, NULL, NULL) == -EINVAL,
       "unknown mac: -EINVAL");
    {
        static const uint32_t bad[] = { 0, 1, 15, 17, 23, 31, 33, 64 };
        for (i = 0, good = 1; i < 8; i++) {
            good &= t_session(&t, h, VCD_CRYPTO_AES_CBC, key, bad[i], 0, NULL,
                              0, NULL, NULL) == -EINVAL;
        }
        ok(good, "AES key lengths 0,1,15,17,23,31,33,64: -EINVAL");
    }
    ok(t_session(&t, h, VCD_CRYPTO_AES_ECB, key, 65, 0, NULL, 0, NULL,
                 NULL) == -EINVAL, "key longer than the wire limit: -EINVAL");
    ok(t_session(&t, h, 0, NULL, 0, VCD_CRYPTO_SHA2_256_HMAC, mackey, 513,
                 NULL, NULL) == -EINVAL,
       "HMAC key longer than the wire limit: -EINVAL");
    ok(t_session(&t, h, 0, NULL, 0, VCD_CRYPTO_SHA1, mackey, 4, NULL, NULL) ==
       -EINVAL, "a plain hash with a key: -EINVAL");
    ok(t_session(&t, h, 0, key, 16, VCD_CRYPTO_SHA1, NULL, 0, NULL, NULL) ==
       -EINVAL, "a cipher key without a cipher: -EINVAL");

    /* key bytes missing or extra in the readable stream */
    r = hdr(VIRTIO_CRYPTODEV_OP_CREATE_SESSION, h);
    r.cipher = VCD_CRYPTO_AES_CBC;
    r.keylen = 16;
    t_req(&t, &r, key, 8, NULL, 0, out, 32, &resp);
    ok(resp.status == -EINVAL, "key shorter than keylen: -EINVAL");
    t_req(&t, &r, key, 24, NULL, 0, out, 32, &resp);
    ok(resp.status == -EINVAL, "key longer than keylen: -EINVAL");
    r.keylen = 0xffffffff;
    t_req(&t, &r, key, 16, NULL, 0, out, 32, &resp);
    ok(resp.status == -EINVAL, "keylen 0xffffffff: -EINVAL");
    r.keylen = 16;
    r.mackeylen = 0xfffffff0;
    t_req(&t, &r, key, 16, NULL, 0, out, 32, &resp);
    ok(resp.status == -EINVAL, "keylen + mackeylen wrapping: -EINVAL");
    r.mackeylen = 0;
    t_req(&t, &r, key, 16, NULL, 0, out, 48, &resp);
    ok(resp.status == -EINVAL, "CREATE_SESSION with extra writable: -EINVAL");
    ok(t.st.sessions_open == 0 && t.fake.sessions == 0,
       "no session left by the failures");

    t.fake.fail_session = -ENOMEM;
    ok(t_session(&t, h, VCD_CRYPTO_AES_CBC, key, 16, 0, NULL, 0, NULL,
                 NULL) == -ENOMEM, "host CIOCGSESSION error passed through");
    t.fake.fail_session = 0;

    for (i = 0, good = 1; i < 3; i++) {
        good &= t_session(&t, h, VCD_CRYPTO_AES_CTR, key, 32, 0, NULL, 0,
                          &ids[i], NULL) == 0;
    }
    ok(good && ids[0] != ids[1] && ids[1] != ids[2], "three sessions");
    ok(t_session(&t, h, VCD_CRYPTO_AES_CTR, key, 32, 0, NULL, 0, NULL,
                 NULL) == -ENOSPC, "fourth beyond max-sessions: -ENOSPC");
    ok(t_session(&t, h2, 0, NULL, 0, VCD_CRYPTO_SHA2_256_HMAC, mackey, 512,
                 &s2, &resp) == 0 && resp.digest_len == 32 &&
       resp.block_size == 1 && resp.iv_len == 0,
       "the limit is per handle: HMAC-SHA256 session with a 512-byte key on "
       "another handle");
    r = hdr(VIRTIO_CRYPTODEV_OP_FREE_SESSION, h);
    r.session = s2;
    ok(t_simple(&t, r, NULL) == -EINVAL,
       "FREE_SESSION of another handle's session: -EINVAL");
    r.session = 0;
    ok(t_simple(&t, r, NULL) == -EINVAL, "FREE_SESSION 0: -EINVAL");
    r.session = ids[1];
    ok(t_simple(&t, r, NULL) == 0 && t_simple(&t, r, NULL) == -EINVAL,
       "FREE_SESSION twice: -EINVAL the second time");
    ok(t.st.sessions_open == 3 && t.fake.sessions == 3, "3 sessions open");
    ok(t_simple(&t, hdr(VIRTIO_CRYPTODEV_OP_CLOSE, h), NULL) == 0 &&
       t.st.sessions_open == 1 && t.fake.sessions == 1,
       "CLOSE frees the handle's sessions");
    ok(t_session(&t, h2, VCD_CRYPTO_NULL, key, 0, 0, NULL, 0, &s, &resp) ==
       0 && resp.block_size == 1 && resp.iv_len == 0 && t.fake.sessions == 1,
       "NULL cipher session needs no host session");

    /* SESSION_INFO */
    {
        uint8_t info[VCD_INFO_SIZE + VCD_RESP_SIZE];
        struct virtio_cryptodev_session_info si;
        uint32_t hs;

        r = hdr(VIRTIO_CRYPTODEV_OP_SESSION_INFO, h2);
        r.session = s2;
        t_req(&t, &r, NULL, 0, NULL, 0, info, sizeof(info), &resp);
        memcpy(&si, info, sizeof(si));
        ok(resp.status == 0 && resp.written == VCD_INFO_SIZE &&
           !strcmp(si.hash.name, "hmac(sha256)") &&
           !strcmp(si.hash.driver, "virtio-cryptodev-host") &&
           si.cipher.name[0] == 0 && ldl_le_p(&si.alignmask) == 0,
           "SESSION_INFO of an HMAC session: hmac(sha256), "
           "virtio-cryptodev-host, alignmask 0");
        ok(t_session(&t, h2, VCD_CRYPTO_AES_CBC, key, 24, VCD_CRYPTO_SHA1,
                     NULL, 0, &hs, NULL) == 0, "AES-192-CBC + SHA1 session");
        r.session = hs;
        t_req(&t, &r, NULL, 0, NULL, 0, info, sizeof(info), &resp);
        memcpy(&si, info, sizeof(si));
        ok(resp.status == 0 && !strcmp(si.cipher.name, "cbc(aes)") &&
           !strcmp(si.hash.name, "sha1"),
           "SESSION_INFO of a cipher+hash session: cbc(aes), sha1");
        r.session = 4242;
        t_req(&t, &r, NULL, 0, NULL, 0, info, sizeof(info), &resp);
        ok(resp.status == -EINVAL, "SESSION_INFO of an unknown session");
        r.session = hs;
        t_req(&t, &r, NULL, 0, NULL, 0, info, 100, &resp);
        ok(resp.status == -EINVAL && resp.written == 0,
           "SESSION_INFO with a short writable stream: -EINVAL");
    }
    vcd_core_reset(t.core);
    ok(t.st.sessions_open == 0 && t.st.handles_open == 0 &&
       t.fake.sessions == 0, "reset drops every handle and session");

    h = t_open(&t);
    for (i = 0, good = 1; i < 10000; i++) {
        good &= t_session(&t, h, VCD_CRYPTO_AES_CBC, key, 16, 0, NULL, 0,
                          &s, NULL) == 0;
        r = hdr(VIRTIO_CRYPTODEV_OP_FREE_SESSION, h);
        r.session = s;
        good &= t_simple(&t, r, NULL) == 0;
    }
    ok(good && t.st.sessions_open == 0 && t.fake.sessions == 0,
       "10000 session create/free cycles, none left");
    t_fini(&t);
    ok(t.fake.opens == 0, "engine closed the host device at the end");
}

static void test_cipher_kat(void)
{
    T t;
    uint8_t key[32], pt[64], iv[16], ct[64], out[64 + 16], out2[64 + 16];
    uint32_t h, s;
    size_t k;
    int32_t st;

    t_init(&t, 8, 16, 1 << 20);
    h = t_open(&t);
    unhex(pt_hex, pt);
    unhex(iv_hex, iv);
    for (k = 0; k < 3; k++) {
        size_t kl = strlen(cbc_kat[k].key) / 2;

        unhex(cbc_kat[k].key, key);
        unhex(cbc_kat[k].ct, ct);
        t_session(&t, h, VCD_CRYPTO_AES_CBC, key, kl, 0, NULL, 0, &s, NULL);
        st = t_crypt(&t, h, s, 0, iv, 16, pt, 64, 64, 16, 0, out);
        ok(st == 0 && !memcmp(out, ct, 64), "CBC-AES%zu encrypt (SP 800-38A)",
           kl * 8);
        ok(!memcmp(out + 64, ct + 48, 16),
           "CBC-AES%zu WRITE_IV returns the last ciphertext block", kl * 8);
        st = t_crypt(&t, h, s, 1, iv, 16, ct, 64, 64, 16, 0, out);
        ok(st == 0 && !memcmp(out, pt, 64) && !memcmp(out + 64, ct + 48, 16),
           "CBC-AES%zu decrypt, next IV = last ciphertext block", kl * 8);
    }
    /* chaining: two halves with the returned IV equal one request */
    unhex(cbc_kat[0].key, key);
    unhex(cbc_kat[0].ct, ct);
    t_session(&t, h, VCD_CRYPTO_AES_CBC, key, 16, 0, NULL, 0, &s, NULL);
    t_crypt(&t, h, s, 0, iv, 16, pt, 32, 32, 16, 0, out);
    t_crypt(&t, h, s, 0, out + 32, 16, pt + 32, 32, 32, 16, 0, out2);
    ok(!memcmp(out, ct, 32) && !memcmp(out2, ct + 32, 32),
       "CBC chained through the returned IV");
    /* iv_len 0: the session's running IV, as cryptodev-linux */
    st = t_crypt(&t, h, s, 0, iv, 16, pt, 16, 16, 0, 0, out);
    st |= t_crypt(&t, h, s, 0, NULL, 0, pt + 16, 48, 48, 0, 0, out2);
    ok(st == 0 && !memcmp(out, ct, 16) && !memcmp(out2, ct + 16, 48),
       "CBC without an IV continues from the session's last IV");
    ok(t.fake.last_had_iv, "the host always gets an explicit IV");
    st = t_crypt(&t, h, s, 0, iv, 16, pt, 0, 0, 16, 0, out);
    ok(st == 0 && !memcmp(out, iv, 16), "CBC of 0 bytes returns the IV");

    /* ECB: SP 800-38A F.1.1 */
    unhex("3ad77bb40d7a3660a89ecaf32466ef97f5d3d58503b9699de785895a96fdbaaf",
          ct);
    t_session(&t, h, VCD_CRYPTO_AES_ECB, key, 16, 0, NULL, 0, &s, NULL);
    st = t_crypt(&t, h, s, 0, NULL, 0, pt, 32, 32, 0, 0, out);
    ok(st == 0 && !memcmp(out, ct, 32), "ECB-AES128 encrypt (SP 800-38A)");
    st = t_crypt(&t, h, s, 1, NULL, 0, ct, 32, 32, 0, 0, out);
    ok(st == 0 && !memcmp(out, pt, 32), "ECB-AES128 decrypt");
    ok(t_crypt(&t, h, s, 0, iv, 16, pt, 32, 32, 0, 0, out) == -EINVAL,
       "ECB given an IV: -EINVAL");
    ok(t_crypt(&t, h, s, 0, NULL, 0, pt, 32, 32, 16, 0, out) == -EINVAL,
       "ECB asked to write 16 bytes of IV: -EINVAL");

    /* CTR: SP 800-38A F.5.1, and partial blocks against nettle */
    {
        uint8_t ctr[16], ref[64], nxt[16], ctr_ct[64];
        struct aes_ctx ac;
        static const uint32_t lens[] = { 1, 15, 17, 37, 64 };
        size_t i;
        int good = 1;

        unhex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff", ctr);
        unhex("874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff"
              "5ae4df3edbd5d35e5b4f09020db03eab1e031dda2fbe03d1792170a0f3009cee",
              ctr_ct);
        t_session(&t, h, VCD_CRYPTO_AES_CTR, key, 16, 0, NULL, 0, &s, NULL);
        st = t_crypt(&t, h, s, 0, ctr, 16, pt, 64, 64, 16, 0, out);
        memcpy(nxt, ctr, 16);
        vcd_ctr_add(nxt, 4);
        ok(st == 0 && !memcmp(out, ctr_ct, 64) && !memcmp(out + 64, nxt, 16),
           "CTR-AES128 (SP 800-38A), next counter = +4");
        aes_set_encrypt_key(&ac, 16, key);
        for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
            uint8_t c2[16];

            memcpy(c2, ctr, 16);
            ctr_crypt(&ac, (nettle_cipher_func *)aes_encrypt, 16, c2, lens[i],
                      ref, pt);
            st = t_crypt(&t, h, s, i & 1, ctr, 16, pt, lens[i], lens[i], 16,
                         0, out);
            memcpy(nxt, ctr, 16);
            vcd_ctr_add(nxt, (lens[i] + 15) / 16);
            good &= st == 0 && !memcmp(out, ref, lens[i]) &&
                    !memcmp(out + lens[i], nxt, 16);
        }
        ok(good, "CTR with partial blocks (1, 15, 17, 37 bytes) matches "
           "nettle; next counter rounds up");
        memset(ctr, 0xff, 16);
        memset(nxt, 0, 16);
        nxt[15] = 1;
        st = t_crypt(&t, h, s, 0, ctr, 16, pt, 32, 32, 16, 0, out);
        ok(st == 0 && !memcmp(out + 32, nxt, 16),
           "CTR counter wraps around 2^128");
    }

    /* NULL cipher */
    t_session(&t, h, VCD_CRYPTO_NULL, NULL, 0, 0, NULL, 0, &s, NULL);
    st = t_crypt(&t, h, s, 0, NULL, 0, pt, 7, 7, 0, 0, out);
    ok(st == 0 && !memcmp(out, pt, 7), "NULL cipher copies 7 bytes");
    ok(t_crypt(&t, h, s, 0, iv, 16, pt, 7, 7, 0, 0, out) == -EINVAL,
       "NULL cipher given an IV: -EINVAL");
    ok(t.st.bytes > 0, "bytes counter moves");
    t_fini(&t);
}

static void test_hash_kat(void)
{
    T t;
    uint8_t out[64 + 64], exp[64], key[20], data[64];
    uint32_t h, s;
    int32_t st;

    t_init(&t, 8, 16, 1 << 20);
    h = t_open(&t);
    t_session(&t, h, 0, NULL, 0, VCD_CRYPTO_SHA1, NULL, 0, &s, NULL);
    st = t_crypt(&t, h, s, 0, NULL, 0, (const uint8_t *)"abc", 3, 0, 0, 20,
                 out);
    unhex("a9993e364706816aba3e25717850c26c9cd0d89d", exp);
    ok(st == 0 && !memcmp(out, exp, 20), "SHA1(\"abc\")");
    ok(t_crypt(&t, h, s, 0, NULL, 0, (const uint8_t *)"abc", 3, 3, 0, 20,
               out) == -EINVAL, "hash session with dst_len: -EINVAL");
    ok(t_crypt(&t, h, s, 0, NULL, 0, (const uint8_t *)"abc", 3, 0, 0, 32,
               out) == -EINVAL, "hash session with a wrong mac_len: -EINVAL");
    ok(t_crypt(&t, h, s, 0, NULL, 0, (const uint8_t *)"abc", 3, 0, 0, 0,
               out) == -EINVAL, "hash session with no mac: -EINVAL");
    t_session(&t, h, 0, NULL, 0, VCD_CRYPTO_SHA2_256, NULL, 0, &s, NULL);
    st = t_crypt(&t, h, s, 0, NULL, 0, (const uint8_t *)"abc", 3, 0, 0, 32,
                 out);
    unhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
          exp);
    ok(st == 0 && !memcmp(out, exp, 32), "SHA256(\"abc\")");
    st = t_crypt(&t, h, s, 0, NULL, 0, NULL, 0, 0, 0, 32, out);
    unhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
          exp);
    ok(st == 0 && !memcmp(out, exp, 32), "SHA256 of nothing");

    memset(key, 0x0b, 20);
    t_session(&t, h, 0, NULL, 0, VCD_CRYPTO_SHA1_HMAC, key, 20, &s, NULL);
    st = t_crypt(&t, h, s, 0, NULL, 0, (const uint8_t *)"Hi There", 8, 0, 0,
                 20, out);
    unhex("b617318655057264e28bc0b6fb378c8ef146be00", exp);
    ok(st == 0 && !memcmp(out, exp, 20), "HMAC-SHA1 (RFC 2202 case 1)");
    t_session(&t, h, 0, NULL, 0, VCD_CRYPTO_SHA2_256_HMAC, key, 20, &s,
              NULL);
    st = t_crypt(&t, h, s, 0, NULL, 0, (const uint8_t *)"Hi There", 8, 0, 0,
                 32, out);
    unhex("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
          exp);
    ok(st == 0 && !memcmp(out, exp, 32), "HMAC-SHA256 (RFC 4231 case 1)");

    /* cipher + HMAC: the mac covers the plaintext both ways */
    {
        uint8_t akey[16] = { 9 }, enc[64 + 32], dec[64 + 32];

        memset(data, 0x5a, sizeof(data));
        t_session(&t, h, VCD_CRYPTO_AES_CBC, akey, 16,
                  VCD_CRYPTO_SHA2_256_HMAC, key, 20, &s, NULL);
        st = t_crypt(&t, h, s, 0, akey, 16, data, 64, 64, 0, 32, enc);
        st |= t_crypt(&t, h, s, 1, akey, 16, enc, 64, 64, 0, 32, dec);
        ok(st == 0 && !memcmp(dec, data, 64) && !memcmp(enc + 64, dec + 64, 32)
           && memcmp(enc, data, 64), "AES-CBC + HMAC-SHA256: mac of the "
           "plaintext on encrypt equals the one on decrypt");
        ok(t_crypt(&t, h, s, 0, akey, 16, data, 64, 64, 0, 0, enc) == -EINVAL,
           "cipher+mac session without room for the mac: -EINVAL");
    }
    t_fini(&t);
}

/* A hash-session CRYPT of wire version @version with CRYPT @flags. */
static int32_t t_hash(T *t, uint32_t h, uint32_t ses, uint16_t version,
                      uint16_t flags, const uint8_t *src, uint32_t len,
                      uint32_t mac_len, uint8_t *out)
{
    VcdReq r = hdr(VIRTIO_CRYPTODEV_OP_CRYPT, h);
    uint8_t buf[64 + VCD_RESP_SIZE];
    VcdResp resp;

    r.version = version;
    r.session = ses;
    r.flags = flags;
    r.src_len = len;
    r.mac_len = mac_len;
    t_req(t, &r, src, len, NULL, 0, buf, mac_len + VCD_RESP_SIZE, &resp);
    if (out && mac_len) {
        memcpy(out, buf, mac_len);
    }
    if (resp.status == 0 && resp.written != mac_len) {
        return -9999;
    }
    return resp.status;
}

/* nettle's answer for @alg over @data with @key (HMAC) */
static size_t ref_hash(uint32_t alg, const uint8_t *key, size_t keylen,
                       const uint8_t *data, size_t len, uint8_t *out)
{
    static const struct {
        uint32_t hash, hmac;
        const struct nettle_hash *h;
    } map[] = {
        { VCD_CRYPTO_MD5, VCD_CRYPTO_MD5_HMAC, &nettle_md5 },
        { VCD_CRYPTO_SHA1, VCD_CRYPTO_SHA1_HMAC, &nettle_sha1 },
        { VCD_CRYPTO_SHA2_224, VCD_CRYPTO_SHA2_224_HMAC, &nettle_sha224 },
        { VCD_CRYPTO_SHA2_256, VCD_CRYPTO_SHA2_256_HMAC, &nettle_sha256 },
        { VCD_CRYPTO_SHA2_384, VCD_CRYPTO_SHA2_384_HMAC, &nettle_sha384 },
        { VCD_CRYPTO_SHA2_512, VCD_CRYPTO_SHA2_512_HMAC, &nettle_sha512 },
    };
    uint8_t outer[512], inner[512], state[512];
    size_t i;

    for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        const struct nettle_hash *nh = map[i].h;

        if (alg == map[i].hash) {
            nh->init(state);
            nh->update(state, len, data);
            nh->digest(state, nh->digest_size, out);
            return nh->digest_size;
        }
        if (alg == map[i].hmac) {
            hmac_set_key(outer, inner, state, nh, keylen, key);
            hmac_update(state, nh, len, data);
            hmac_digest(outer, inner, state, nh, nh->digest_size, out);
            return nh->digest_size;
        }
    }
    return 0;
}

/*
 * Every hash and HMAC, one shot (v1) and in parts (v2: RESET/UPDATE/FINAL),
 * against nettle; the wire version rules of the hash flags.
 */
static void test_multipart(void)
{
    static const uint32_t algs[] = {
        VCD_CRYPTO_MD5, VCD_CRYPTO_SHA1, VCD_CRYPTO_SHA2_224,
        VCD_CRYPTO_SHA2_256, VCD_CRYPTO_SHA2_384, VCD_CRYPTO_SHA2_512,
        VCD_CRYPTO_MD5_HMAC, VCD_CRYPTO_SHA1_HMAC, VCD_CRYPTO_SHA2_224_HMAC,
        VCD_CRYPTO_SHA2_256_HMAC, VCD_CRYPTO_SHA2_384_HMAC,
        VCD_CRYPTO_SHA2_512_HMAC,
    };
    const uint16_t U = VIRTIO_CRYPTODEV_F_HASH_UPDATE;
    const uint16_t F = VIRTIO_CRYPTODEV_F_HASH_FINAL;
    const uint16_t R = VIRTIO_CRYPTODEV_F_HASH_RESET;
    uint8_t data[300], key[131], ref[64], got[64], junk[64];
    VcdResp resp;
    T t, old;
    uint32_t h, s, cs;
    size_t i, n;

    for (i = 0; i < sizeof(data); i++) {
        data[i] = (uint8_t)(i * 13 + 1);
    }
    for (i = 0; i < sizeof(key); i++) {
        key[i] = (uint8_t)(0xa0 + i);
    }
    t_init(&t, 8, 64, 1 << 20);
    h = t_open(&t);
    for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        const VcdAlg *a = vcd_alg_find(algs[i], VCD_FIND_MAC);
        uint32_t kl = a && a->kind == VCD_ALG_HMAC ? (i % 2 ? 20 : 131) : 0;
        int good = 1;

        n = ref_hash(algs[i], key, kl, data, sizeof(data), ref);
        good &= a && n == a->digest_len &&
                t_session(&t, h, 0, NULL, 0, algs[i], key, kl, &s, &resp) ==
                0 && resp.digest_len == n;
        /* v1: one whole message */
        good &= t_hash(&t, h, s, 1, 0, data, sizeof(data), n, got) == 0 &&
                !memcmp(got, ref, n);
        /* v2: three parts, the last FINAL */
        good &= t_hash(&t, h, s, 2, R | U, data, 100, 0, NULL) == 0;
        good &= t_hash(&t, h, s, 2, U, data + 100, 1, 0, NULL) == 0;
        good &= t_hash(&t, h, s, 2, F, data + 101, 199, n, got) == 0 &&
                !memcmp(got, ref, n);
        /* after a digest a new message starts */
        good &= t_hash(&t, h, s, 2, U, data, 150, 0, NULL) == 0;
        good &= t_hash(&t, h, s, 2, 0, data + 150, 150, n, got) == 0 &&
                !memcmp(got, ref, n);
        /* RESET drops what came before; an UPDATE of nothing finishes */
        good &= t_hash(&t, h, s, 2, U, data + 7, 77, 0, NULL) == 0;
        good &= t_hash(&t, h, s, 2, R | U, data, 300, 0, NULL) == 0;
        good &= t_hash(&t, h, s, 2, U, NULL, 0, n, got) == 0 &&
                !memcmp(got, ref, n);
        ok(good, "%s: one shot (v1) and in parts (v2 RESET/UPDATE/FINAL) "
           "equal nettle", a ? a->name : "?");
    }
    ok(t_hash(&t, h, s, 2, U, data, 10, 64, junk) == -EINVAL,
       "UPDATE asking for a digest: -EINVAL");
    ok(t_hash(&t, h, s, 2, F, data, 10, 0, NULL) == -EINVAL,
       "FINAL without room for the digest: -EINVAL");
    ok(t_hash(&t, h, s, 1, U, data, 10, 0, NULL) == -EINVAL,
       "a hash flag in a v1 request: -EINVAL (as a v1 device)");
    ok(t_hash(&t, h, s, 3, 0, data, 10, 64, junk) == -EPROTO,
       "version 3: -EPROTO");
    t_session(&t, h, VCD_CRYPTO_AES_ECB, key, 16, 0, NULL, 0, &cs, NULL);
    ok(t_hash(&t, h, cs, 2, U, NULL, 0, 0, NULL) == -EINVAL,
       "hash flags on a cipher-only session: -EINVAL");
    t_fini(&t);

    /* a device that speaks version 1 only (x-max-wire-version=1) */
    {
        VcdHostOps ops;
        VcdEngine eng;
        VcdLimits lim = { 8, 8, 1 << 20, 1 };

        memset(&old, 0, sizeof(old));
        old.fake.path = "/dev/crypto";
        fake_devcrypto_ops(&old.fake, &ops);
        vcd_engine_host_new(&ops, "/dev/crypto", &eng);
        old.core = vcd_core_new(&lim, eng, &old.st);
    }
    h = t_open(&old);
    t_session(&old, h, 0, NULL, 0, VCD_CRYPTO_SHA1, NULL, 0, &s, NULL);
    n = ref_hash(VCD_CRYPTO_SHA1, NULL, 0, data, 10, ref);
    ok(t_hash(&old, h, s, 2, R | U, data, 10, 0, NULL) == -EPROTO &&
       t_hash(&old, h, s, 2, 0, data, 10, 20, got) == -EPROTO,
       "a v1 device answers every v2 request -EPROTO");
    ok(t_hash(&old, h, s, 1, 0, data, 10, 20, got) == 0 &&
       !memcmp(got, ref, n), "and v1 requests as before");
    t_fini(&old);
}

/*
 * An AUTHCRYPT with iv_out_len @iv_out (counted in @extra_out); output:
 * dst (and what follows it), or nothing.
 */
static int32_t t_auth_ivo(T *t, uint32_t h, uint32_t ses, int dec,
                          uint16_t flags, const uint8_t *iv, uint32_t iv_len,
                          const uint8_t *auth, uint32_t auth_len,
                          uint32_t tag_len, uint32_t src_offset,
                          const uint8_t *src, uint32_t len, uint32_t dst_len,
                          uint32_t extra_in, uint32_t extra_out,
                          uint32_t iv_out, uint8_t *out, uint32_t *result_len)
{
    VcdReq r = hdr(VIRTIO_CRYPTODEV_OP_AUTHCRYPT, h);
    VcdAead a = { auth_len, tag_len, src_offset, 0 };
    size_t w = dst_len + extra_out + VCD_RESP_SIZE;
    /* SRTP: the data is inside auth; a tag to check may follow */
    size_t nsrc = flags & VIRTIO_CRYPTODEV_F_AEAD_SRTP ? 0 : len;
    size_t nin = VCD_AEAD_SIZE + iv_len + auth_len + nsrc + extra_in;
    uint8_t *in = g_malloc0(nin), *buf = g_malloc0(w), *p = in;
    VcdResp resp;

    r.version = 2;
    r.session = ses;
    r.cop = dec ? VIRTIO_CRYPTODEV_COP_DECRYPT : VIRTIO_CRYPTODEV_COP_ENCRYPT;
    r.flags = flags;
    r.src_len = len;
    r.iv_len = iv_len;
    r.dst_len = dst_len;
    r.iv_out_len = iv_out;
    vcd_aead_encode(&a, p);
    p += VCD_AEAD_SIZE;
    memcpy(p, iv, iv_len);
    p += iv_len;
    memcpy(p, auth, auth_len);
    p += auth_len;
    if (src) {
        memcpy(p, src, nsrc + extra_in);
    }
    t_req(t, &r, in, nin, NULL, 0, buf, w, &resp);
    if (out) {
        memcpy(out, buf, w - VCD_RESP_SIZE);
    }
    if (result_len) {
        *result_len = resp.result_len;
    }
    g_free(in);
    g_free(buf);
    if (resp.status == 0 && resp.written != w - VCD_RESP_SIZE) {
        return -9999;
    }
    return resp.status;
}

/* An AUTHCRYPT without a next IV; output: dst (and what follows it). */
static int32_t t_auth(T *t, uint32_t h, uint32_t ses, int dec, uint16_t flags,
                      const uint8_t *iv, uint32_t iv_len, const uint8_t *auth,
                      uint32_t auth_len, uint32_t tag_len, uint32_t src_offset,
                      const uint8_t *src, uint32_t len, uint32_t dst_len,
                      uint32_t extra_in, uint32_t extra_out, uint8_t *out,
                      uint32_t *result_len)
{
    return t_auth_ivo(t, h, ses, dec, flags, iv, iv_len, auth, auth_len,
                      tag_len, src_offset, src, len, dst_len, extra_in,
                      extra_out, 0, out, result_len);
}

static void hmac_ref(const struct nettle_hash *nh, const uint8_t *key,
                     size_t keylen, const uint8_t *a, size_t alen,
                     const uint8_t *b, size_t blen, uint8_t *out)
{
    uint8_t outer[512], inner[512], state[512];

    hmac_set_key(outer, inner, state, nh, keylen, key);
    hmac_update(state, nh, alen, a);
    hmac_update(state, nh, blen, b);
    hmac_digest(outer, inner, state, nh, nh->digest_size, out);
}

/* AUTHCRYPT: AES-GCM (NIST test case 4), TLS and SRTP kinds, -EBADMSG. */
static void test_authcrypt(void)
{
    T t;
    uint8_t key[16], iv[16], aad[20], pt[60], ct[60], tag[16];
    uint8_t out[512], back[512], mackey[20], ref[512], cbciv[16];
    uint32_t h, gs, ts, ss, cs, rl = 0;
    const uint16_t TLS = VIRTIO_CRYPTODEV_F_AEAD_TLS;
    const uint16_t SRTP = VIRTIO_CRYPTODEV_F_AEAD_SRTP;
    struct aes_ctx ac;
    int32_t st;
    size_t i;

    unhex("feffe9928665731c6d6a8f9467308308", key);
    unhex("cafebabefacedbaddecaf888", iv);
    unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2", aad);
    unhex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
          "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39", pt);
    unhex("42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
          "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091", ct);
    unhex("5bc94fbc3221a5db94fae95ae7121a47", tag);
    t_init(&t, 8, 16, 1 << 20);
    h = t_open(&t);
    ok(t_session(&t, h, VCD_CRYPTO_AES_GCM, key, 16, 0, NULL, 0, &gs,
                 NULL) == 0, "AES-GCM session");
    st = t_auth(&t, h, gs, 0, 0, iv, 12, aad, 20, 16, 0, pt, 60, 76, 0, 0,
                out, &rl);
    ok(st == 0 && !memcmp(out, ct, 60) && !memcmp(out + 60, tag, 16) &&
       rl == 76, "AES-GCM encrypt: NIST test case 4, ciphertext then tag");
    memcpy(back, ct, 60);
    memcpy(back + 60, tag, 16);
    st = t_auth(&t, h, gs, 1, 0, iv, 12, aad, 20, 16, 0, back, 76, 60, 0, 0,
                out, &rl);
    ok(st == 0 && !memcmp(out, pt, 60) && rl == 60, "AES-GCM decrypt");
    st = t_auth(&t, h, gs, 0, 0, iv, 12, aad, 20, 12, 0, pt, 60, 72, 0, 0,
                out, NULL);
    ok(st == 0 && !memcmp(out + 60, tag, 12), "AES-GCM tag of 12 bytes is "
       "the full tag truncated");
    back[70] ^= 1;
    memset(out, 0x77, sizeof(out));
    st = t_auth(&t, h, gs, 1, 0, iv, 12, aad, 20, 16, 0, back, 76, 60, 0, 0,
                out, &rl);
    ok(st == -EBADMSG && out[0] == 0 && rl == 0 && t.fake.sessions == 1,
       "AES-GCM: a flipped tag bit is -EBADMSG and no plaintext is written");
    back[70] ^= 1;
    aad[0] ^= 1;
    ok(t_auth(&t, h, gs, 1, 0, iv, 12, aad, 20, 16, 0, back, 76, 60, 0, 0,
              out, NULL) == -EBADMSG, "AES-GCM: changed AAD is -EBADMSG");
    aad[0] ^= 1;
    ok(t_auth(&t, h, gs, 0, 0, iv, 12, aad, 20, 11, 0, pt, 60, 71, 0, 0, out,
              NULL) == -EINVAL &&
       t_auth(&t, h, gs, 0, 0, iv, 16, aad, 20, 16, 0, pt, 60, 76, 0, 0, out,
              NULL) == -EINVAL &&
       t_auth(&t, h, gs, 0, 0, iv, 0, aad, 20, 16, 0, pt, 60, 76, 0, 0, out,
              NULL) == -EINVAL &&
       t_auth(&t, h, gs, 0, 0, iv, 12, aad, 20, 16, 0, pt, 60, 75, 0, 0, out,
              NULL) == -EINVAL &&
       t_auth(&t, h, gs, 1, 0, iv, 12, aad, 20, 16, 0, pt, 10, 0, 0, 0, out,
              NULL) == -EINVAL,
       "AES-GCM: tag length 11, IV length 16 or none, dst_len off by one, "
       "ciphertext shorter than the tag: -EINVAL");
    /* no plaintext: the tag alone; decrypting it writes nothing */
    st = t_auth(&t, h, gs, 0, 0, iv, 12, aad, 20, 16, 0, pt, 0, 16, 0, 0,
                back, &rl);
    ok(st == 0 && rl == 16, "AES-GCM encrypt of no plaintext: the tag alone");
    st = t_auth(&t, h, gs, 1, 0, iv, 12, aad, 20, 16, 0, back, 16, 0, 0, 0,
                out, &rl);
    ok(st == 0 && rl == 0, "AES-GCM decrypt of the tag alone: 0, no bytes "
       "(status %d)", st);
    back[0] ^= 1;
    st = t_auth(&t, h, gs, 1, 0, iv, 12, aad, 20, 16, 0, back, 16, 0, 0, 0,
                out, &rl);
    ok(st == -EBADMSG, "AES-GCM: the tag alone, flipped: -EBADMSG");
    ok(t_auth_ivo(&t, h, gs, 0, VIRTIO_CRYPTODEV_F_WRITE_IV, iv, 12, aad,
                  20, 16, 0, pt, 60, 76, 0, 12, 12, out, NULL) == -EINVAL,
       "AES-GCM with WRITE_IV (its IV does not chain): -EINVAL");
    ok(t_crypt(&t, h, gs, 0, iv, 12, pt, 16, 16, 0, 0, out) == -EINVAL,
       "AES-GCM through CRYPT: -EINVAL");
    ok(t_session(&t, h, VCD_CRYPTO_AES_GCM, key, 16, VCD_CRYPTO_SHA1_HMAC,
                 key, 16, NULL, NULL) == -EINVAL,
       "AES-GCM with an HMAC: -EINVAL");

    /* TLS: HMAC-SHA1 of aad || data, padding, AES-CBC */
    memset(mackey, 0x42, sizeof(mackey));
    memset(cbciv, 0x24, sizeof(cbciv));
    t_session(&t, h, VCD_CRYPTO_AES_CBC, key, 16, VCD_CRYPTO_SHA1_HMAC,
              mackey, 20, &ts, NULL);
    for (i = 0; i < 3; i++) {
        static const uint32_t lens[] = { 0, 11, 60 };
        uint32_t n = lens[i], dl = n + 20, pad;
        uint8_t iv2[16];

        dl += 16 - dl % 16;
        pad = dl - n - 20;
        memcpy(ref, pt, n);
        hmac_ref(&nettle_sha1, mackey, 20, aad, 13, pt, n, ref + n);
        memset(ref + n + 20, pad - 1, pad);
        aes_set_encrypt_key(&ac, 16, key);
        memcpy(iv2, cbciv, 16);
        cbc_encrypt(&ac, (nettle_cipher_func *)aes_encrypt, 16, iv2, dl, ref,
                    ref);
        st = t_auth(&t, h, ts, 0, TLS | VIRTIO_CRYPTODEV_F_WRITE_IV, cbciv,
                    16, aad, 13, 20, 0, pt, n, dl, 0, 16, out, &rl);
        ok(st == -EINVAL, "TLS: iv_out_len missing for WRITE_IV: -EINVAL");
        st = t_auth(&t, h, ts, 0, TLS, cbciv, 16, aad, 13, 20, 0, pt, n, dl,
                    0, 0, out, &rl);
        ok(st == 0 && !memcmp(out, ref, dl) && rl == dl,
           "TLS encrypt of %u bytes: MAC, %u bytes of padding, CBC", n, pad);
        st = t_auth(&t, h, ts, 1, TLS, cbciv, 16, aad, 13, 20, 0, ref, dl, dl,
                    0, 0, back, &rl);
        ok(st == 0 && rl == n && !memcmp(back, pt, n),
           "TLS decrypt: padding and MAC checked, %u bytes of plaintext", n);
        /* WRITE_IV: the last ciphertext block, after dst, both ways */
        memset(out, 0, sizeof(out));
        st = t_auth_ivo(&t, h, ts, 0, TLS | VIRTIO_CRYPTODEV_F_WRITE_IV,
                        cbciv, 16, aad, 13, 20, 0, pt, n, dl, 0, 16, 16, out,
                        &rl);
        ok(st == 0 && !memcmp(out, ref, dl) &&
           !memcmp(out + dl, ref + dl - 16, 16),
           "TLS encrypt of %u bytes, WRITE_IV: the last ciphertext block "
           "after dst", n);
        memset(back, 0, sizeof(back));
        st = t_auth_ivo(&t, h, ts, 1, TLS | VIRTIO_CRYPTODEV_F_WRITE_IV,
                        cbciv, 16, aad, 13, 20, 0, ref, dl, dl, 0, 16, 16,
                        back, &rl);
        ok(st == 0 && rl == n && !memcmp(back + dl, ref + dl - 16, 16),
           "TLS decrypt, WRITE_IV: the last ciphertext block after dst");
    }
    ref[5] ^= 1;
    memset(back, 0, sizeof(back));
    st = t_auth(&t, h, ts, 1, TLS, cbciv, 16, aad, 13, 20, 0, ref, 96, 96, 0,
                0, back, &rl);
    ok(st == -EBADMSG && back[0] == 0 && back[10] == 0,
       "TLS: a changed ciphertext is -EBADMSG, nothing written");
    ok(t_auth(&t, h, ts, 1, TLS, cbciv, 16, aad, 13, 20, 0, ref, 95, 95, 0, 0,
              back, &rl) == -EINVAL, "TLS decrypt of a partial block: -EINVAL");

    /* SRTP: AES-CTR + HMAC-SHA1 over the packet, tag truncated to 10 */
    {
        uint8_t pkt[12 + 40 + 4], ctr[16], full[20], enc[40 + 10], dec[40];
        uint32_t off = 12, n = 40;

        for (i = 0; i < sizeof(pkt); i++) {
            pkt[i] = (uint8_t)(i * 3);
        }
        memset(ctr, 0x11, sizeof(ctr));
        t_session(&t, h, VCD_CRYPTO_AES_CTR, key, 16, VCD_CRYPTO_SHA1_HMAC,
                  mackey, 20, &ss, NULL);
        st = t_auth(&t, h, ss, 0, SRTP, ctr, 16, pkt, sizeof(pkt), 10, off,
                    NULL, n, n, 0, 0, enc, NULL);
        ok(st == -EINVAL, "SRTP: no room for the tag: -EINVAL");
        st = t_auth(&t, h, ss, 0, SRTP, ctr, 16, pkt, sizeof(pkt), 10, off,
                    NULL, n, n, 0, 10, enc, NULL);
        memcpy(ref, pkt, sizeof(pkt));
        aes_set_encrypt_key(&ac, 16, key);
        {
            uint8_t c2[16];

            memcpy(c2, ctr, 16);
            ctr_crypt(&ac, (nettle_cipher_func *)aes_encrypt, 16, c2, n,
                      ref + off, pkt + off);
        }
        hmac_ref(&nettle_sha1, mackey, 20, ref, sizeof(pkt), NULL, 0, full);
        ok(st == 0 && !memcmp(enc, ref + off, n) && !memcmp(enc + n, full, 10),
           "SRTP encrypt: CTR in place, then HMAC of the packet, 10 bytes");
        {
            /* WRITE_IV: the counter + 3 blocks (40 bytes), after the tag */
            uint8_t o2[40 + 10 + 16], c3[16];

            memcpy(c3, ctr, 16);
            c3[15] += 3;
            st = t_auth_ivo(&t, h, ss, 0, SRTP | VIRTIO_CRYPTODEV_F_WRITE_IV,
                            ctr, 16, pkt, sizeof(pkt), 10, off, NULL, n, n, 0,
                            26, 16, o2, NULL);
            ok(st == 0 && !memcmp(o2, enc, n + 10) &&
               !memcmp(o2 + n + 10, c3, 16),
               "SRTP encrypt, WRITE_IV: dst, tag, then the counter + 3");
        }
        memcpy(back, ref, sizeof(pkt));
        memcpy(back + sizeof(pkt), full, 10);
        st = t_auth(&t, h, ss, 1, SRTP, ctr, 16, back, sizeof(pkt), 10, off,
                    full, n, n, 10, 0, dec, NULL);
        ok(st == 0 && !memcmp(dec, pkt + off, n), "SRTP decrypt");
        back[2] ^= 1; /* a header byte: authenticated, not encrypted */
        memset(dec, 0, sizeof(dec));
        st = t_auth(&t, h, ss, 1, SRTP, ctr, 16, back, sizeof(pkt), 10, off,
                    full, n, n, 10, 0, dec, NULL);
        ok(st == -EBADMSG && dec[0] == 0, "SRTP: a changed header byte is "
           "-EBADMSG, nothing decrypted");
        ok(t_auth(&t, h, ss, 1, SRTP, ctr, 16, back, sizeof(pkt), 10, 30,
                  full, n, n, 10, 0, dec, NULL) == -EINVAL,
           "SRTP: data beyond the packet: -EINVAL");
    }
    t_session(&t, h, VCD_CRYPTO_AES_CBC, key, 16, 0, NULL, 0, &cs, NULL);
    ok(t_auth(&t, h, cs, 0, TLS, cbciv, 16, aad, 13, 20, 0, pt, 16, 48, 0, 0,
              out, NULL) == -EINVAL &&
       t_auth(&t, h, ts, 0, SRTP, cbciv, 16, aad, 13, 10, 0, pt, 0, 0, 0, 10,
              out, NULL) == -EINVAL &&
       t_auth(&t, h, ts, 0, TLS | SRTP, cbciv, 16, aad, 13, 20, 0, pt, 16, 48,
              0, 0, out, NULL) == -EINVAL,
       "TLS without an HMAC, SRTP on CBC, both kinds at once: -EINVAL");
    {
        VcdReq r = hdr(VIRTIO_CRYPTODEV_OP_AUTHCRYPT, h);

        r.session = gs;
        ok(t_simple(&t, r, NULL) == -EOPNOTSUPP,
           "AUTHCRYPT in a v1 request: -EOPNOTSUPP (as a v1 device)");
    }
    ok(t.st.in_flight == 0, "nothing left in flight");
    t_fini(&t);
}

static void test_crypt_malformed(void)
{
    T t;
    uint8_t key[16] = { 0 }, iv[16] = { 0 }, data[256] = { 0 };
    uint8_t out[512];
    uint32_t h, h2, s;
    VcdReq r;
    VcdResp resp;

    t_init(&t, 8, 16, 128);
    h = t_open(&t);
    h2 = t_open(&t);
    t_session(&t, h, VCD_CRYPTO_AES_CBC, key, 16, 0, NULL, 0, &s, NULL);

    ok(t_crypt(&t, h, s, 0, iv, 16, data, 15, 15, 0, 0, out) == -EINVAL,
       "CBC of 15 bytes (not a block multiple): -EINVAL");
    ok(t_crypt(&t, h, s, 0, iv, 16, data, 17, 17, 0, 0, out) == -EINVAL,
       "CBC of 17 bytes: -EINVAL");
    ok(t_crypt(&t, h, s, 0, iv, 16, data, 144, 144, 0, 0, out) == -E2BIG,
       "src_len beyond max-data-len: -E2BIG");
    ok(t_crypt(&t, h, s, 0, iv, 16, data, 128, 128, 0, 0, out) == 0,
       "src_len at max-data-len: accepted");
    ok(t_crypt(&t, h, s, 0, iv, 16, data, 32, 16, 0, 0, out) == -EINVAL,
       "dst_len != src_len: -EINVAL");
    ok(t_crypt(&t, h, s, 0, iv, 16, data, 32, 0, 0, 0, out) == -EINVAL,
       "dst_len 0 for a cipher: -EINVAL");
    ok(t_crypt(&t, h, s, 0, iv, 8, data, 32, 32, 0, 0, out) == -EINVAL,
       "iv_len 8 for AES-CBC: -EINVAL");
    ok(t_crypt(&t, h, s, 0, iv, 16, data, 32, 32, 8, 0, out) == -EINVAL,
       "iv_out_len 8: -EINVAL");
    ok(t_crypt(&t, h, s, 0, iv, 16, data, 32, 32, 0, 20, out) == -EINVAL,
       "mac_len on a cipher-only session: -EINVAL");
    ok(t_crypt(&t, h2, s, 0, iv, 16, data, 32, 32, 0, 0, out) == -EINVAL,
       "a session through another handle: -EINVAL");
    ok(t_crypt(&t, h, s + 100, 0, iv, 16, data, 32, 32, 0, 0, out) ==
       -EINVAL, "unknown session: -EINVAL");
    ok(t_crypt(&t, 0xabcdef, s, 0, iv, 16, data, 32, 32, 0, 0, out) ==
       -EBADF, "unknown handle: -EBADF");

    r = hdr(VIRTIO_CRYPTODEV_OP_CRYPT, h);
    r.session = s;
    r.src_len = 32;
    r.dst_len = 32;
    r.iv_len = 16;
    r.cop = 2;
    t_req(&t, &r, iv, 16, data, 32, out, 64, &resp);
    ok(resp.status == -EINVAL, "cop 2: -EINVAL");
    r.cop = 0;
    r.flags = 0x8;
    t_req(&t, &r, iv, 16, data, 32, out, 64, &resp);
    ok(resp.status == -EINVAL, "unknown flag: -EINVAL");
    r.flags = 0;
    t_req(&t, &r, iv, 16, data, 16, out, 64, &resp);
    ok(resp.status == -EINVAL, "readable stream short of src_len: -EINVAL");
    t_req(&t, &r, iv, 16, data, 48, out, 64, &resp);
    ok(resp.status == -EINVAL, "readable stream longer than src_len: -EINVAL");
    t_req(&t, &r, iv, 16, data, 32, out, 63, &resp);
    ok(resp.status == -EINVAL && resp.written == 0,
       "writable stream one byte short: -EINVAL");
    memset(out, 0xcc, sizeof(out));
    t_req(&t, &r, iv, 16, data, 32, out, 200, &resp);
    ok(resp.status == -EINVAL && out[0] == 0xcc && out[167] == 0xcc,
       "writable stream longer: -EINVAL, only the response written");
    t_req(&t, &r, iv, 16, data, 32, out, 64, &resp);
    ok(resp.status == 0 && resp.written == 32, "the same request well formed");
    r.src_len = 0xfffffff0;
    r.dst_len = 0xfffffff0;
    t_req(&t, &r, iv, 16, data, 32, out, 64, &resp);
    ok(resp.status == -E2BIG, "src_len 0xfffffff0: -E2BIG");
    r.src_len = 32;
    r.dst_len = 32;
    r.iv_len = 0xffffffff;
    t_req(&t, &r, iv, 16, data, 32, out, 64, &resp);
    ok(resp.status == -EINVAL, "iv_len 0xffffffff: -EINVAL");
    r.iv_len = 16;
    r.mac_len = 0xffffffff;
    t_req(&t, &r, iv, 16, data, 32, out, 64, &resp);
    ok(resp.status == -EINVAL, "mac_len 0xffffffff: -EINVAL");
    r.mac_len = 0;
    {
        /* a huge readable stream is refused without being copied */
        size_t big = vcd_core_max_readable(t.core) + 1;
        uint8_t *in = g_malloc0(big);

        vcd_req_encode(&r, in);
        t_raw(&t, in, big, out, 64, &resp);
        ok(resp.status == -EINVAL, "readable stream beyond any valid size: "
           "-EINVAL");
        g_free(in);
    }

    t.fake.fail_crypt = -EIO;
    ok(t_crypt(&t, h, s, 0, iv, 16, data, 32, 32, 0, 0, out) == -EIO,
       "host CIOCCRYPT error passed through");
    t.fake.fail_crypt = -1;
    ok(t_crypt(&t, h, s, 0, iv, 16, data, 32, 32, 0, 0, out) == -EPERM,
       "a host -1 stays an errno (-EPERM), never a bare -1 the driver "
       "cannot map");
    t.fake.fail_crypt = 5;
    ok(t_crypt(&t, h, s, 1, iv, 16, data, 32, 32, 0, 0, out) == -EIO &&
       t.fake.last_op == 1 /* COP_DECRYPT */,
       "a positive host result becomes -EIO; op translated to COP_DECRYPT");
    t.fake.fail_crypt = 0;
    ok(t.st.handles_open == 2 && t.st.sessions_open == 1 &&
       t.st.in_flight == 0, "counters consistent after the failures");
    t_fini(&t);
}

/* A CRYPT started, its handle closed before it finishes. */
static void test_inflight(void)
{
    T t;
    uint8_t key[16] = { 3 }, in[VCD_REQ_SIZE + 16 + 64], iv[16] = { 0 };
    VcdReq r;
    VcdJob job;
    VcdVerdict v;
    uint32_t h, s;

    t_init(&t, 8, 16, 1 << 20);
    h = t_open(&t);
    t_session(&t, h, VCD_CRYPTO_AES_CBC, key, 16, 0, NULL, 0, &s, NULL);
    r = hdr(VIRTIO_CRYPTODEV_OP_CRYPT, h);
    r.session = s;
    r.src_len = 64;
    r.dst_len = 64;
    r.iv_len = 16;
    memset(in, 0, sizeof(in));
    vcd_req_encode(&r, in);
    memcpy(in + VCD_REQ_SIZE, iv, 16);
    v = vcd_core_begin(t.core, &job, in, sizeof(in), sizeof(in), 64 + 32);
    ok(v == VCD_WORK && t.st.in_flight == 1, "CRYPT goes to a worker");
    ok(t_simple(&t, hdr(VIRTIO_CRYPTODEV_OP_CLOSE, h), NULL) == 0 &&
       t.st.sessions_open == 1 && t.fake.sessions == 1,
       "CLOSE while in flight: the session lives on for the job");
    vcd_job_work(t.core, &job);
    vcd_core_end(t.core, &job);
    vcd_job_release(&job);
    ok(job.r.status == 0 && t.st.sessions_open == 0 && t.fake.sessions == 0 &&
       t.st.in_flight == 0, "the job completes, then the session is freed");
    t_fini(&t);
}

typedef struct Runner {
    VcdCore *core;
    VcdJob *job;
} Runner;

static void *runner_main(void *arg)
{
    Runner *r = arg;

    vcd_job_work(r->core, r->job);
    return NULL;
}

/*
 * Jobs of two sessions begun at once, every one with iv_len 0 (the
 * session's running IV): one job per session runs at a time, in the order
 * they were begun, while the two sessions' jobs run on two threads at once.
 * The outputs equal one sequential CTR stream and one CBC chain.
 */
static void test_concurrency(void)
{
    enum { N = 200, LEN = 4096 };
    T t;
    uint8_t key[16] = { 7 }, zero_iv[16] = { 0 }, *ins, *ref, *src;
    VcdJob *jobs, *run[2 * N];
    unsigned nrun = 0, order[2] = { 0, 0 };
    uint32_t h, s[2];
    VcdReq r;
    int i, good = 1, waits = 0, works = 0, maxpar = 0;
    size_t inlen = VCD_REQ_SIZE + LEN;
    struct aes_ctx ac;

    t_init(&t, 8, 16, 1 << 20);
    h = t_open(&t);
    t_session(&t, h, VCD_CRYPTO_AES_CTR, key, 16, 0, NULL, 0, &s[0], NULL);
    t_session(&t, h, VCD_CRYPTO_AES_CBC, key, 16, 0, NULL, 0, &s[1], NULL);
    ins = g_malloc0((size_t)2 * N * inlen);
    jobs = g_new0(VcdJob, 2 * N);
    for (i = 0; i < 2 * N; i++) {
        uint8_t *in = ins + (size_t)i * inlen;
        VcdVerdict v;

        r = hdr(VIRTIO_CRYPTODEV_OP_CRYPT, h);
        r.session = s[i & 1];
        r.src_len = LEN;
        r.dst_len = LEN;
        r.tag = i;
        vcd_req_encode(&r, in);
        memset(in + VCD_REQ_SIZE, i & 1 ? (uint8_t)(i * 7) : 0, LEN);
        v = vcd_core_begin(t.core, &jobs[i], in, inlen, inlen,
                           LEN + VCD_RESP_SIZE);
        if (v == VCD_WORK) {
            run[nrun++] = &jobs[i];
            works++;
        } else {
            waits += v == VCD_WAIT;
        }
    }
    ok(works == 2 && waits == 2 * N - 2 && t.st.in_flight == 2 * N,
       "%d CRYPTs of two sessions: one runs per session, %d wait", 2 * N,
       waits);
    while (nrun) {
        Runner rr[2 * N];
        pthread_t th[2 * N];
        VcdJob *next[2 * N];
        unsigned nnext = 0, k;

        maxpar = nrun > (unsigned)maxpar ? (int)nrun : maxpar;
        for (k = 0; k < nrun; k++) {
            rr[k] = (Runner){ t.core, run[k] };
            pthread_create(&th[k], NULL, runner_main, &rr[k]);
        }
        for (k = 0; k < nrun; k++) {
            VcdJob *n;
            unsigned idx = run[k] - jobs;

            pthread_join(th[k], NULL);
            /* each session's jobs end in the order they were begun */
            good &= idx / 2 == order[idx & 1]++ && run[k]->r.status == 0;
            n = vcd_core_end(t.core, run[k]);
            if (n) {
                next[nnext++] = n;
            }
        }
        for (k = 0; k < nnext; k++) {
            run[k] = next[k];
        }
        nrun = nnext;
    }
    ok(good && order[0] == N && order[1] == N && maxpar == 2,
       "each session's jobs ran one at a time in submission order; the two "
       "sessions in parallel");
    /* reference: one CTR stream of N*LEN zeros, one CBC chain */
    ref = g_malloc((size_t)N * LEN);
    src = g_malloc0((size_t)N * LEN);
    aes_set_encrypt_key(&ac, 16, key);
    ctr_crypt(&ac, (nettle_cipher_func *)aes_encrypt, 16, zero_iv,
              (size_t)N * LEN, ref, src);
    for (i = 0; i < N; i++) {
        good &= !memcmp(jobs[2 * i].out, ref + (size_t)i * LEN, LEN);
    }
    ok(good, "running-IV CTR jobs form one keystream: no block used twice");
    memset(zero_iv, 0, 16);
    for (i = 0; i < N; i++) {
        memset(src + (size_t)i * LEN, (uint8_t)((2 * i + 1) * 7), LEN);
    }
    cbc_encrypt(&ac, (nettle_cipher_func *)aes_encrypt, 16, zero_iv,
                (size_t)N * LEN, ref, src);
    for (i = 0; i < N; i++) {
        good &= !memcmp(jobs[2 * i + 1].out, ref + (size_t)i * LEN, LEN);
        good &= jobs[2 * i].r.tag == (uint64_t)(2 * i);
        vcd_job_release(&jobs[2 * i]);
        vcd_job_release(&jobs[2 * i + 1]);
    }
    ok(good, "running-IV CBC jobs form one chain; tags kept");
    ok(t.st.in_flight == 0 && t.st.errors == 0, "all completed, no errors");
    g_free(ref);
    g_free(src);
    g_free(jobs);
    g_free(ins);
    t_fini(&t);
}

/* A session freed (and its handle closed) with jobs queued behind a job. */
static void test_queue_free(void)
{
    T t;
    uint8_t key[16] = { 9 }, in[3][VCD_REQ_SIZE + 32];
    VcdJob jobs[3], *n;
    VcdReq r;
    uint32_t h, s;
    int i;
    VcdVerdict v[3];

    t_init(&t, 8, 16, 1 << 20);
    h = t_open(&t);
    t_session(&t, h, VCD_CRYPTO_AES_CBC, key, 16, 0, NULL, 0, &s, NULL);
    for (i = 0; i < 3; i++) {
        r = hdr(VIRTIO_CRYPTODEV_OP_CRYPT, h);
        r.session = s;
        r.src_len = 32;
        r.dst_len = 32;
        memset(in[i], 0, sizeof(in[i]));
        vcd_req_encode(&r, in[i]);
        v[i] = vcd_core_begin(t.core, &jobs[i], in[i], sizeof(in[i]),
                              sizeof(in[i]), 32 + VCD_RESP_SIZE);
    }
    ok(v[0] == VCD_WORK && v[1] == VCD_WAIT && v[2] == VCD_WAIT,
       "second and third CRYPT of a busy session wait");
    r = hdr(VIRTIO_CRYPTODEV_OP_FREE_SESSION, h);
    r.session = s;
    ok(t_simple(&t, r, NULL) == 0 &&
       t_simple(&t, hdr(VIRTIO_CRYPTODEV_OP_CLOSE, h), NULL) == 0 &&
       t.st.sessions_open == 1, "FREE_SESSION and CLOSE with jobs queued: "
       "the session lives on for them");
    vcd_job_work(t.core, &jobs[0]);
    n = vcd_core_end(t.core, &jobs[0]);
    ok(n == &jobs[1], "the end of the first hands back the second");
    vcd_job_work(t.core, n);
    n = vcd_core_end(t.core, n);
    ok(n == &jobs[2], "then the third");
    vcd_job_work(t.core, n);
    n = vcd_core_end(t.core, n);
    ok(n == NULL && t.st.sessions_open == 0 && t.fake.sessions == 0 &&
       t.st.in_flight == 0 && jobs[2].r.status == 0,
       "the last one frees the session");
    for (i = 0; i < 3; i++) {
        vcd_job_release(&jobs[i]);
    }
    t_fini(&t);
}

static void test_engine_open(void)
{
    FakeDevCrypto fake = { .path = "/dev/crypto" };
    VcdHostOps ops;
    VcdEngine eng;

    fake_devcrypto_ops(&fake, &ops);
    ok(vcd_engine_host_new(&ops, "/dev/no-such-crypto", &eng) == -ENOENT,
       "host engine: a missing device gives -ENOENT (auto picks builtin)");
    ok(vcd_engine_host_new(&ops, "/dev/crypto", &eng) == 0 &&
       eng.ops->engine_id == VIRTIO_CRYPTODEV_ENGINE_HOST && fake.opens == 1,
       "host engine opens the device once");
    eng.ops->destroy(eng.opaque);
    ok(fake.opens == 0, "and closes it when destroyed");
    ok(vcd_engine_host_new(&vcd_host_os_ops, "/nonexistent/crypto", &eng) ==
       -ENOENT, "the real open(2) seam maps ENOENT to -ENOENT");
}

static void test_proto(void)
{
    uint8_t buf[64], ctr[16];
    VcdReq a, b;
    size_t i;
    int good = 1;

    for (i = 0; i < sizeof(buf); i++) {
        buf[i] = (uint8_t)(i * 37 + 11);
    }
    vcd_req_decode(buf, &a);
    vcd_req_encode(&a, buf);
    vcd_req_decode(buf, &b);
    ok(!memcmp(&a, &b, sizeof(a)), "request encode/decode round trip");
    ok(a.version == (uint16_t)(11 | (48 << 8)), "little-endian decode");
    memset(ctr, 0, 16);
    ctr[15] = 0xff;
    vcd_ctr_add(ctr, 1);
    good &= ctr[15] == 0 && ctr[14] == 1;
    memset(ctr, 0, 16);
    vcd_ctr_add(ctr, 0x0102030405060708ull);
    good &= ctr[8] == 1 && ctr[15] == 8 && ctr[7] == 0;
    ok(good, "128-bit counter addition carries");
    ok(vcd_alg_find(VCD_CRYPTO_AES_CBC, VCD_FIND_MAC) == NULL &&
       vcd_alg_find(VCD_CRYPTO_SHA1, VCD_FIND_CIPHER) == NULL &&
       vcd_alg_find(VCD_CRYPTO_SHA2_256, VCD_FIND_MAC) != NULL,
       "algorithm lookup respects the kind");
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    test_proto();
    test_header();
    test_handles();
    test_sessions();
    test_cipher_kat();
    test_hash_kat();
    test_multipart();
    test_authcrypt();
    test_crypt_malformed();
    test_inflight();
    test_concurrency();
    test_queue_free();
    test_engine_open();
    printf("1..%d\n", n_test);
    printf("%d passed, %d failed\n", n_pass, n_fail);
    return n_fail ? 1 : 0;
}
