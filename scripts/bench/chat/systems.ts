/** The servers `lab bench chat` can measure, and their labels in tables and reports. */
export const systemNames = ["host", "host-power", "guest", "ngircd", "guest-node"] as const;
export type SystemName = (typeof systemNames)[number];
/** Each system's label in the tables and reports. */
export const systemLabels: Record<SystemName, string> = {
  host: "chat, host (node:crypto)",
  "host-power": "chat, host (node:crypto, fsync per commit)",
  ngircd: "ngircd (IRC, C)",
  guest: "chat, guest (/dev/cryptodev0)",
  "guest-node": "chat, guest (node:crypto in the guest)",
};
