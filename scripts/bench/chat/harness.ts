import { LabError } from "../../lib/errors.ts";
import { percentile } from "../../lib/stats.ts";

/**
 * `lab bench chat`: the same fan-out workload against three servers on this
 * machine, side by side:
 *   - the chat in secure mode on the host (node provider);
 *   - the chat in secure mode in the guest, its crypto through
 *     /dev/cryptodev0 (clients on the host through a 127.0.0.1 forward);
 *   - Debian's ngircd (IRC), one channel.
 *
 * Workload, for N = 1, 10, 100 clients, all members of one channel:
 * min(N, 10) of them send in a closed loop (next message once the previous
 * one is complete); a message is complete when the server acknowledged it
 * (the chat's SEND answer; for IRC, the PONG to a PING sent right after the
 * PRIVMSG) and it reached every other member. Reported: messages/s,
 * deliveries/s (messages x other members), and p50/p99 latency of
 * deliveries (send to receipt at each other member; with one client, send to
 * acknowledgement). Everything on 127.0.0.1, every loop bounded.
 */

export interface BenchConn {
  /** Sends `text` to the channel; resolves once the server acknowledged it. */
  send(text: string): Promise<void>;
  /** Set by the harness: called with each channel message from another member. */
  onMessage: (text: string) => void;
  close(): Promise<void>;
}

/** Connections per second through a secure handshake (`measureHandshakes`). */
export interface HandshakeRun {
  system: string;
  /** "handshake" alone, or "handshake + login" (one scrypt on the server). */
  what: string;
  inFlight: number;
  connections: number;
  perSecond: number;
  p50ms: number;
  p99ms: number;
}

/** A server under test, already running. */
export interface BenchSystem {
  label: string;
  /** Connects member `i` (0-based), logged in and in the channel. */
  connect(i: number): Promise<BenchConn>;
  /** The secure handshake's cost, where the server has one (not IRC). */
  handshakes?(connections: number, inFlight: number, login: boolean): Promise<HandshakeRun>;
  stop(): Promise<void>;
}

export interface RunResult {
  system: string;
  clients: number;
  messages: number;
  seconds: number;
  msgsPerSec: number;
  deliveriesPerSec: number;
  p50ms: number;
  p99ms: number;
}

const maxSenders = 10;
/** A message not complete after this long fails the run (a stuck server). */
const messageTimeoutMs = 60_000;

interface Pending {
  t0: number;
  waiting: number;
  acked: boolean;
  done: () => void;
}

/**
 * Runs the workload once: connects `clients` members, sends `messages`
 * (after `warmup` unmeasured ones), closes everything.
 */
export async function runFanout(
  sys: BenchSystem,
  clients: number,
  messages: number,
  warmup = Math.min(20, Math.ceil(messages / 10)),
  timeoutMs = messageTimeoutMs,
): Promise<RunResult> {
  const conns: BenchConn[] = [];
  try {
    // Connect in small batches: 100 handshakes at once would measure the
    // accept queue, not the chat.
    for (let i = 0; i < clients; i += 10) {
      const batch = Array.from({ length: Math.min(10, clients - i) }, (_, k) => sys.connect(i + k));
      conns.push(...(await Promise.all(batch)));
    }
    const pending = new Map<number, Pending>();
    let measuring = false;
    const latencies: number[] = [];
    const complete = (id: number, p: Pending) => {
      if (p.waiting === 0 && p.acked) {
        pending.delete(id);
        p.done();
      }
    };
    conns.forEach((c) => {
      c.onMessage = (text) => {
        const id = Number(text.split(" ", 1)[0]);
        const p = pending.get(id);
        if (!p) return;
        if (measuring) latencies.push(performance.now() - p.t0);
        p.waiting--;
        complete(id, p);
      };
    });

    let next = 0;
    let failed = false;
    const sendOne = async (sender: BenchConn) => {
      const id = next++;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new LabError(`${sys.label}: message ${id} not delivered within ${timeoutMs / 1000}s`),
            ),
          timeoutMs,
        );
        const p: Pending = {
          t0: performance.now(),
          waiting: clients - 1,
          acked: false,
          done: () => {
            clearTimeout(timer);
            resolve();
          },
        };
        pending.set(id, p);
        sender.send(`${id} ${"x".repeat(48)}`).then(() => {
          if (clients === 1 && measuring) latencies.push(performance.now() - p.t0);
          p.acked = true;
          complete(id, p);
        }, reject);
      });
    };
    const phase = async (total: number) => {
      const senders = conns.slice(0, Math.min(maxSenders, clients));
      await Promise.all(
        senders.map(async (s) => {
          // After one failure the others stop sending: the run has failed.
          while (next < total && !failed) {
            try {
              await sendOne(s);
            } catch (e) {
              failed = true;
              throw e;
            }
          }
        }),
      );
    };
    await phase(warmup);
    measuring = true;
    const t0 = performance.now();
    await phase(warmup + messages);
    const seconds = (performance.now() - t0) / 1000;
    const sent = next - warmup;
    latencies.sort((a, b) => a - b);
    return {
      system: sys.label,
      clients,
      messages: sent,
      seconds,
      msgsPerSec: sent / seconds,
      deliveriesPerSec: (sent * Math.max(1, clients - 1)) / seconds,
      p50ms: percentile(latencies, 50),
      p99ms: percentile(latencies, 99),
    };
  } finally {
    await Promise.allSettled(conns.map((c) => c.close()));
  }
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port. */
