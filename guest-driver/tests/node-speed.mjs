// AES-128-CBC encryption speed with node:crypto, the same loop as speed.c:
// one request at a time, each size run for a fixed time, repeated. Used by
// `lab bench device` in the guest (software AES there) and on the host.
//
//   node node-speed.mjs LABEL REPEAT MS SIZES
//
// Prints {"impl":LABEL,"size":16,"run":0,"ops":12345,"seconds":0.5} lines.
import { createCipheriv } from "node:crypto";
import { performance } from "node:perf_hooks";

const [label = "node", repeat = "3", ms = "1000", sizes = "16,256,4096,65536,1048576"] =
  process.argv.slice(2);
const key = Buffer.alloc(16, 0x42);
const iv = Buffer.alloc(16);
const list = sizes.split(",").map(Number);

for (let run = 0; run < Number(repeat); run++) {
  for (const size of list) {
    const src = Buffer.alloc(size, 0x5a);
    const t0 = performance.now();
    const end = t0 + Number(ms);
    let t = t0;
    let ops = 0;
    while (t < end) {
      const c = createCipheriv("aes-128-cbc", key, iv);
      c.setAutoPadding(false);
      c.update(src);
      c.final();
      ops++;
      t = performance.now();
    }
    const seconds = (t - t0) / 1000;
    process.stdout.write(JSON.stringify({ impl: label, size, run, ops, seconds }) + "\n");
  }
}
