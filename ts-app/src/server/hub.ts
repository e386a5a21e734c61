/**
 * Live delivery: which connection (by id, never by socket or fd) is
 * subscribed to which channel. A delivery looks the id up at send time, so
 * a push for a connection that has gone is dropped, never misdelivered.
 */
import type { ChatMessage } from "../protocol/messages.ts";

export type Deliver = (channel: string, message: ChatMessage) => void;

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
    for (const deliver of subs.values()) deliver(channel, message);
    return subs.size;
  }
}
