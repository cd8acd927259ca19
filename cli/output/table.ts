// Plain-text tables like kubectl's: upper-case headers, columns padded to the widest cell and
// separated by three spaces, nothing after the last column.
export type Row = readonly string[];

export function columnWidths(rows: readonly Row[]): number[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return widths;
}

export function formatRow(row: Row, widths: readonly number[]): string {
  return row
    .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? cell.length)))
    .join('   ')
    .trimEnd();
}

export function formatTable(header: Row, rows: readonly Row[]): string {
  const widths = columnWidths([header, ...rows]);
  return [header, ...rows].map((row) => formatRow(row, widths)).join('\n');
}
