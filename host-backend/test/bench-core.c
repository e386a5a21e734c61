/*
 * Host-side throughput of the device's request path without a guest:
 * vcd_core_begin/vcd_job_work/vcd_core_end of AES-128-CBC CRYPTs through
 * the host engine on the fake /dev/crypto (nettle AES), one at a time.
 * What the device itself costs per request, beside `lab bench device`.
 *
 *   make bench
 */
#include <time.h>

#include "fake-devcrypto.h"

static double now(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static uint32_t simple(VcdCore *c, VcdReq *r, const uint8_t *payload,
                       size_t n)
{
    uint8_t in[VCD_REQ_SIZE + 64];
    VcdJob j;

    vcd_req_encode(r, in);
    memcpy(in + VCD_REQ_SIZE, payload, n);
    vcd_core_begin(c, &j, in, VCD_REQ_SIZE + n, VCD_REQ_SIZE + n,
                   VCD_RESP_SIZE);
    vcd_core_end(c, &j);
    if (j.r.status) {
        fprintf(stderr, "op %u: %d\n", r->op, j.r.status);
        exit(1);
    }
    return j.r.id;
}

int main(void)
{
    static const size_t sizes[] = { 16, 256, 4096, 65536, 1 << 20 };
    FakeDevCrypto fake = { .path = "/dev/crypto" };
    VcdHostOps ops;
    VcdEngine eng;
    VcdStats st = { 0 };
    VcdLimits lim = { 16, 16, 4 << 20 };
    uint8_t key[16] = { 1 };
    VcdReq r = { .version = 1, .op = VIRTIO_CRYPTODEV_OP_OPEN };
    VcdCore *c;
    uint32_t h, s;
    size_t k;

    fake_devcrypto_ops(&fake, &ops);
    if (vcd_engine_host_new(&ops, "/dev/crypto", &eng) < 0) {
        return 1;
    }
    c = vcd_core_new(&lim, eng, &st);
    h = simple(c, &r, NULL, 0);
    r = (VcdReq){ .version = 1, .op = VIRTIO_CRYPTODEV_OP_CREATE_SESSION,
                  .handle = h, .cipher = VCD_CRYPTO_AES_CBC, .keylen = 16 };
    s = simple(c, &r, key, 16);
    printf("AES-128-CBC through the device core (host engine, nettle), "
           "one request at a time\n%8s %10s %10s\n", "size", "MiB/s", "ops/s");
    for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        size_t n = sizes[k], in_len = VCD_REQ_SIZE + 16 + n;
        uint8_t *in = calloc(1, in_len);
        double t0, dt;
        long it = 0;
        VcdJob j;

        r = (VcdReq){ .version = 1, .op = VIRTIO_CRYPTODEV_OP_CRYPT,
                      .handle = h, .session = s, .src_len = n, .iv_len = 16,
                      .dst_len = n };
        vcd_req_encode(&r, in);
        t0 = now();
        do {
            vcd_core_begin(c, &j, in, in_len, in_len, n + VCD_RESP_SIZE);
            vcd_job_work(c, &j);
            vcd_core_end(c, &j);
            vcd_job_release(&j);
            it++;
        } while ((dt = now() - t0) < 1.0);
        printf("%8zu %10.1f %10.0f\n", n, it * (double)n / dt / 1048576,
               it / dt);
        free(in);
    }
    vcd_core_free(c);
    return 0;
}
