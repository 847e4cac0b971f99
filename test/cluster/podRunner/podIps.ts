/**
 * Hands out a loopback address 127.0.x.y (x, y in 1..254) per pod. Linux routes all of 127/8 to `lo`,
 * so a process can bind its pod IP without any setup. 127.0.0.1 is never handed out (x starts at 1):
 * it stays the node's address. Allocation moves round-robin so a just-released address (whose ports
 * may linger in TIME_WAIT) is the last to be reused.
 *
 * Several environments can share a machine (a developer's env:up next to a test run), each with its
 * own allocator: a random starting point and skipping addresses that already have sockets (`busy`)
 * keep their pods apart.
 */
export class PodIpAllocator {
  readonly #inUse = new Set<string>();
  readonly #busy: () => ReadonlySet<string>;
  #cursor: number;
  static readonly capacity = 254 * 254;

  constructor(start = 0, busy: () => ReadonlySet<string> = () => new Set()) {
    this.#cursor = start % PodIpAllocator.capacity;
    this.#busy = busy;
  }

  /** Takes the next free address; throws when all are taken. */
  allocate(): string {
    const busy = this.#busy();
    for (let i = 0; i < PodIpAllocator.capacity; i++) {
      const ip = PodIpAllocator.at((this.#cursor + i) % PodIpAllocator.capacity);
      if (!this.#inUse.has(ip) && !busy.has(ip)) {
        this.#inUse.add(ip);
        this.#cursor = (this.#cursor + i + 1) % PodIpAllocator.capacity;
        return ip;
      }
    }
    throw new Error('pod IP range 127.0.1.1-127.0.254.254 is exhausted');
  }

  /** Claims a specific address (a pod that already has one, after a pod-runner restart). */
  claim(ip: string): boolean {
    if (!PodIpAllocator.isPodIp(ip) || this.#inUse.has(ip)) return false;
    this.#inUse.add(ip);
    return true;
  }

  release(ip: string): void {
    this.#inUse.delete(ip);
  }

  get size(): number {
    return this.#inUse.size;
  }

  static at(index: number): string {
    return `127.0.${1 + Math.floor(index / 254)}.${1 + (index % 254)}`;
  }

  static isPodIp(ip: string): boolean {
    const m = /^127\.0\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
    if (!m) return false;
    const x = Number(m[1]);
    const y = Number(m[2]);
    return x >= 1 && x <= 254 && y >= 1 && y <= 254;
  }
}
