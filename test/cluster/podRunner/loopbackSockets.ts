import { readFileSync } from 'node:fs';

/** IPv4 addresses that have a socket in a /proc/net/tcp or /proc/net/udp table. */
export function socketAddresses(table: string): Set<string> {
  const out = new Set<string>();
  for (const line of table.split('\n').slice(1)) {
    // "  0: 0101007F:1F90 00000000:0000 0A ..." — the local address is little-endian hex.
    const local = line.trim().split(/\s+/)[1];
    const hex = local?.split(':')[0];
    if (!hex || hex.length !== 8) continue;
    const n = Number.parseInt(hex, 16);
    out.add([n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join('.'));
  }
  return out;
}

/** Addresses bound by any process on this machine right now (TCP and UDP). */
export function boundAddresses(): Set<string> {
  const all = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/udp']) {
    try {
      for (const ip of socketAddresses(readFileSync(file, 'utf8'))) all.add(ip);
    } catch {
      // No procfs: rely on the random starting point alone.
    }
  }
  return all;
}
