/*
 * Host unit tests of the virtio-cryptodev request decoder/validator, the
 * handle table and engine dispatch, through the host engine on an
 * in-process fake /dev/crypto (nettle). TAP output, then one line
 * "N passed, N failed"; exit status 1 on any failure.
 */
#include <pthread.h>
#include <nettle/aes.h>
#include <nettle/ctr.h>

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
    r.version = 2;
    ok(t_simple(&t, r, NULL) == -EPROTO, "unknown wire version: -EPROTO");
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

typedef struct Worker {
    T *t;
    VcdJob *jobs;
    int first, count;
} Worker;

static void *worker_main(void *arg)
{
    Worker *w = arg;
    int i;

    for (i = w->first; i < w->first + w->count; i++) {
        vcd_job_work(w->t->core, &w->jobs[i]);
    }
    return NULL;
}

/* Many jobs of one session run on four threads at once (TSan-free check of
 * results; the sanitizer build runs this too). */
static void test_concurrency(void)
{
    enum { N = 400, LEN = 4096, THREADS = 4 };
    T t;
    uint8_t key[16] = { 7 }, *ins, ref[LEN];
    VcdJob *jobs;
    Worker w[THREADS];
    pthread_t th[THREADS];
    uint32_t h, s;
    VcdReq r;
    int i, good = 1;
    size_t inlen = VCD_REQ_SIZE + 16 + LEN;

    t_init(&t, 8, 16, 1 << 20);
    h = t_open(&t);
    t_session(&t, h, VCD_CRYPTO_AES_CTR, key, 16, 0, NULL, 0, &s, NULL);
    ins = g_malloc0((size_t)N * inlen);
    jobs = g_new0(VcdJob, N);
    for (i = 0; i < N; i++) {
        uint8_t *in = ins + (size_t)i * inlen;

        r = hdr(VIRTIO_CRYPTODEV_OP_CRYPT, h);
        r.session = s;
        r.src_len = LEN;
        r.dst_len = LEN;
        r.iv_len = 16;
        r.iv_out_len = 16;
        r.flags = VIRTIO_CRYPTODEV_F_WRITE_IV;
        r.tag = i;
        vcd_req_encode(&r, in);
        in[VCD_REQ_SIZE] = i & 0xff; /* per-job IV */
        memset(in + VCD_REQ_SIZE + 16, 0x42, LEN);
        good &= vcd_core_begin(t.core, &jobs[i], in, inlen, inlen,
                               LEN + 16 + VCD_RESP_SIZE) == VCD_WORK;
    }
    ok(good && t.st.in_flight == N, "%d CRYPTs in flight", N);
    for (i = 0; i < THREADS; i++) {
        w[i] = (Worker){ &t, jobs, i * (N / THREADS), N / THREADS };
        pthread_create(&th[i], NULL, worker_main, &w[i]);
    }
    for (i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
    }
    for (i = 0; i < N; i++) {
        uint8_t iv[16] = { 0 };
        uint8_t src[LEN];
        struct aes_ctx ac;

        if (i < 256) {
            iv[0] = i;
            memset(src, 0x42, LEN);
            aes_set_encrypt_key(&ac, 16, key);
            ctr_crypt(&ac, (nettle_cipher_func *)aes_encrypt, 16, iv, LEN,
                      ref, src);
            good &= jobs[i].r.status == 0 && !memcmp(jobs[i].out, ref, LEN) &&
                    !memcmp(jobs[i].out + LEN, iv, 16);
        }
        vcd_core_end(t.core, &jobs[i]);
        good &= jobs[i].r.tag == (uint64_t)i;
        vcd_job_release(&jobs[i]);
    }
    ok(good, "concurrent CRYPTs on one session: every result correct, "
       "tags kept");
    ok(t.st.in_flight == 0 && t.st.errors == 0, "all completed, no errors");
    g_free(jobs);
    g_free(ins);
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
    test_crypt_malformed();
    test_inflight();
    test_concurrency();
    test_engine_open();
    printf("1..%d\n", n_test);
    printf("%d passed, %d failed\n", n_pass, n_fail);
    return n_fail ? 1 : 0;
}
