import type { HandshakeRun, RunResult } from "./harness.ts";

export function formatTable(rows: readonly RunResult[]): string {
  const head = ["server", "clients", "msgs", "msg/s", "deliveries/s", "p50 ms", "p99 ms"];
  return align(
    head,
    rows.map((r) => [
      r.system,
      String(r.clients),
      String(r.messages),
      r.msgsPerSec.toFixed(0),
      r.deliveriesPerSec.toFixed(0),
      r.p50ms.toFixed(2),
      r.p99ms.toFixed(2),
    ]),
  );
}

export function formatHandshakes(rows: readonly HandshakeRun[]): string {
  const head = ["server", "connection", "in flight", "conns", "conns/s", "p50 ms", "p99 ms"];
  return align(
    head,
    rows.map((r) => [
      r.system,
      r.what,
      String(r.inFlight),
      String(r.connections),
      r.perSecond.toFixed(0),
      r.p50ms.toFixed(2),
      r.p99ms.toFixed(2),
    ]),
  );
}

function align(head: string[], body: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join("  ");
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}
