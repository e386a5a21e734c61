/**
 * Who may hold a connection: caps on connections in all and per address,
 * and tighter ones on connections that have not logged in yet, so an
 * outsider (one address, or many) cannot take every slot by connecting
 * and never authenticating; the login deadline frees its slots soon anyway.
 */
import type { ServerLimits } from "./limits.ts";

type AdmissionLimits = Pick<
  ServerLimits,
  | "maxConnections"
  | "maxConnectionsPerAddress"
  | "maxUnauthenticated"
  | "maxUnauthenticatedPerAddress"
>;

export class Admission {
  private total = 0;
  private unauth = 0;
  private readonly byAddress = new Map<string, { all: number; unauth: number }>();

  constructor(private readonly limits: AdmissionLimits) {}

  /** Admits a new (unauthenticated) connection from `address`, or says why not. */
  admit(address: string): string | undefined {
    const a = this.byAddress.get(address) ?? { all: 0, unauth: 0 };
    if (this.total >= this.limits.maxConnections) return "server is full";
    if (a.all >= this.limits.maxConnectionsPerAddress)
      return "too many connections from your address";
    if (this.unauth >= this.limits.maxUnauthenticated)
      return "too many connections waiting to log in";
    if (a.unauth >= this.limits.maxUnauthenticatedPerAddress)
      return "too many connections from your address waiting to log in";
    a.all++;
    a.unauth++;
    this.total++;
    this.unauth++;
    this.byAddress.set(address, a);
    return undefined;
  }

  /** The connection logged in: it no longer counts as unauthenticated. */
  authenticated(address: string): void {
    const a = this.byAddress.get(address);
    if (!a) return;
    a.unauth--;
    this.unauth--;
  }

  /** The connection closed. */
  release(address: string, wasAuthenticated: boolean): void {
    const a = this.byAddress.get(address);
    if (!a) return;
    a.all--;
    this.total--;
    if (!wasAuthenticated) {
      a.unauth--;
      this.unauth--;
    }
    if (a.all === 0) this.byAddress.delete(address);
  }
}
