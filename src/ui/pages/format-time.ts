/** Seconds since the epoch as "YYYY-MM-DD HH:MM UTC". */
export function formatTime(seconds: number): string {
  return `${new Date(seconds * 1000).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
