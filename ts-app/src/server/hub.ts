/**
 * Live delivery: which connection (by id, never by socket or fd) is
 * subscribed to which channel. A delivery looks the id up at send time, so
 * a push for a connection that has gone is dropped, never misdelivered.
 */
import type { ChatMessage } from "../protocol/messages.ts";

/** Gets the push, already serialised once for every subscriber. */
export type Deliver = (push: Buffer) => void;

export class Hub {
  private readonly byChannel = new Map<string, Map<number, Deliver>>();

  subscribe(channel: string, connId: number, deliver: Deliver): void {
    let subs = this.byChannel.get(channel);
    if (!subs) this.byChannel.set(channel, (subs = new Map()));
    subs.set(connId, deliver);
  }

  unsubscribe(channel: string, connId: number): void {
    const subs = this.byChannel.get(channel);
    subs?.delete(connId);
    if (subs?.size === 0) this.byChannel.delete(channel);
  }

  publish(channel: string, message: ChatMessage): number {
    const subs = this.byChannel.get(channel);
    if (!subs) return 0;
    const push = Buffer.from(JSON.stringify({ push: "message", channel, message }), "utf8");
    for (const deliver of subs.values()) deliver(push);
    return subs.size;
  }
}
