// What a logs request's flow-control window counts (agent-protocol: LogsRequestMessage.window,
// LogCreditMessage): the UTF-8 bytes of each line plus one, the same on both ends.
/** The longest line a logs answer carries (the protocol's limit); an agent cuts longer ones. */
export const MAX_LOG_LINE = 65_536;

export function logBytes(lines: readonly string[]): number {
  let bytes = 0;
  for (const line of lines) bytes += Buffer.byteLength(line) + 1;
  return bytes;
}
