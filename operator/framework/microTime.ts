/** metav1.MicroTime: RFC 3339 with exactly six fractional digits, as Leases and Events require. */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
