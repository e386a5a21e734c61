/** The servers `lab bench chat` can measure, and their labels in tables and reports. */
export const systemNames = [
  "host",
  "host-power",
  "guest",
  "ngircd",
  "guest-node",
  "guest-cbc",
  "guest-node-cbc",
] as const;
export type SystemName = (typeof systemNames)[number];
/** Each system's label in the tables and reports. */
export const systemLabels: Record<SystemName, string> = {
  host: "chat, host (node:crypto)",
  "host-power": "chat, host (node:crypto, fsync per commit)",
  ngircd: "ngircd (IRC, C)",
  guest: "chat, guest (/dev/cryptodev0, AES-GCM: 1 device round trip/frame)",
  "guest-node": "chat, guest (node:crypto in the guest, AES-GCM)",
  "guest-cbc": "chat, guest (/dev/cryptodev0, AES-CBC+HMAC: 2 round trips/frame)",
  "guest-node-cbc": "chat, guest (node:crypto in the guest, AES-CBC+HMAC)",
};
