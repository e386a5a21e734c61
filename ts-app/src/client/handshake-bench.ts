/**
 * The cost of connecting in secure mode, for `lab bench chat`: `connections`
 * connections, `concurrency` at a time, each doing the handshake (and, with
 * `login`, a login: one scrypt on the server), then the authenticated close.
 * Reports connections per second (whole connections, close included) and
 * the latency percentiles of handshake (+ login) alone.
 */
import type { CryptoProvider } from "../crypto/provider.ts";
import type { HostKeyPolicy } from "./host-keys.ts";
import { SecureClient } from "./secure-client.ts";

export interface HandshakeBenchOptions {
  host: string;
  port: number;
  provider: CryptoProvider;
  hostKeys: HostKeyPolicy;
  connections: number;
  concurrency: number;
  /** Log in on each connection (an existing account). */
  login?: { user: string; password: string };
}

export interface HandshakeBenchResult {
  connections: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

function percentile(sorted: number[], q: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export async function measureHandshakes(o: HandshakeBenchOptions): Promise<HandshakeBenchResult> {
  const latencies: number[] = [];
  let next = 0;
  const one = async (): Promise<void> => {
    const t0 = performance.now();
    const c = await SecureClient.connect({
      host: o.host,
      port: o.port,
      provider: o.provider,
      hostKeys: o.hostKeys,
      timeoutMs: 60_000,
    });
    try {
      if (o.login) await c.call("login", o.login);
      latencies.push(performance.now() - t0);
    } finally {
      await c.close();
    }
  };
  const worker = async () => {
    while (next < o.connections) {
      next++;
      await one();
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: Math.max(1, o.concurrency) }, worker));
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    connections: latencies.length,
    seconds,
    perSecond: latencies.length / seconds,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
  };
}
